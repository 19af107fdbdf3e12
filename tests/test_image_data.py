"""Tests of the image loaders: CIFAR-10 batches (checksums before unpickling, a restricted unpickler, the
download's checks), on small synthetic batches in the real format."""
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from localbook.data import ChecksumError, DataUnavailableError
from localbook.data import images as im


def _batch_bytes(n, seed, numpy1_names=True):
    """A CIFAR-10 python batch (dict with bytes keys, uint8 data (n, 3072), int labels) pickled with protocol 2;
    ``numpy1_names`` writes the numpy global as the real files do (``numpy.core.multiarray``)."""
    rng = np.random.default_rng(seed)
    batch = {b"batch_label": b"synthetic", b"labels": [int(i % 10) for i in range(n)],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img{i}.png".encode() for i in range(n)]}
    raw = pickle.dumps(batch, protocol=2)
    return raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray") if numpy1_names else raw


def _write_cifar(root, n=20):
    root.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        (root / name).write_bytes(_batch_bytes(n, i, numpy1_names=i % 2 == 0))
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in im.CIFAR10_CLASSES]}))
    return root


def test_cifar10_batches_load_when_trusted_and_are_refused_unverified(tmp_path):
    root = _write_cifar(tmp_path / "cifar-10-batches-py")
    train = im.load_cifar10("train", root=root, verify=False)
    test = im.load_images("cifar-10", "test", n=10, root=root, verify=False)
    assert train.x.shape == (100, 3, 32, 32) and train.x.dtype == torch.float32 and len(test) == 10
    assert float(train.x.max()) <= 1 and torch.bincount(test.y).tolist() == [1] * 10
    first = pickle.loads(_batch_bytes(20, 0, numpy1_names=False))[b"data"][0].reshape(3, 32, 32)  # channel-major
    assert torch.equal(train.x[0], torch.from_numpy(first.astype(np.float32) / 255))
    # the synthetic files are not the published ones: the default check refuses them before unpickling
    with pytest.raises(ChecksumError, match="verify=False"):
        im.load_cifar10("test", root=root)
    with pytest.raises(ChecksumError, match="not a CIFAR-10 batch name"):
        im.read_cifar10_batch(root.parent / "renamed", verify=True)
    with pytest.raises(DataUnavailableError, match="lacks data_batch_2"):
        (root / "data_batch_2").unlink()
        im.load_cifar10("train", root=root, verify=False)


def test_the_checksum_is_checked_before_unpickling(tmp_path, monkeypatch):
    root = _write_cifar(tmp_path / "c")
    calls = []
    monkeypatch.setattr(im._BatchUnpickler, "load", lambda self: calls.append(1))
    with pytest.raises(ChecksumError):
        im.read_cifar10_batch(root / "test_batch")
    assert calls == []                                          # nothing was unpickled
    monkeypatch.undo()
    monkeypatch.setitem(im.CIFAR10_MD5, "test_batch", hashlib.md5((root / "test_batch").read_bytes()).hexdigest())
    assert im.read_cifar10_batch(root / "test_batch")["data"].shape == (20, 3072)   # matching MD5: loaded


class _Payload:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_a_crafted_pickle_cannot_run_code_even_unverified(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "test_batch"
    evil.write_bytes(pickle.dumps({b"data": _Payload(), b"labels": [0]}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        im.read_cifar10_batch(evil, verify=False)
    assert not (tmp_path / "pwned").exists()
    (tmp_path / "list").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ValueError, match="not a CIFAR-10 batch dict"):
        im.read_cifar10_batch(tmp_path / "list", verify=False)


def _archive(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_download_checks_the_archive_and_extracts_only_batches(tmp_path, monkeypatch):
    files = {name: _batch_bytes(4, i) for i, name in enumerate(im.CIFAR10_MD5)}
    members = {f"cifar-10-batches-py/{k}": v for k, v in files.items()}
    members["../escape"] = b"outside"
    members["cifar-10-batches-py/readme.html"] = b"<html>"
    archive = _archive(members)
    served = []

    def fake_urlretrieve(url, path):
        served.append(url)
        path.write_bytes(archive)

    monkeypatch.setattr("urllib.request.urlretrieve", fake_urlretrieve)
    # a download whose MD5 differs from the published one is deleted and refused
    with pytest.raises(ChecksumError, match="not the published"):
        im.download_cifar10(tmp_path / "a")
    assert served == [im.CIFAR10_URL] and not (tmp_path / "a" / "cifar-10-python.tar.gz").exists()
    # with checksums that match (as the real archive's do), the batches are extracted and checked
    monkeypatch.setattr(im, "CIFAR10_ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    for name, data in files.items():
        monkeypatch.setitem(im.CIFAR10_MD5, name, hashlib.md5(data).hexdigest())
    root = im.download_cifar10(tmp_path / "b")
    assert sorted(p.name for p in root.iterdir()) == sorted(im.CIFAR10_MD5)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "b" / "escape").exists()
    assert im.load_cifar10("test", root=root).x.shape == (4, 3, 32, 32)
    im.download_cifar10(tmp_path / "b")                         # a verified archive is not fetched again
    assert len(served) == 2


def test_validation_split_is_balanced_and_disjoint():
    x = torch.arange(60, dtype=torch.float32).reshape(60, 1, 1, 1)
    ds = im.ImageDataset(x, torch.arange(60) % 3, ("a", "b", "c"), "toy")
    fit, val = ds.split(12, seed=1)
    assert len(fit) == 48 and len(val) == 12 and torch.bincount(val.y).tolist() == [4, 4, 4]
    assert set(fit.x.ravel().tolist()).isdisjoint(val.x.ravel().tolist())
    assert torch.equal(ds.split(12, seed=1)[1].x, val.x) and "validation" in val.name
    with pytest.raises(ValueError, match="n_held_out"):
        ds.split(60)


def test_load_splits_holds_out_a_balanced_validation_set():
    try:
        train, val, test = im.load_splits("fashion-mnist", 100, 50, 30, seed=2)
    except DataUnavailableError as err:
        pytest.skip(f"Fashion-MNIST not installed: {err}")
    assert (len(train), len(val), len(test)) == (100, 50, 30)
    assert torch.bincount(val.y).tolist() == [5] * 10 and torch.bincount(test.y).tolist() == [3] * 10
    flat = lambda d: {tuple(r) for r in d.x.reshape(len(d), -1)[:, 300:320].tolist()}  # noqa: E731
    assert not flat(train) & flat(val)                            # no image is in both
