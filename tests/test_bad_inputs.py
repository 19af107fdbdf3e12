"""Bad inputs and faults, tried as a new user would: each must give a clear error or a correct result, never a
silent wrong number or a dead interpreter (issue 15). Loader faults here; structure, image and cache faults in
test_checks.py and test_cache.py."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from localbook.data.qm9 import QM9_FILES, QM9FormatError, load_qm9_molecules
from localbook.data.registry import locate


@pytest.fixture(scope="module")
def qm9_head():
    """The first 30 lines of each qm9pack CSV file."""
    src = locate("qm9")
    return {name: b"\n".join((src / name).read_bytes().split(b"\n")[:30]) + b"\n" for name in QM9_FILES}


def write_qm9(folder: Path, files: dict) -> Path:
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("change", ["crlf", "bom", "crlf_one_file", "bom_one_file"])
def test_qm9_csv_with_windows_endings_or_a_bom_reads_the_same(tmp_path, qm9_head, change):
    reference = load_qm9_molecules(path=write_qm9(tmp_path / "ref", qm9_head))
    files = {}
    for k, (name, data) in enumerate(qm9_head.items()):
        apply = not change.endswith("one_file") or k == 1
        if change.startswith("crlf") and apply:
            data = data.replace(b"\n", b"\r\n")
        if change.startswith("bom") and apply:
            data = b"\xef\xbb\xbf" + data
        files[name] = data
    mols = load_qm9_molecules(path=write_qm9(tmp_path / "changed", files))
    np.testing.assert_array_equal(mols.qm9_id, reference.qm9_id)
    np.testing.assert_array_equal(mols.atomization_energy_kcal_mol, reference.atomization_energy_kcal_mol)
    np.testing.assert_array_equal(mols.positions_angstrom, reference.positions_angstrom)
    assert list(mols.smiles) == list(reference.smiles)


@pytest.mark.parametrize("fault, match", [
    ("empty", "qm9_part2.csv is empty; reinstall"),
    ("non_utf8_row", r"qm9_part1.csv line \d+ is not UTF-8 text"),
    ("binary", "different header lines|not UTF-8"),
    ("truncated", r"malformed QM9 row at qm9_part3.csv line \d+"),
    ("no_newline", "no complete line"),
])
def test_corrupt_qm9_csv_names_the_file_and_the_fix(tmp_path, qm9_head, fault, match):
    files = dict(qm9_head)
    if fault == "empty":
        files[QM9_FILES[1]] = b""
    elif fault == "non_utf8_row":
        files[QM9_FILES[0]] = files[QM9_FILES[0]].replace(b"[", b"[\xff", 3)
    elif fault == "binary":
        files[QM9_FILES[2]] = bytes(range(256)) * 10
    elif fault == "truncated":
        data = files[QM9_FILES[2]]
        files[QM9_FILES[2]] = data[: len(data) // 2]
    elif fault == "no_newline":
        files[QM9_FILES[2]] = b"XYZ_file,Index"
    with pytest.raises(QM9FormatError, match=match):
        load_qm9_molecules(path=write_qm9(tmp_path, files))


def test_a_kanjivg_file_edited_in_place_is_parsed_again(tmp_path):
    from localbook.data.cache import ArrayCache
    from localbook.data.kanjivg import KANJIVG, load_kanjivg

    names = ["065e5.svg", "06708.svg", "06728.svg", "05c71.svg"]
    for n in names:
        shutil.copy(KANJIVG.locate() / n, tmp_path / n)
    cache = ArrayCache(tmp_path / "cache")
    first = load_kanjivg(folder=tmp_path, cache=cache, fractions=(0.5, 0.25))
    assert first.skipped == []
    # break one file in place, keeping its name and size class: the cached parse must not be reused
    (tmp_path / "06728.svg").write_text("<svg><g id='kvg:StrokePaths_06728'><path d='M1,1 Q'/></g>")
    second = load_kanjivg(folder=tmp_path, cache=cache, fractions=(0.5, 0.25))
    assert [s[0] for s in second.skipped] == ["06728.svg"]
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


# ---------------------------------------------------------------------------------------------------------------
# shipped artefacts


def test_every_shipped_data_file_has_a_checksum_in_the_package():
    from localbook.data import artefacts

    shipped = {p.relative_to(artefacts.PACKAGE_ROOT).as_posix() for p in artefacts.PACKAGE_ROOT.glob("*/data/*")
               if p.is_file() and p.suffix not in (".json", ".log")}  # sidecars and logs are not read as data
    # (a JSON file read as data, such as the MBD reference energies, is registered too)
    assert shipped == {a.path for a in artefacts.ARTEFACTS.values() if not a.path.endswith(".json")}
    assert artefacts.verify_all() == dict.fromkeys(artefacts.ARTEFACTS)


def test_a_regenerated_artefact_with_a_rewritten_sidecar_is_refused(tmp_path, monkeypatch):
    import hashlib
    import json

    from localbook.data import ChecksumError, artefacts

    a = artefacts.artefact("carbon_quick")
    copy = tmp_path / "localbook"
    (copy / a.path).parent.mkdir(parents=True)
    data = bytearray(a.file.read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / a.path).write_bytes(bytes(data))
    sidecar = (copy / a.path).with_suffix("").with_suffix(".json")
    sidecar.write_text(json.dumps({"sha256": hashlib.sha256(bytes(data)).hexdigest()}))
    monkeypatch.setattr(artefacts, "PACKAGE_ROOT", copy)
    with pytest.raises(ChecksumError, match=r"corrupted or was regenerated.*localbook\.atoms\.carbon build"):
        artefacts.verified_path("carbon_quick")
    (copy / a.path).unlink()
    with pytest.raises(FileNotFoundError, match="is missing: reinstall localbook, or rebuild it with"):
        artefacts.verified_path("carbon_quick")
    with pytest.raises(KeyError, match="localbook ships: carbon_quick"):
        artefacts.verified_path("carbon")


# ---------------------------------------------------------------------------------------------------------------
# datasets with published checksums


def test_a_copy_whose_bytes_differ_from_the_published_checksums_is_never_returned(tmp_path, monkeypatch):
    import hashlib

    from localbook.data.registry import DataUnavailableError, Dataset, DownloadSource, EnvSource

    good = b"the published bytes"
    sums = {"batch": "md5:" + hashlib.md5(good).hexdigest(), "meta": hashlib.sha256(b"meta").hexdigest()}
    downloads = []

    def fetch(dest):
        downloads.append(dest)
        (dest / "batch").write_bytes(good if len(downloads) > 1 else b"tampered")
        (dest / "meta").write_bytes(b"meta")
        return dest

    ds = Dataset("toy", "a toy dataset", [EnvSource("toy"), DownloadSource(fetch, "a toy download")],
                 required=("batch",), checksums=sums)
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "batch").write_bytes(b"crafted pickle")
    (tmp_path / "toy" / "meta").write_bytes(b"meta")
    with pytest.raises(DataUnavailableError, match=r"is not the published data \(batch has md5 [0-9a-f]{32}, "
                                                   r"published [0-9a-f]{32}\): delete or replace it"):
        ds.locate()
    with pytest.raises(DataUnavailableError, match="download of toy .* is not the published data .* not used"):
        ds.locate(download=True, dest=tmp_path / "dl")
    assert ds.locate(download=True, dest=tmp_path / "dl2") == tmp_path / "dl2"
    (tmp_path / "toy" / "batch").write_bytes(good)
    assert ds.locate() == tmp_path / "toy"
    for bad in ("md5:123", "sha256:" + "g" * 64, "crc:00"):
        with pytest.raises(ValueError, match="is not 'sha256:<64 hex digits>'"):
            Dataset("bad", "bad", [], checksums={"f": bad})


def test_a_crafted_cifar10_pickle_is_refused_before_unpickling(tmp_path, monkeypatch):
    """A pickle that would run code when loaded, in $LOCALBOOK_DATA, must never be unpickled."""
    import pickle

    from localbook.data.images import load_cifar10
    from localbook.data.registry import DataUnavailableError

    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
                 "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps(Payload()))
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    with pytest.raises(DataUnavailableError, match="is not the published data"):
        load_cifar10("test")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------------------------
# structures at the entry points


NAN_SOAP = """
import numpy as np
from ase.build import bulk
from localbook.atoms.soap import soap_environments
a = bulk("C", "diamond", a=3.57, cubic=True)
a.positions[0, 0] = np.nan
try:
    soap_environments([a], r_cut=3.0, sigma=0.5, n_max=2, l_max=2)
except ValueError as err:
    print("raised:", err)
"""


def test_a_nan_structure_raises_in_soap_instead_of_killing_the_interpreter():
    """dscribe's SOAP segfaults on a NaN position (exit status -11 took the kernel with it)."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", NAN_SOAP], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, f"exit status {out.returncode}: {out.stderr[-2000:]}"
    assert "raised: soap_environments: structure 0 (C8, 8 atoms): atom 0 has a non-finite position" in out.stdout


def _iron(fault):
    from ase.build import bulk

    a = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(2)
    if fault == "nan":
        a.positions[3, 1] = np.nan
    elif fault == "coincident":
        a.positions[1] = a.positions[0]
    elif fault == "zero_cell":
        a.cell = np.zeros((3, 3))
    return a


@pytest.mark.parametrize("fault, match", [("nan", "non-finite position"), ("coincident", "0 Å apart"),
                                          ("zero_cell", "zero or linearly dependent")])
def test_structure_faults_stop_eam_mbd_afs_pair_and_scattering(fault, match):
    """They returned -58 eV (EAM, NaN atom), 2.5e18 eV (EAM, zero cell), 0.0 eV (MBD), zeros (AFS) and all-NaN
    features (scattering) before."""
    from localbook.atoms.afs import AFSDescriptor
    from localbook.atoms.eam import load_potential
    from localbook.atoms.mbd import mbd_energy
    from localbook.atoms.pair import PairPotentialFeatures
    from localbook.checks import StructureError
    from localbook.scattering3d import SolidHarmonicScattering

    calls = {
        "EAM": lambda a: load_potential("AM04").energy(a),
        "MBD": lambda a: mbd_energy(a),
        "AFS": lambda a: AFSDescriptor(n_max=4, l_max=2, r_cut=4.0).fit_transform([a]),
        "pair": lambda a: PairPotentialFeatures(n_quadrature=401).fit().transform([a]),
        "scattering": lambda a: SolidHarmonicScattering(
            J=1, L=1, qs=(1.0,), sigma=0.6, spacing=0.4, grid="cell", channels=("ones",), max_order=1,
            device="cpu").fit_transform([a]),
    }
    for name, call in calls.items():
        with pytest.raises(StructureError, match=match):
            call(_iron(fault))
        assert name  # each entry point raised


def test_a_scattering_grid_beyond_the_memory_limit_is_refused_with_the_estimate(monkeypatch):
    from ase import Atoms

    from localbook.checks import MemoryLimitError
    from localbook.scattering3d import SolidHarmonicScattering

    rng = np.random.default_rng(0)
    cluster = Atoms(numbers=rng.choice([1, 6, 8], 1000), positions=rng.uniform(0, 60, (1000, 3)))
    shs = SolidHarmonicScattering(J=2, L=2, qs=(1.0,), sigma=0.3, channels=("Z", "valence"), max_order=2, device="cpu")
    monkeypatch.setenv("LOCALBOOK_MEMORY_LIMIT_GB", "8")
    with pytest.raises(MemoryLimitError, match=r"scattering 1 structure\(s\) on a \d+x\d+x\d+ grid needs about "
                                               r"[\d.]+ GB, above the limit of 8 GB.*a larger spacing"):
        shs.fit_transform([cluster])


def test_a_dense_hessian_beyond_the_memory_limit_is_refused(monkeypatch):
    from localbook.atoms.eam import load_potential
    from localbook.checks import MemoryLimitError

    monkeypatch.setenv("LOCALBOOK_MEMORY_LIMIT_GB", "0.00001")  # 10 kB; the Hessian of 16 atoms takes 55 kB
    with pytest.raises(MemoryLimitError, match="dense Hessian of 16 atoms"):
        load_potential("AM04").hessian(_iron(None))


# ---------------------------------------------------------------------------------------------------------------
# images at the entry points


def test_bad_image_batches_stop_the_patch_encoder_the_2d_scattering_and_style_transfer():
    """uint8 and 0-255 pixels were encoded silently by the patch k-NN and the 2-D scattering."""
    import torch

    from localbook.art.style import gatys
    from localbook.checks import ImageError
    from localbook.images.whitening import PatchWhitening, extract_patches
    from localbook.images.scattering2d import OversampledScattering2D as ScatteringFrontEnd

    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for bad, match in [((x * 255).to(torch.uint8), r"dtype uint8.*/ 255"), (x * 255, "divide by 255"),
                       (x[:0], "batch is empty")]:
        with pytest.raises(ImageError, match=match):
            PatchWhitening().fit_images(bad, patch_size=3)
        with pytest.raises(ImageError, match=match):
            extract_patches(bad, 3)
        with pytest.raises(ImageError, match=match):
            ScatteringFrontEnd(J=2, shape=(16, 16), L=4, max_order=1)(bad)
    with pytest.raises(ImageError, match="content: image values span"):
        gatys(x[:1] * 255, x[1:2], model=None, steps=1)


def test_from_array_reads_16_bit_images_and_refuses_0_255_floats():
    from localbook.art.images import from_array
    from localbook.checks import ImageError

    rgb = np.random.default_rng(0).random((16, 16, 3))
    as16 = from_array((rgb * 65535).round().astype(np.uint16), square=False)
    np.testing.assert_allclose(as16[0].permute(1, 2, 0).numpy(), rgb, atol=1e-4)  # was all white
    np.testing.assert_allclose(from_array((rgb * 255).round().astype(np.uint8), square=False)[0].permute(1, 2, 0),
                               rgb, atol=2.5e-3)
    with pytest.raises(ImageError, match="divide by 255"):
        from_array(rgb * 255)


def test_a_sha256_prefix_checksum_catches_a_corrupted_copy(tmp_path, monkeypatch):
    import hashlib

    from localbook.data.registry import DataUnavailableError, Dataset, EnvSource

    good = b"weights"
    prefix = hashlib.sha256(good).hexdigest()[:8]
    ds = Dataset("w", "weights", [EnvSource("w")], required=("w.pth",), checksums={"w.pth": f"sha256-prefix:{prefix}"})
    monkeypatch.setenv("LOCALBOOK_DATA", str(tmp_path))
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "w.pth").write_bytes(good[:-1])  # truncated
    with pytest.raises(DataUnavailableError, match="not the published data"):
        ds.locate()
    (tmp_path / "w" / "w.pth").write_bytes(good)
    assert ds.locate() == tmp_path / "w"
    with pytest.raises(ValueError, match="sha256-prefix:<8 to 63 hex digits>"):
        Dataset("w", "weights", [], checksums={"w.pth": "sha256-prefix:1234"})
