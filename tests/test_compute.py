"""localbook.compute: chunked, cached, resumable descriptor computation, sharded with torchrun."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

from localbook.compute import cached_transform
from localbook.data import ArrayCache

TESTS = Path(__file__).resolve().parent


class Counting(TransformerMixin, BaseEstimator):
    """Rows (len(atoms)^power, mean Z, a quantity set by fit); counts transform calls and items."""

    calls: list[int] = []

    def __init__(self, power=1.0, device="cpu"):
        self.power = power
        self.device = device

    def fit(self, atoms, y=None):
        self.largest_ = max(len(a) for a in atoms)  # a fitted state that depends on every item
        return self

    def transform(self, atoms):
        type(self).calls.append(len(atoms))
        return np.array([[len(a) ** self.power, a.numbers.mean(), self.largest_] for a in atoms])


def _molecules(n):
    from ase.build import molecule

    names = ["H2O", "CH4", "NH3", "C2H6", "CO2", "HCN", "C6H6", "CH3OH"]
    return [molecule(names[i % len(names)]) for i in range(n)]


def test_chunks_equal_the_whole_and_are_read_back(tmp_path):
    cache = ArrayCache(tmp_path)
    mols = _molecules(11)
    Counting.calls = []
    X, cost = cached_transform(Counting(), mols, "toy", cache=cache, chunk_size=4, progress=False)
    np.testing.assert_array_equal(X, Counting().fit(mols).transform(mols))
    assert Counting.calls[:-1] == [4, 4, 3] and cost >= 0
    Counting.calls = []
    X2, cost2 = cached_transform(Counting(device="cuda"), mols, "toy", cache=cache, chunk_size=4, progress=False)
    assert Counting.calls == [] and cost2 == cost  # the device changes how, not what: same key, read back
    np.testing.assert_array_equal(X, X2)
    cached_transform(Counting(power=2.0), mols, "toy", cache=cache, chunk_size=4, progress=False)
    assert Counting.calls == [4, 4, 3]  # a parameter changed: every chunk recomputed
    Counting.calls = []
    moved = [m.copy() for m in mols]
    moved[10].positions[0, 0] += 0.1
    cached_transform(Counting(), moved, "toy", cache=cache, chunk_size=4, progress=False)
    assert Counting.calls == [4, 4, 3]  # one structure moved: the fit saw it, so every chunk is recomputed
    with pytest.raises(ValueError, match="at least one item"):
        cached_transform(Counting(), [], "toy", cache=cache)
    with pytest.raises(ValueError, match="chunk_size"):
        cached_transform(Counting(), mols, "toy", cache=cache, chunk_size=0)


def test_a_stopped_run_resumes_without_recomputing_finished_chunks(tmp_path):
    cache = ArrayCache(tmp_path)
    mols = _molecules(10)

    class Failing(Counting):
        def transform(self, atoms):
            if len(type(self).calls) == 2:
                raise KeyboardInterrupt("stopped half-way")
            return super().transform(atoms)

    Counting.calls = []
    with pytest.raises(KeyboardInterrupt):
        cached_transform(Failing(), mols, "toy", cache=cache, chunk_size=3, progress=False)
    Counting.calls = []
    X, _ = cached_transform(Failing(), mols, "toy", cache=cache, chunk_size=3, progress=False)
    assert Counting.calls == [3, 1]  # the two finished chunks were read back
    np.testing.assert_array_equal(X, Counting().fit(mols).transform(mols))


def _compute(tmp_path, cache, *extra, nproc=1, die_at_call=0):
    env = {**os.environ, "LOCALBOOK_CACHE": str(cache), "PYTHONPATH": str(TESTS), "DIE_AT_CALL": str(die_at_call),
           "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"] \
        if nproc > 1 else [sys.executable]
    cmd = [*launcher, "-m", "localbook.compute", "compute_jobs:qm9_scattering", "--set", "n=24",
           "--chunk-size", "4", *extra]
    return subprocess.run(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600)


def _items_computed(output: str) -> int:
    # the ranks share one stdout pipe, so one rank's report can land on the same line as another's: match, not split
    return sum(int(n) for n in re.findall(r"(\d+) items to compute here", output))


@pytest.mark.slow
def test_torchrun_two_processes_equal_one_and_resume_after_a_kill(tmp_path):
    single = _compute(tmp_path, tmp_path / "cache1", "--out", str(tmp_path / "one.npy"))
    assert single.returncode == 0, single.stdout
    assert _items_computed(single.stdout) == 24
    # two gloo processes, each killed (SIGKILL) when it starts its second chunk of 4 molecules
    killed = _compute(tmp_path, tmp_path / "cache2", "--out", str(tmp_path / "two.npy"), nproc=2, die_at_call=2)
    assert killed.returncode != 0 and not (tmp_path / "two.npy").exists(), killed.stdout
    resumed = _compute(tmp_path, tmp_path / "cache2", "--out", str(tmp_path / "two.npy"), nproc=2)
    assert resumed.returncode == 0, resumed.stdout
    # at least one chunk finished before the kill was kept (two when both ranks got that far)
    assert 24 - 2 * 4 <= _items_computed(resumed.stdout) <= 24 - 4, resumed.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy"))


def test_estimate_times_the_first_items_only(tmp_path):
    from localbook.compute import estimate_transform

    Counting.calls = []
    cost = estimate_transform(Counting(), _molecules(40), n_probe=5)
    assert Counting.calls == [5] and cost["n_items"] == 40 and cost["n_features"] == 3
    assert cost["total_seconds"] == pytest.approx(40 * cost["seconds_per_item"])
    out = _compute(tmp_path, tmp_path / "cache", "--estimate", "4")
    assert out.returncode == 0 and "ms per item on the first 4 -> about" in out.stdout, out.stdout
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())  # nothing cached
