"""Tests of the KanjiVG loader (localbook.data.kanjivg): path sampling, parsing, malformed files, the split."""
import shutil

import numpy as np
import pytest

from localbook.art.sketch import stroke3_to_strokes
from localbook.data.cache import ArrayCache
from localbook.data.kanjivg import KANJIVG, load_kanjivg, parse_kanjivg_svg, sample_path

SUN = "065e5.svg"  # 日: 4 strokes


def test_sample_path_cubic_end_points_and_line():
    pts = sample_path("M0,0 c0,0 10,0 10,0 L10,10", points_per_segment=4)
    assert pts.shape == (9, 2)
    np.testing.assert_allclose(pts[0], [0, 0])
    np.testing.assert_allclose(pts[4], [10, 0])
    np.testing.assert_allclose(pts[-1], [10, 10])
    np.testing.assert_allclose(pts[5:, 0], 10)  # the line segment is sampled on x = 10
    with pytest.raises(ValueError):
        sample_path("")


@pytest.fixture(scope="module")
def kanjivg_dir():
    try:
        return KANJIVG.locate()
    except FileNotFoundError as err:
        pytest.skip(str(err))


def test_parse_sun_has_four_strokes_in_box(kanjivg_dir):
    strokes = parse_kanjivg_svg(kanjivg_dir / SUN)
    assert len(strokes) == 4
    pts = np.concatenate(strokes)
    assert pts.min() > 0 and pts.max() < 109
    # first stroke of 日 is the left vertical: it starts near (31.5, 24.5) and goes down
    np.testing.assert_allclose(strokes[0][0], [31.5, 24.5])
    assert strokes[0][-1][1] > 80
    # RDP simplification keeps the end points and drops points on the horizontal 3rd stroke
    raw = parse_kanjivg_svg(kanjivg_dir / SUN, epsilon=0.0)
    assert len(strokes[2]) < len(raw[2])
    np.testing.assert_allclose(strokes[2][[0, -1]], raw[2][[0, -1]])


def test_malformed_files_are_counted_and_split_is_seeded(tmp_path, kanjivg_dir):
    names = ["065e5.svg", "06708.svg", "06728.svg", "05c71.svg", "05ddd.svg", "04e00.svg", "04e8c.svg",
             "04e09.svg", "053e3.svg", "07530.svg"]
    for n in names:
        shutil.copy(kanjivg_dir / n, tmp_path / n)
    (tmp_path / "0fff0.svg").write_text("<svg><g id='kvg:StrokePaths_0fff0'><path d='M1,1 Q'/></g>")  # bad XML
    (tmp_path / "0fff1.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><g id="kvg:StrokePaths_0fff1"></g></svg>')  # no stroke
    cache = ArrayCache(tmp_path / "cache")
    data = load_kanjivg(folder=tmp_path, cache=cache, fractions=(0.6, 0.2), seed=3)
    assert data.n_files == 12 and len(data.skipped) == 2
    assert {s[0] for s in data.skipped} == {"0fff0.svg", "0fff1.svg"}
    assert len(data.train) + len(data.val) + len(data.test) == 10
    assert len(data.train) == 6 and len(data.val) == 2
    again = load_kanjivg(folder=tmp_path, cache=cache, fractions=(0.6, 0.2), seed=3)  # from the cache
    assert again.train_names == data.train_names
    other = load_kanjivg(folder=tmp_path, cache=cache, fractions=(0.6, 0.2), seed=4)
    assert other.train_names != data.train_names
    i = data.train_names.index("065e5") if "065e5" in data.train_names else None
    if i is not None:
        assert len(stroke3_to_strokes(data.train[i])) == 4
    assert data.scale == pytest.approx(np.concatenate(data.train)[:, :2].std())
    short = load_kanjivg(folder=tmp_path, cache=cache, max_len=10)
    assert short.n_too_long > 0
    assert "malformed skipped" in data.summary()


def test_train_command_writes_weights_and_curve_read_through_the_artefact_digest(tmp_path, kanjivg_dir, monkeypatch):

    import torch

    from localbook.art import sketch
    from localbook.data import ChecksumError

    folder = tmp_path / "svg"
    folder.mkdir()
    for n in ["065e5", "06708", "06728", "05c71", "05ddd", "04e00", "04e8c", "04e09", "053e3", "07530"]:
        shutil.copy(kanjivg_dir / f"{n}.svg", folder)
    out = tmp_path / "out"
    sketch.main(["train", "--out", str(out), "--steps", "4", "--eval-every", "2", "--batch-size", "4",
                 "--enc-hidden", "8", "--dec-hidden", "16", "--z-dim", "4", "--mixtures", "3",
                 "--kanjivg-dir", str(folder)])
    curve = sketch.read_curve(out / sketch.CURVE_FILE)
    assert list(curve["step"]) == [2, 2, 4, 4] and set(curve["split"]) == {"train", "val"}
    # the shipped model is read through localbook.data.artefacts: point its entry at the file just trained
    from localbook.data import artefacts
    from localbook.data.cache import file_sha256

    trained = artefacts.Artefact(sketch.WEIGHTS_ARTEFACT, str(out / sketch.WEIGHTS_FILE),
                                 file_sha256(out / sketch.WEIGHTS_FILE), "the test's training command")
    monkeypatch.setitem(artefacts.ARTEFACTS, sketch.WEIGHTS_ARTEFACT, trained)
    model = sketch.load_pretrained(device="cpu")
    assert model.config.dec_hidden == 16 and float(model.scale) > 1
    x, lengths = sketch.stroke3_to_stroke5([np.array([[1, 1, 1]], np.float32)], max_len=5)
    assert torch.isfinite(model.losses(x, lengths)["L_R"])
    # a changed byte in the weights is caught by the digest written in artefacts.py, and no sidecar is written
    blob = bytearray((out / sketch.WEIGHTS_FILE).read_bytes())
    blob[-10] ^= 0xFF
    (out / sketch.WEIGHTS_FILE).write_bytes(bytes(blob))
    with pytest.raises(ChecksumError, match="the test's training command"):
        sketch.load_pretrained(device="cpu")
    assert sorted(p.name for p in out.iterdir()) == sorted([sketch.WEIGHTS_FILE, sketch.CURVE_FILE])


def test_n_files_subset(tmp_path, kanjivg_dir):
    cache = ArrayCache(tmp_path / "cache")
    names = ["065e5.svg", "06708.svg", "06728.svg", "05c71.svg", "05ddd.svg", "04e00.svg"]
    for n in names:
        shutil.copy(kanjivg_dir / n, tmp_path / n)
    data = load_kanjivg(folder=tmp_path, cache=cache, n_files=3)
    assert data.n_files == 3
    assert set(data.train_names + data.val_names + data.test_names) == {"04e00", "05ddd", "06728"}
    with pytest.raises(ValueError, match="n_files"):
        load_kanjivg(folder=tmp_path, cache=cache, n_files=2)
