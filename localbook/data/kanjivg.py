"""Ordered pen strokes of the KanjiVG kanji (PyPI ``kanjivg``), as stroke-3 sequences for the sketch RNN.

KanjiVG (Ulrich Apel and contributors, CC BY-SA 3.0, https://kanjivg.tagaini.net) draws each character as a
109 x 109 SVG whose ``<path>`` elements are the strokes *in writing order*: exactly the "doodling
representation as a sequence of points" that the thesis' neural sketcher is trained on (thesis section 6.1.2,
which used QuickDraw; QuickDraw is not available offline, KanjiVG is, from PyPI). The PyPI package installs a
top-level folder ``kanji/`` (one file per character, ``065e5.svg``; variants ``065e5-Kaisho.svg`` ...) in
site-packages.

Pipeline (Ha and Eck, 2018, section 3 and their data preparation):

1. each stroke path is parsed with ``svgpathtools`` (the M / C / c / S / s / L / l commands KanjiVG uses) and
   each segment is evaluated at ``points_per_segment`` parameter values (vectorised per segment);
2. each stroke is simplified with the Ramer--Douglas--Peucker algorithm (``simplification`` package, tolerance
   ``epsilon`` in KanjiVG units; Ha and Eck use 2.0 on a 256-pixel canvas, i.e. about 0.85 here);
3. strokes become one stroke-3 array (``localbook.data.strokes.strokes_to_stroke3``; the first offset is from the
   top-left corner (0, 0) of the box; y points down as in SVG);
4. characters longer than ``max_len`` points are dropped (counted), the rest split by a seeded permutation
   into train / validation / test.

Malformed files (XML errors, unparsable path data, no strokes) are skipped, counted and listed in
:attr:`KanjiStrokes.skipped`, never silently. The parsed arrays are cached with
:class:`localbook.data.ArrayCache`, keyed by the content of the files read (a file edited in place is parsed
again).
"""
from __future__ import annotations

import importlib.metadata
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from localbook.data.cache import ArrayCache
from localbook.data.registry import Dataset, EnvSource, SitePackagesSource, register

__all__ = ["KANJIVG", "KANJIVG_BOX", "KanjiStrokes", "parse_kanjivg_svg", "sample_path", "load_kanjivg",
           "kanjivg_files"]

KANJIVG_BOX = 109.0  # side of the KanjiVG drawing box (SVG units)

KANJIVG = register(Dataset(
    name="kanjivg",
    description="KanjiVG stroke-order SVGs of ~6,700 kanji and their variants (CC BY-SA 3.0)",
    sources=[EnvSource("kanjivg"), SitePackagesSource("kanji", "kanjivg")],
    required=("065e5.svg",),
    citation="Ulrich Apel and the KanjiVG contributors, KanjiVG, https://kanjivg.tagaini.net (CC BY-SA 3.0)",
))

_SVG_NS = "{http://www.w3.org/2000/svg}"
_BASE_NAME = re.compile(r"^[0-9a-f]{5}\.svg$")


def sample_path(d: str, points_per_segment: int = 8) -> np.ndarray:
    """Points along one SVG path.

    Parameters
    ----------
    d : the path's ``d`` attribute (KanjiVG uses M, C/c, S/s and sometimes L/l).
    points_per_segment : parameter values per segment (the segment's end point is shared with the next one).

    Returns
    -------
    (k, 2) float64 array of absolute (x, y) points in SVG units (y down). Raises ``ValueError`` on unparsable
    or empty path data.
    """
    from svgpathtools import parse_path

    path = parse_path(d)
    if len(path) == 0:
        raise ValueError(f"empty path data {d!r}")
    t = np.linspace(0.0, 1.0, points_per_segment + 1)[:-1]
    pieces = [np.asarray(seg.point(t), dtype=complex).reshape(-1) for seg in path]
    pieces.append(np.array([path[-1].end], dtype=complex))
    z = np.concatenate(pieces)
    pts = np.stack([z.real, z.imag], axis=1)
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"non-finite points in path data {d!r}")
    return pts


def parse_kanjivg_svg(path: str | Path, points_per_segment: int = 8, epsilon: float = 0.85) -> list[np.ndarray]:
    """The strokes of one KanjiVG file, in writing order, each simplified by Ramer--Douglas--Peucker.

    Returns a list of (k, 2) float64 arrays of absolute points (SVG units, y down). Raises ``ValueError``
    (XML errors included) when the file is malformed or has no stroke.
    """
    from simplification.cutil import simplify_coords

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise ValueError(f"XML error: {err}") from err
    groups = [g for g in root.iter(f"{_SVG_NS}g") if g.get("id", "").startswith("kvg:StrokePaths")]
    if not groups:
        raise ValueError("no kvg:StrokePaths group")
    strokes = []
    for p in groups[0].iter(f"{_SVG_NS}path"):
        d = p.get("d")
        if not d:
            raise ValueError(f"path {p.get('id')} has no d attribute")
        pts = sample_path(d, points_per_segment)
        if epsilon > 0 and len(pts) > 2:
            pts = np.asarray(simplify_coords(np.ascontiguousarray(pts), epsilon), dtype=np.float64)
        strokes.append(pts)
    if not strokes:
        raise ValueError("no stroke path")
    return strokes


def kanjivg_files(variants: bool = False, folder: Path | None = None) -> list[Path]:
    """The KanjiVG SVG files, sorted by name; only the base forms (``065e5.svg``) unless ``variants``."""
    folder = Path(folder) if folder is not None else KANJIVG.locate()
    files = sorted(folder.glob("*.svg"))
    if not variants:
        files = [f for f in files if _BASE_NAME.match(f.name)]
    return files


@dataclass
class KanjiStrokes:
    """KanjiVG characters as stroke-3 sequences (unnormalised, KanjiVG units, y down), split three ways.

    ``train`` / ``val`` / ``test``: lists of (n, 3) float32 arrays; ``*_names``: the file stems
    (``065e5``: the character U+65E5). ``scale``: the standard deviation of the training offsets
    (Ha and Eck's normalising factor). ``skipped``: (file, reason) of malformed files; ``n_too_long``:
    characters dropped for having more than ``max_len`` points.
    """

    train: list[np.ndarray]
    val: list[np.ndarray]
    test: list[np.ndarray]
    train_names: list[str]
    val_names: list[str]
    test_names: list[str]
    scale: float
    max_len: int
    n_files: int
    n_too_long: int
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        lens = np.array([len(s) for s in self.train])
        return (f"KanjiVG: {self.n_files} files, {len(self.skipped)} malformed skipped, {self.n_too_long} longer "
                f"than {self.max_len} points dropped; train/val/test = {len(self.train)}/{len(self.val)}/"
                f"{len(self.test)}; points per character (train) median {int(np.median(lens))}, "
                f"max {lens.max()}; offset std {self.scale:.3g} KanjiVG units")


def _parse_all(files: list[Path], points_per_segment: int, epsilon: float) -> dict[str, np.ndarray]:
    from localbook.data.strokes import strokes_to_stroke3

    seqs, names, bad = [], [], []
    for f in files:
        try:
            seqs.append(strokes_to_stroke3(parse_kanjivg_svg(f, points_per_segment, epsilon)))
            names.append(f.stem)
        except ValueError as err:
            bad.append(f"{f.name}: {err}")
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    return {
        "points": np.concatenate(seqs) if seqs else np.zeros((0, 3), np.float32),
        "lengths": lengths,
        "names": np.array(names, dtype=str),
        "skipped": np.array(bad, dtype=str),
    }


def load_kanjivg(max_len: int = 100, epsilon: float = 0.85, points_per_segment: int = 8, variants: bool = False,
                 fractions: tuple[float, float] = (0.8, 0.1), seed: int = 0, folder: Path | None = None,
                 cache: ArrayCache | None = None, n_files: int | None = None) -> KanjiStrokes:
    """Parse (or load from the cache) the KanjiVG strokes and split them.

    Parameters
    ----------
    max_len : characters with more stroke-3 points are dropped (Ha and Eck cap at 250 on QuickDraw).
    epsilon : Ramer--Douglas--Peucker tolerance in KanjiVG units (box of 109).
    points_per_segment : samples per SVG path segment before simplification.
    variants : include the variant files (``-Kaisho`` ...) as well as the base forms.
    fractions : train and validation fractions; the rest is the test set.
    seed : seed of the split permutation.
    n_files : parse only this many files, evenly spaced in name order (quick runs; the split then differs
        from the full one's).
    """
    if not 8 <= max_len <= 1000:
        raise ValueError(f"max_len={max_len} must be in [8, 1000]")
    if not (0 < fractions[0] < 1 and 0 <= fractions[1] < 1 and sum(fractions) < 1):
        raise ValueError(f"fractions={fractions} must be (train, val) in (0, 1) with a sum below 1")
    files = kanjivg_files(variants, folder)
    if not files:
        raise FileNotFoundError(f"no KanjiVG SVG file found in {folder or KANJIVG.locate()}")
    if n_files is not None:
        if n_files < 3:
            raise ValueError(f"n_files={n_files}: take at least 3 files (one per split)")
        if n_files < len(files):
            files = [files[i] for i in np.linspace(0, len(files) - 1, n_files).astype(int)]
    try:
        version = importlib.metadata.version("kanjivg")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    cache = cache if cache is not None else ArrayCache()
    # keyed by the files' content (a Path is hashed by its bytes): a file edited in place is parsed again
    data = cache.get_or_compute(
        "kanjivg_stroke3", lambda: _parse_all(files, points_per_segment, epsilon),
        inputs={"files": {f.name: Path(f) for f in files}, "kanjivg": version},
        params={"points_per_segment": points_per_segment, "epsilon": epsilon},
        depends_on=["localbook.data.kanjivg", "localbook.art.sketch"])
    lengths = data["lengths"]
    seqs = np.split(data["points"], np.cumsum(lengths)[:-1]) if len(lengths) else []
    names = [str(n) for n in data["names"]]
    keep = [i for i, s in enumerate(seqs) if len(s) <= max_len]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(keep))
    n_train = int(round(fractions[0] * len(keep)))
    n_val = int(round(fractions[1] * len(keep)))
    parts = [order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]]
    picked = [[keep[j] for j in sorted(p)] for p in parts]
    train = [seqs[i] for i in picked[0]]
    scale = float(np.concatenate(train)[:, :2].std()) if train else 1.0
    skipped = [tuple(s.split(": ", 1)) for s in data["skipped"]]
    return KanjiStrokes(
        train=train, val=[seqs[i] for i in picked[1]], test=[seqs[i] for i in picked[2]],
        train_names=[names[i] for i in picked[0]], val_names=[names[i] for i in picked[1]],
        test_names=[names[i] for i in picked[2]], scale=scale, max_len=max_len, n_files=len(files),
        n_too_long=len(seqs) - len(keep), skipped=skipped)
