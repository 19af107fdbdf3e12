"""The data files that localbook ships, each with its SHA-256 written here, in the package, and the command that
rebuilds it.

One convention for every shipped artefact: its checksum lives in this module, never in a file next to the data
(a regenerated file with a rewritten sidecar manifest would pass any check). Rebuilding an artefact therefore
means running its command, then pasting the new digest here (``python -m localbook.data.artefacts`` prints the
current digests and which differ) -- a change that shows in review. Loaders call :func:`verified_path`, which
raises :class:`~localbook.data.ChecksumError` naming the rebuild command when a byte differs.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Artefact", "ARTEFACTS", "artefact", "verified_path", "verify_all", "PACKAGE_ROOT", "main"]

#: The localbook package directory; artefact paths are relative to it.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Artefact:
    """A shipped file: ``path`` relative to the localbook package, its ``sha256``, and the ``rebuild`` command
    (run from the repository root)."""

    name: str
    path: str
    sha256: str
    rebuild: str
    description: str = ""

    @property
    def file(self) -> Path:
        return PACKAGE_ROOT / self.path


_DEFECTS = "python -m localbook.atoms.defect_database"
ARTEFACTS: dict[str, Artefact] = {a.name: a for a in [
    Artefact("fe_defects_AM04", "atoms/data/fe_defects_AM04.npz",
             "361c1dfcb16035e11e117213faf2123a3ba7a8fed122f622e6fdddf1c7f57a08",
             f"{_DEFECTS} build --potential AM04 --workdir W && {_DEFECTS} assemble --potential AM04 --workdir W "
             "--out localbook/atoms/data/fe_defects_AM04.npz   (15 min on 2 cores; the same minima and entropies, "
             "not the same bytes: the file records the build's compute time)",
             "bcc-iron defects, Ackland 2004 EAM: 1,110 verified minima with their formation entropies (chapter 04)"),
    Artefact("fe_defects_MEAM", "atoms/data/fe_defects_MEAM.npz",
             "420d1a83b1bf4478b0ef68cd1a8db1136fd7982542b4959b610397e166a61638",
             f"{_DEFECTS} build --potential MEAM --tries-scale 1.4 --workdir W && {_DEFECTS} assemble --potential MEAM "
             "--workdir W --out localbook/atoms/data/fe_defects_MEAM.npz   (4,821 s of job compute on one core: "
             "3,653 s for the default starts, then, on the same workdir, 563 s wall for --tries-scale 1.2 --extend "
             "and 609 s for --tries-scale 1.4 --extend; the same minima and entropies, not the same bytes: the file "
             "records the build's compute time)",
             "bcc-iron defects, 2NN MEAM of Lee et al. 2001 (LAMMPS library_2nn.meam Fe): 1,154 verified minima "
             "with their formation entropies (chapter 04); 630 crystal starts, 300 duplicates dropped, 0 saddles, 0 "
             "unconverged, 62 strained copies whose defect changed kept and flagged, 140 random cells"),
    Artefact("carbon_quick", "atoms/data/carbon_quick.extxyz.gz",
             "3cf48870956e7de740fe5308d8a3ffcaf27a0324c373b5145abe3fe4563dee9d",
             "python -m localbook.atoms.carbon build --out localbook/atoms/data/carbon_quick.extxyz.gz",
             "carbon MD snapshots with MBD@rsSCS (and plain MBD) energies, 500 cells of 256 atoms (chapter 03)"),
    Artefact("carbon_rsscs_reference", "atoms/data/carbon_mbd_reference.json",
             "856fb1d6fb92bedb9fa5982b7a33a262c074493885a97950362e498fb1344b86",
             "PYTHONPATH=<unpacked pymbd 0.15.0 sdist>/src python -m localbook.atoms.mbd reference --out "
             "localbook/atoms/data/carbon_mbd_reference.json --extra <cells> (its 'command' field)",
             "pymbd's MBD@rsSCS and MBD energies of carbon structures, with the structures (chapter 03)"),
    Artefact("sketch_rnn_kanjivg", "art/data/sketch_rnn_kanjivg.pt",
             "10d6798b9a0087bb862a8616252f1e5a95aed5b488e22bb231e19b3e3bdab4b1",
             "python -m localbook.art.sketch train --out localbook/art/data   (stops after --max-minutes 40: "
             "a rebuild is a new model, not the same bytes)",
             "Sketch-RNN weights trained on KanjiVG (chapter 08)"),
    Artefact("sketch_rnn_kanjivg_curve", "art/data/sketch_rnn_kanjivg_curve.csv",
             "6323ca40ec3de89ede9e22fe88c780b89852a093d1d9ea16866ecf124ad23182",
             "written with the weights by python -m localbook.art.sketch train --out localbook/art/data",
             "training curve of the shipped Sketch-RNN (chapter 08)"),
    Artefact("qm9_thesis_sampling_gpu", "atoms/data/qm9_thesis_sampling_gpu.json",
             "e9ae3e059e3309e9b5663abbd416f32918b5a71c479158b07187503f9e1ca1b2",
             "on a GPU: python tools/qm9_gpu_run.py run DATA.npz OUT --budget 400 --candidates (DATA from "
             "python tools/qm9_gpu_run.py export DATA.npz --n-extra 14000), then here: python tools/qm9_gpu_fit.py "
             "OUT --commit HASH --command CMD (a rerun gives its own timings and as many molecules as its budget)",
             "chapter 02's descriptor at the thesis' sampling, 16,640 QM9 molecules on an H200 (8 min): learning "
             "curves of the linear model and the dressed atom, GPU checks and timings"),
]}


def artefact(name: str) -> Artefact:
    """The shipped artefact ``name``; ``KeyError`` lists the known names."""
    try:
        return ARTEFACTS[name]
    except KeyError:
        raise KeyError(f"no shipped artefact {name!r}; localbook ships: {', '.join(sorted(ARTEFACTS))}") from None


def verified_path(name: str) -> Path:
    """The path of the shipped artefact ``name`` after checking its SHA-256 against the digest written in this
    module. Raises ``FileNotFoundError`` (missing) or :class:`~localbook.data.ChecksumError` (any byte differs),
    both naming the command that rebuilds the file."""
    from localbook.data.cache import file_sha256

    a = artefact(name)
    if not a.file.is_file():
        raise FileNotFoundError(f"{a.file} ({a.description}) is missing: reinstall localbook, or rebuild it with "
                                f"`{a.rebuild}`")
    actual = file_sha256(a.file)
    if actual != a.sha256:
        from localbook.data import ChecksumError

        raise ChecksumError(
            f"{a.file} has SHA-256 {actual}, but localbook shipped {a.sha256} ({a.description}): the file is corrupted "
            f"or was regenerated. Reinstall localbook (git checkout -- {Path('localbook') / a.path}), or, if you "
            f"rebuilt it on purpose with `{a.rebuild}`, write the new digest into localbook/data/artefacts.py")
    return a.file


def verify_all() -> dict[str, str | None]:
    """``{name: None if the file matches, else the problem}`` for every shipped artefact."""
    out = {}
    for name in ARTEFACTS:
        try:
            verified_path(name)
            out[name] = None
        except (OSError, ValueError) as err:
            out[name] = str(err)
    return out


def main(argv=None) -> int:
    """``python -m localbook.data.artefacts``: check every shipped artefact; print the digests of those that differ."""
    from localbook.data.cache import file_sha256

    argparse.ArgumentParser(prog="python -m localbook.data.artefacts", description=main.__doc__).parse_args(argv)
    bad = 0
    for name, problem in verify_all().items():
        a = ARTEFACTS[name]
        if problem is None:
            print(f"ok       {name:28s} {a.path}")
        else:
            bad += 1
            now = file_sha256(a.file) if a.file.is_file() else "missing"
            print(f"DIFFERS  {name:28s} {a.path}\n         shipped {a.sha256}\n         on disk {now}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
