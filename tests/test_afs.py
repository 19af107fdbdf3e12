"""AFS descriptor: orthonormal radial basis, a naive triple loop, invariances, extensivity, sklearn API."""
import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk
from sklearn.base import clone

import localbook  # noqa: F401
from localbook.atoms.afs import AFSDescriptor, afs_per_atom, radial_basis


def _cluster(seed=0, n=7):
    rng = np.random.default_rng(seed)
    return Atoms("Fe" * n, positions=rng.uniform(0, 4.0, (n, 3)))


def _naive(atoms, n_max, l_max, r_cut):
    pos = atoms.positions
    out = np.zeros((len(atoms), n_max, l_max + 1))
    for i in range(len(atoms)):
        nb = [j for j in range(len(atoms)) if j != i and np.linalg.norm(pos[j] - pos[i]) < r_cut]
        for a, j in enumerate(nb):
            for k in nb[a + 1:]:
                dj, dk = pos[j] - pos[i], pos[k] - pos[i]
                rj, rk = np.linalg.norm(dj), np.linalg.norm(dk)
                th = np.arccos(np.clip(dj @ dk / rj / rk, -1, 1))
                gj = radial_basis([rj], n_max, r_cut).numpy()[0] * 0.5 * (1 + np.cos(np.pi * rj / r_cut))
                gk = radial_basis([rk], n_max, r_cut).numpy()[0] * 0.5 * (1 + np.cos(np.pi * rk / r_cut))
                out[i] += np.outer(gj * gk, np.cos(np.arange(l_max + 1) * th))
    return out.reshape(len(atoms), -1)


def test_radial_basis_orthonormal():
    r = torch.linspace(0, 5, 20001, dtype=torch.float64)
    g = radial_basis(r, 20, 5.0)
    gram = torch.trapezoid(g[:, :, None] * g[:, None, :] * (r ** 2)[:, None, None], r, dim=0)
    assert float((gram - torch.eye(20, dtype=torch.float64)).abs().max()) < 1e-8
    assert float(radial_basis(torch.tensor([5.0, 6.0]), 20, 5.0).abs().max()) == 0.0


def test_matches_naive_triple_loop():
    at = _cluster()
    ref = _naive(at, 6, 4, 3.5)
    got = afs_per_atom(at, 6, 4, 3.5).numpy()
    assert np.abs(got - ref).max() < 1e-10 * max(1.0, np.abs(ref).max())
    assert np.abs(ref).max() > 0


def test_invariances_and_extensivity():
    at = _cluster(1, 9)
    d0 = AFSDescriptor(5, 6, 3.5).transform([at])[0]
    rot = at.copy()
    rot.rotate(37, (1, 2, 3), center="COM")
    rot.translate((0.3, -1.0, 2.0))
    perm = at[np.random.default_rng(0).permutation(len(at))]
    for other in (rot, perm):
        assert np.allclose(AFSDescriptor(5, 6, 3.5).transform([other])[0], d0, atol=1e-10)
    cell = bulk("Fe", "bcc", 2.86, cubic=True).repeat(2)
    cell.positions += np.random.default_rng(2).normal(0, 0.05, cell.positions.shape)
    one, eight = AFSDescriptor().transform([cell, cell.repeat(2)])
    assert np.allclose(eight, 8 * one, rtol=1e-9)


def test_sklearn_api_and_shape():
    desc = AFSDescriptor()
    assert desc.get_feature_names_out().shape == (220,)
    assert clone(desc).get_params()["n_max"] == 20
    x = desc.fit_transform([bulk("Fe", "bcc", 2.8553, cubic=True).repeat(2)])
    assert x.shape == (1, 220)
    with pytest.raises(TypeError, match="list of ase.Atoms"):
        desc.transform(bulk("Fe", "bcc", 2.86, cubic=True))
    with pytest.raises(ValueError, match="n_max"):
        afs_per_atom(_cluster(), 0, 3, 3.0)


def test_minimum_image_neighbours_match_ase_and_small_afs_is_a_truncation():
    from ase.build import bulk
    from ase.neighborlist import neighbor_list
    from localbook.atoms.afs import afs_columns, afs_per_atom, neighbour_vectors
    at = bulk("Fe", "bcc", 2.86, cubic=True).repeat(4)
    at.positions += np.random.default_rng(0).normal(0, 0.1, at.positions.shape)
    narrow = bulk("Fe", "bcc", 2.86, cubic=True).repeat(3)           # 8.6 A < 2 r_cut: ASE's route
    narrow.positions += np.random.default_rng(1).normal(0, 0.1, narrow.positions.shape)
    for cell in (at, narrow):
        i, d = neighbour_vectors(cell, 5.0)
        i_ase, d_ase = neighbor_list("iD", cell, 5.0)
        key = lambda ii, dd: sorted(zip(ii.tolist(), np.round(dd, 8).tolist()))  # noqa: E731
        assert key(i.numpy(), d.numpy()) == key(i_ase, d_ase)
    full = afs_per_atom(at, n_max=8, l_max=6)
    small = afs_per_atom(at, n_max=3, l_max=2)
    assert np.allclose(full[:, afs_columns(8, 6, 3, 2)].numpy(), small.numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="within"):
        afs_columns(8, 6, 9, 2)
