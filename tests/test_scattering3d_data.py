"""Tests of the QM9 loader and of the chapter-01 helpers that need real molecules."""
import math

import numpy as np
import pytest

from localbook.data import DataUnavailableError
from localbook.scattering3d import aliasing


def _qm9(n):
    from localbook.data.qm9 import load_qm9
    try:
        return load_qm9(n)
    except DataUnavailableError as exc:  # pragma: no cover - depends on the environment
        pytest.skip(str(exc))


def test_load_qm9_first_molecules():
    mols = _qm9(3)
    assert [m.get_chemical_formula() for m in mols] == ["CH4", "H3N", "H2O"]
    assert mols[0].info["index"] == 1 and mols[0].info["U0_hartree"] == pytest.approx(-40.47893)
    d = mols[0].get_distances(0, [1, 2, 3, 4])
    np.testing.assert_allclose(d, 1.09, atol=0.01)  # C-H bonds in Å


def test_load_qm9_bad_arguments():
    from localbook.data.qm9 import load_qm9
    with pytest.raises(ValueError, match="part="):
        load_qm9(3, part=4)
    with pytest.raises(ValueError, match="n="):
        load_qm9(0)


def test_density_slice_integrates_to_the_charge_in_the_plane():
    from ase import Atoms
    # one atom at the centroid: the slice through it is a 2-D Gaussian of integral Z / (sqrt(2 pi) sigma)
    h2 = Atoms("He", positions=[[0.0, 0.0, 0.0]])
    sl, ext = aliasing.density_slice(h2, sigma=0.3, spacing=0.05, margin=2.0)
    area = ((ext[1] - ext[0]) / (sl.shape[1] - 1)) * ((ext[3] - ext[2]) / (sl.shape[0] - 1))
    assert sl.sum() * area == pytest.approx(2 / (math.sqrt(2 * math.pi) * 0.3), rel=1e-3)


def test_nyquist_face_modulus_reads_the_envelope():
    w = np.arange(10) * 1.0
    env = 10.0 ** -w
    assert aliasing.nyquist_face_modulus(w, env, side=math.pi, n_points=4) == pytest.approx(1e-4)
    assert aliasing.nyquist_face_modulus(w, env, side=math.pi, n_points=40) is None
