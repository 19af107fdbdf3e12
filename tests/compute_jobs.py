"""Jobs for tests/test_compute.py, importable by the processes that ``torchrun`` starts (``PYTHONPATH=tests``)."""
from __future__ import annotations

import os
import signal

from localbook.scattering3d import SolidHarmonicScattering


class KillableScattering(SolidHarmonicScattering):
    """The chapter-02 scattering; with ``$DIE_AT_CALL = k`` the process kills itself (SIGKILL, as an out-of-memory
    killer or a cluster's time limit would) at its k-th chunk: a run stopped half-way."""

    calls = 0

    def transform(self, structures):
        type(self).calls += 1
        if type(self).calls == int(os.environ.get("DIE_AT_CALL", "0")):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().transform(structures)


def qm9_scattering(n: int = 24, seed: int = 0, device: str = "cpu"):
    """A small chapter-02 descriptor job: ``n`` QM9 molecules, three channels, orders 0-2 on a coarse grid."""
    from localbook.data.qm9 import load_qm9_molecules

    mols = load_qm9_molecules(n=n, seed=seed)
    scattering = KillableScattering(J=1, L=[0, 1], qs=[1.0, 2.0], sigma=0.8, spacing=0.8, margin=2.0,
                                channels=("Z", "valence", "core"), max_order=2, device=device)
    return scattering, mols.atoms, "test_qm9_scattering"
