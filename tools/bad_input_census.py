"""Census of bad inputs and faults, tried as a new user would (issue 15): what does localbook do with each?

Every case runs in a worker process (one after the other; a worker that dies is replaced and the case that
killed it is counted as a crash), and its outcome is one of

* ``clear error``   -- an exception whose message matches what the case expects it to name (the problem and a fix);
* ``unclear error`` -- an exception that does not (a bare numpy / torch / JSON error from deep inside);
* ``correct``       -- a result, and the case's oracle says it is right (e.g. a cache hit, a BOM-prefixed CSV read
  exactly like the original);
* ``silent``        -- a result where an error was due, or a result the oracle rejects: a silent wrong number;
* ``crash``         -- the worker died (segfault, OOM kill) or hung past the time limit.

    .venv/bin/python tools/bad_input_census.py [--only SUBSTRING] [--json out.json]

prints one line per case and the counts. Workers run with ``OMP_NUM_THREADS=1`` and a virtual-memory limit
(``--memory-gb``, default 8) so that a case which would exhaust the machine fails inside the worker instead.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from collections.abc import Callable

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    group: str
    name: str
    run: Callable[[], Any]
    clear: str = ""                                # regex an error message must match to be "clear"
    correct: Callable[[Any], bool] | None = None   # oracle for a returned result; None: any result is silent


CASES: list[Case] = []


def case(group: str, name: str, clear: str = "", correct: Callable[[Any], bool] | None = None):
    def register(fn):
        CASES.append(Case(group, name, fn, clear, correct))
        return fn
    return register


# ---------------------------------------------------------------------------------------------------------------
# structures: every descriptor, potential and energy, with each structural fault


def _faulty(fault: str):
    import numpy as np
    from ase import Atoms
    from ase.build import bulk

    if fault == "empty list":
        return []
    a = bulk("Fe", "bcc", a=2.86, cubic=True).repeat(2)
    if fault == "nan position":
        a.positions[3, 1] = np.nan
    elif fault == "inf position":
        a.positions[3, 1] = np.inf
    elif fault == "coincident atoms":
        a.positions[1] = a.positions[0]
    elif fault == "zero cell":
        a.cell = np.zeros((3, 3))
    elif fault == "unknown element":
        a.numbers[2] = 0
    elif fault == "no atoms":
        a = Atoms(cell=[5, 5, 5], pbc=True)
    return [a]


_STRUCTURE_CLEAR = (r"non-finite|not finite|nan|coincid|apart|cell .*(zero|degenerate|dependent)|"
                    r"(degenerate|zero-volume) cell|not an element|"
                    r"atomic number|species|no atom|at least one|empty|no structure")


def _carbonise(structures):
    for a in structures:
        a.numbers[a.numbers == 26] = 6
    return structures


_ENTRY_POINTS = {
    "EAM energy": lambda s: float(__import__("localbook.atoms.eam", fromlist=["x"]).load_potential("AM04")
                                  .energy(s[0])),
    "EAM hessian": lambda s: __import__("localbook.atoms.eam", fromlist=["x"]).load_potential("AM04")
                             .hessian(s[0]).sum().item(),
    "MBD energy": lambda s: float(__import__("localbook.atoms.mbd", fromlist=["x"]).mbd_energy(_carbonise(s)[0])),
    "AFS descriptor": lambda s: __import__("localbook.atoms.afs", fromlist=["x"]).AFSDescriptor(
        n_max=4, l_max=2, r_cut=4.0).fit_transform(s).sum(),
    "SOAP environments": lambda s: sum(float(x.sum()) for x in __import__("localbook.atoms.soap", fromlist=["x"])
                                       .soap_environments(_carbonise(s), r_cut=3.0, sigma=0.5, n_max=2, l_max=2)),
    "pair features": lambda s: __import__("localbook.atoms.pair", fromlist=["x"]).PairPotentialFeatures(
        n_quadrature=401).fit().transform(_carbonise(s)).sum(),
    "scattering (cell)": lambda s: __import__("localbook.scattering3d", fromlist=["x"]).SolidHarmonicScattering(
        J=1, L=1, qs=(1.0,), sigma=0.6, spacing=0.4, grid="cell", channels=("ones",), max_order=1,
        device="cpu").fit_transform(s).sum(),
    "scattering (box)": lambda s: __import__("localbook.scattering3d", fromlist=["x"]).SolidHarmonicScattering(
        J=1, L=1, qs=(1.0,), sigma=0.6, channels=("ones",), max_order=1, device="cpu").fit_transform(
        [_nonperiodic(a) for a in s]).sum(),
}


def _nonperiodic(a):
    a = a.copy()
    a.pbc = False
    return a


for _entry, _fn in _ENTRY_POINTS.items():
    for _fault in ("nan position", "inf position", "coincident atoms", "zero cell", "unknown element", "no atoms",
                   "empty list"):
        if _fault == "zero cell" and _entry == "scattering (box)":
            continue  # a molecule needs no cell
        if _fault == "empty list" and _entry in ("EAM energy", "EAM hessian", "MBD energy"):
            continue  # these take one structure
        case("structures", f"{_entry}: {_fault}", _STRUCTURE_CLEAR)(
            (lambda fn, fault: lambda: fn(_faulty(fault)))(_fn, _fault))


@case("structures", "scattering: 1,000-atom cluster over 60 Å (memory)", r"GB|memory|spacing")
def _big_cluster():
    import numpy as np
    from ase import Atoms

    from localbook.scattering3d import SolidHarmonicScattering

    rng = np.random.default_rng(0)
    a = Atoms(numbers=rng.choice([1, 6, 8], 1000), positions=rng.uniform(0, 60, (1000, 3)))
    return SolidHarmonicScattering(J=2, L=2, qs=(1.0,), sigma=0.3, channels=("Z", "valence"), max_order=2,
                                   device="cpu").fit_transform([a]).sum()


# ---------------------------------------------------------------------------------------------------------------
# images


def _images(kind: str):
    import torch

    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 16, 16, generator=g)
    return {"uint8": (x * 255).to(torch.uint8), "0-255 floats": x * 255, "16-bit floats": x * 65535,
            "nan pixel": x.index_put_((torch.tensor([1]), torch.tensor([0]), torch.tensor([2]), torch.tensor([2])),
                                      torch.tensor(float("nan"))),
            "empty batch": x[:0]}[kind]


_IMAGE_CLEAR = r"dtype|255|65535|\[0, 1\]|NaN|empty|floating"
_IMAGE_ENTRY = {
    "patch whitening": lambda x: __import__("localbook.images.patches", fromlist=["x"]).PatchWhitening()
                                 .fit_images(x, patch_size=3).transform(
                                     __import__("localbook.images.patches", fromlist=["x"]).extract_patches(
                                         x, 3).reshape(-1, x.shape[1] * 9)[:8]).sum().item(),
    "VGG features": lambda x: float(sum(v.abs().sum() for v in __import__("localbook.art.vgg", fromlist=["x"])
                                        .load_vgg16("random")(x).values())),
    "scattering 2-D": lambda x: __import__("localbook.images.scattering_cnn", fromlist=["x"]).ScatteringFrontEnd(
        J=2, shape=(16, 16), L=4, max_order=1)(x).sum().item(),
}
for _entry, _fn in _IMAGE_ENTRY.items():
    for _kind in ("uint8", "0-255 floats", "16-bit floats", "nan pixel", "empty batch"):
        case("images", f"{_entry}: {_kind}", _IMAGE_CLEAR)((lambda fn, kind: lambda: fn(_images(kind)))(_fn, _kind))


@case("images", "art.images.from_array: 16-bit image (read as 16-bit)", r"16-bit|65535|uint16|range",
      correct=lambda r: abs(r - 0.5) < 0.05)
def _from_array_16():
    import numpy as np

    from localbook.art.images import from_array

    return from_array((np.random.default_rng(0).random((16, 16, 3)) * 65535).astype(np.uint16)).mean().item()


@case("images", "art.images.from_array: 0-255 floats", r"255|range|\[0, 1\]")
def _from_array_255():
    import numpy as np

    from localbook.art.images import from_array

    return from_array(np.random.default_rng(0).random((16, 16, 3)) * 255).mean().item()


# ---------------------------------------------------------------------------------------------------------------
# cache


def _tmp():
    return Path(tempfile.mkdtemp(prefix="census-"))


@case("cache", "a torch.device among the parameters hits the second time", correct=lambda r: r == 1)
def _device_key():
    import numpy as np
    import torch

    from localbook.data.cache import ArrayCache

    cache, calls = ArrayCache(_tmp()), []
    for _ in range(2):
        cache.get_or_compute("f", lambda: calls.append(1) or {"x": np.ones(2)}, inputs=[1],
                             params={"device": torch.device("cpu")})
    return len(calls)


@case("cache", "an ase.Atoms per-atom array changes -> recomputed", correct=lambda r: r == 2)
def _atoms_arrays_key():
    import numpy as np
    from ase.build import molecule

    from localbook.data.cache import ArrayCache

    cache, calls = ArrayCache(_tmp()), []
    a = molecule("H2O")
    for tags in ([0, 0, 0], [0, 1, 0]):
        a.set_tags(tags)
        cache.get_or_compute("f", lambda: calls.append(1) or {"x": np.ones(2)}, inputs=[a])
    return len(calls)


@case("cache", "an object without content description in the key", r"cannot fingerprint")
def _opaque_key():
    from localbook.data.cache import ArrayCache

    return ArrayCache(_tmp()).get_or_compute("f", lambda: {"x": [1.0]}, inputs=[object()])


@case("cache", "LOCALBOOK_CACHE=OFF creates no folder", correct=lambda r: r is False)
def _cache_off():
    from localbook.data.cache import ArrayCache

    os.chdir(_tmp())
    os.environ["LOCALBOOK_CACHE"] = "OFF"
    try:
        ArrayCache().get_or_compute("f", lambda: {"x": [1.0]}, inputs=[1])
    finally:
        del os.environ["LOCALBOOK_CACHE"]
    return Path("OFF").exists()


@case("cache", "read-only cache folder: result returned", correct=lambda r: r == [1.0])
def _cache_unwritable():
    import warnings

    from localbook.data.cache import ArrayCache

    blocker = _tmp() / "file"
    blocker.write_text("x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ArrayCache(blocker).get_or_compute("f", lambda: {"x": [1.0]}, inputs=[1])["x"].tolist()


@case("cache", "a flipped byte in an entry is recomputed", correct=lambda r: r == (2, [3.0]))
def _cache_flip():
    import warnings

    from localbook.data.cache import ArrayCache

    root = _tmp()
    cache, calls = ArrayCache(root), []
    cache.get_or_compute("f", lambda: calls.append(1) or {"x": [3.0]}, inputs=[1])
    (f,) = root.glob("*.npz")
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    f.write_bytes(bytes(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = cache.get_or_compute("f", lambda: calls.append(1) or {"x": [3.0]}, inputs=[1])
    return len(calls), out["x"].tolist()


# ---------------------------------------------------------------------------------------------------------------
# loaders


def _qm9_copy(change):
    from localbook.data.qm9 import QM9_FILES, load_qm9_molecules
    from localbook.data.registry import locate

    src, d = locate("qm9"), _tmp()
    for k, name in enumerate(QM9_FILES):
        data = b"\n".join((src / name).read_bytes().split(b"\n")[:20]) + b"\n"
        (d / name).write_bytes(change(k, data))
    return load_qm9_molecules(path=d)


_QM9_REFERENCE = []


def _qm9_same(mols):
    if not _QM9_REFERENCE:
        _QM9_REFERENCE.append(_qm9_copy(lambda k, b: b))
    ref = _QM9_REFERENCE[0]
    return list(mols.qm9_id) == list(ref.qm9_id) and (mols.atomization_energy_kcal_mol ==
                                                      ref.atomization_energy_kcal_mol).all()


case("loaders", "QM9: an empty CSV file", r"qm9_part2.csv is empty.*reinstall")(
    lambda: _qm9_copy(lambda k, b: b"" if k == 1 else b))
case("loaders", "QM9: a non-UTF-8 row", r"line \d+ is not UTF-8")(
    lambda: _qm9_copy(lambda k, b: b.replace(b"[", b"[\xff", 2) if k == 0 else b))
case("loaders", "QM9: a truncated file", r"malformed QM9 row at qm9_part3.csv line")(
    lambda: _qm9_copy(lambda k, b: b[: len(b) // 2] if k == 2 else b))
case("loaders", "QM9: Windows line endings", correct=_qm9_same)(
    lambda: _qm9_copy(lambda k, b: b.replace(b"\n", b"\r\n")))
case("loaders", "QM9: a UTF-8 byte-order mark", correct=_qm9_same)(
    lambda: _qm9_copy(lambda k, b: b"\xef\xbb\xbf" + b))


@case("loaders", "CIFAR-10: a crafted pickle in $LOCALBOOK_DATA", r"not the published data")
def _cifar_pickle():
    import pickle

    from localbook.data.images import load_cifar10

    root = _tmp()
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    for name in ["data_batch_1", "test_batch", "batches.meta"]:
        (folder / name).write_bytes(pickle.dumps({"data": [], "labels": []}))
    os.environ["LOCALBOOK_DATA"] = str(root)
    return load_cifar10("test")


@case("loaders", "a shipped artefact with a flipped byte", r"corrupted or was regenerated")
def _artefact_flip():
    from localbook.data import artefacts

    a = artefacts.artefact("carbon_quick")
    copy = _tmp()
    (copy / a.path).parent.mkdir(parents=True)
    raw = bytearray(a.file.read_bytes())
    raw[100] ^= 1
    (copy / a.path).write_bytes(bytes(raw))
    artefacts.PACKAGE_ROOT = copy
    return artefacts.verified_path("carbon_quick")


# ---------------------------------------------------------------------------------------------------------------
# parameters


@case("parameters", "papermill -p plt 3 in a chapter that imports pyplot as plt", r"-p plt .*ignored")
def _injected_plt():
    import types

    from localbook.checks import check_injected_names

    ns = {"In": ["# Parameters\nplt = 3\n", "import matplotlib.pyplot as plt"], "plt": types.ModuleType("pyplot")}
    return check_injected_names(ns)


@case("parameters", "scattering spacing=inf", r"spacing")
def _spacing_inf():
    from ase.build import molecule

    from localbook.scattering3d import SolidHarmonicScattering

    return SolidHarmonicScattering(J=1, L=1, qs=(1.0,), spacing=float("inf"), max_order=1, device="cpu").fit_transform(
        [molecule("H2O")]).sum()


@case("parameters", "scattering qs=[nan]", r"\bqs?\b|power")
def _qs_nan():
    from ase.build import molecule

    from localbook.scattering3d import SolidHarmonicScattering

    return SolidHarmonicScattering(J=1, L=1, qs=[float("nan")], max_order=1, device="cpu").fit_transform(
        [molecule("H2O")]).sum()


@case("parameters", "AFS r_cut=nan", r"r_cut")
def _rcut_nan():
    from ase.build import bulk

    from localbook.atoms.afs import AFSDescriptor

    return AFSDescriptor(n_max=4, l_max=2, r_cut=float("nan")).fit_transform([bulk("Fe", cubic=True)]).sum()


# ---------------------------------------------------------------------------------------------------------------
# running


def _worker(start: int, memory_gb: float) -> None:
    import resource
    import traceback
    import warnings

    if memory_gb > 0:
        limit = int(memory_gb * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")
    os.environ.setdefault("LOCALBOOK_CACHE", "off")
    for i in range(start, len(CASES)):
        c = CASES[i]
        print(json.dumps({"index": i, "started": True}), flush=True)
        t0 = time.perf_counter()
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        try:
            result = c.run()
        except BaseException as err:  # noqa: BLE001 - classify everything
            msg = f"{type(err).__name__}: {err}"
            outcome = "clear error" if c.clear and re.search(c.clear, str(err), re.I | re.S) else "unclear error"
            detail = msg
            if outcome == "unclear error":
                tb = traceback.extract_tb(err.__traceback__)
                detail += f"  [at {tb[-1].filename.split('site-packages/')[-1]}:{tb[-1].lineno}]" if tb else ""
        else:
            ok = c.correct is not None and bool(c.correct(result))
            outcome = "correct" if ok else "silent"
            detail = f"returned {result!r}"[:200]
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        detail = " ".join(detail.split())
        print(json.dumps({"index": i, "outcome": outcome, "detail": detail[:400],
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose 'group: name' contains this")
    parser.add_argument("--json", type=Path, help="write the outcomes here")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per case before it counts as a hang")
    parser.add_argument("--memory-gb", type=float, default=8.0)
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.memory_gb)
        return 0
    selected = [i for i, c in enumerate(CASES) if args.only.lower() in f"{c.group}: {c.name}".lower()]
    outcomes: dict[int, dict] = {}
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "LOCALBOOK_CACHE": "off"}
    todo = list(selected)
    while todo:
        start = todo[0]
        # a worker runs the contiguous cases from `start`; the selection is contiguous ranges in practice
        proc = subprocess.Popen([sys.executable, __file__, "--worker", str(start), "--memory-gb", str(args.memory_gb)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
        current, deadline = None, time.monotonic() + args.timeout
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                proc.kill()
                if current is not None:
                    outcomes[current] = {"outcome": "crash", "detail": f"hung for more than {args.timeout:.0f} s"}
                break
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                if current is not None:
                    outcomes[current] = {"outcome": "crash", "detail": f"worker died (exit status {proc.returncode})"}
                break
            msg = json.loads(line)
            if msg.get("started"):
                current, deadline = msg["index"], time.monotonic() + args.timeout
                if current not in selected:  # past the selection
                    proc.kill()
                    current = None
                    break
                continue
            outcomes[msg["index"]] = msg
            c = CASES[msg["index"]]
            print(f"{msg['outcome']:14s} {c.group}: {c.name}  -- {msg['detail'][:160]}", flush=True)
            current = None
        todo = [i for i in selected if i not in outcomes]
        if todo and todo[0] == start and start not in outcomes:  # pragma: no cover - defensive
            outcomes[start] = {"outcome": "crash", "detail": "worker failed to start"}
            todo = todo[1:]
        for i in list(outcomes):
            if outcomes[i]["outcome"] == "crash" and "printed" not in outcomes[i]:
                c = CASES[i]
                print(f"{'crash':14s} {c.group}: {c.name}  -- {outcomes[i]['detail']}", flush=True)
                outcomes[i]["printed"] = True
    counts: dict[str, int] = {}
    for o in outcomes.values():
        counts[o["outcome"]] = counts.get(o["outcome"], 0) + 1
    order = ["clear error", "correct", "unclear error", "silent", "crash"]
    print(f"\ntried {len(outcomes)}: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in order))
    if args.json:
        args.json.write_text(json.dumps({"counts": counts, "cases": [
            {"group": CASES[i].group, "name": CASES[i].name, **{k: v for k, v in o.items() if k != "printed"}}
            for i, o in sorted(outcomes.items())]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
