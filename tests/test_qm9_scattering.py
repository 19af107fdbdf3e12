"""localbook.atoms.qm9_scattering: the sampling protocol, boxes fitted to each molecule, rotation drift, composition
recovery."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
from ase.build import molecule
from sklearn.linear_model import LinearRegression

from localbook.atoms import qm9_scattering as chapter
from localbook.scattering3d import check_conditions

needs_qm9pack = pytest.mark.skipif(importlib.util.find_spec("qm9pack") is None,
                                   reason="PyPI qm9pack (the QM9 CSV files) is not installed")


def test_protocol_meets_both_conditions_on_the_closest_pair():
    p = chapter.sampling_protocol(J=2, eps_o=0.1, eps_a=1e-3)
    assert p.sigma == pytest.approx(0.9586 / math.sqrt(-8 * math.log(0.1)))  # thesis eq. 2.3
    assert p.widest_wavelet == pytest.approx(4 * 0.5 * p.sigma) and p.margin >= p.widest_wavelet
    # two atoms at QM9's closest distance, 29-atom aliasing bound: both precisions are met, and only just
    rep = check_conditions(molecule("H2O"), p.sigma, p.spacing, eps_a=1e-3, eps_o=0.1)
    assert rep.overlap_ok and rep.eps_o < 0.1
    assert 29 * math.exp(-0.5 * (math.pi * p.sigma / p.spacing) ** 2) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="margin"):
        chapter.sampling_protocol(J=2, eps_o=0.1, eps_a=1e-3, margin_widths=0.5)
    with pytest.raises(ValueError, match="precisions"):
        chapter.sampling_protocol(J=2, eps_o=1.5, eps_a=1e-3)


def test_qm9_scattering_refuses_a_molecule_closer_than_qm9s_closest_pair():
    shs = chapter.qm9_scattering(J=1, ls=[0], qs=[1.0], eps_o=0.1, eps_a=1e-3, max_order=1, grid="box")
    squeezed = molecule("H2O")
    squeezed.positions *= 0.9  # O-H 0.87 Å, below QM9's 0.9586 Å
    with pytest.raises(ValueError, match="overlap"):
        shs.fit([squeezed])


class _Positions:
    """A transformer that is not rotation invariant (flattened x coordinates): the drift must see it."""

    def transform(self, structures):
        return np.stack([np.sort(a.positions[:, 0])[:3] for a in structures])


def test_rotation_drift_is_zero_for_invariants_and_not_otherwise():
    from localbook.atoms.qm9_baselines import ElementCounts

    mols = [molecule(n) for n in ("CH4", "CH3OH", "C2H6", "CH3CH2OH", "HCOOH")]
    rng = np.random.default_rng(0)
    y = rng.normal(size=5)
    counts = ElementCounts().fit(mols)
    model = LinearRegression().fit(counts.transform(mols), y)
    assert np.all(chapter.rotation_drift(model, counts, mols, rng) < 1e-9)
    pos = _Positions()
    model = LinearRegression().fit(pos.transform(mols), y)
    assert chapter.rotation_drift(model, pos, mols, rng).max() > 1e-3


def test_composition_recovery():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 10, (200, 5)).astype(float)
    assert chapter.composition_recovery(counts @ rng.normal(size=(5, 12)), counts).max() < 1e-8
    assert chapter.composition_recovery(rng.normal(size=(200, 12)), counts).min() > 1.0


@needs_qm9pack
@pytest.mark.slow
def test_qm9_extremes_are_the_data():
    from localbook.data.qm9 import load_qm9_molecules

    mols = load_qm9_molecules(as_atoms=False)
    dmin, radius = np.inf, 0.0
    for a, b in zip(mols.offsets[:-1], mols.offsets[1:]):
        p = mols.positions_angstrom[a:b]
        d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.eye(len(p)) * 1e9
        dmin = min(dmin, d.min())
        radius = max(radius, np.linalg.norm(p - p.mean(0), axis=1).max())
    assert dmin == pytest.approx(chapter.QM9_MIN_DISTANCE_ANGSTROM, abs=1e-4)
    assert radius == pytest.approx(chapter.QM9_MAX_RADIUS_ANGSTROM, abs=1e-3)
    assert mols.n_atoms.max() == chapter.QM9_MAX_ATOMS


def test_molecule_boxes_give_the_shared_box_coefficients():
    shared = chapter.qm9_scattering(J=1, ls=[0, 1], qs=[0.5, 1.0, 2.0], eps_o=0.5, eps_a=1e-2, margin_widths=3.0,
                                    grid="box")
    mols = [molecule(n) for n in ("H2O", "CH4", "CH3CH2OH", "C6H6")]
    single = shared.fit(mols).transform(mols)
    own = chapter.qm9_scattering(J=1, ls=[0, 1], qs=[0.5, 1.0, 2.0], eps_o=0.5, eps_a=1e-2, margin_widths=3.0)
    own.fit(mols)
    sizes = chapter.box_sizes(own, mols)
    assert len(set(sizes)) > 1 and max(sizes) <= shared.grid_shape_[0]  # the small molecules get smaller boxes
    assert set(chapter.box_sizes(shared, mols)) == {shared.grid_shape_[0]}
    out = own.transform(mols)
    # integer powers agree to the periodic-image error of a 3-width margin; q = 1/2 integrals also sum the
    # density's ringing (eps_a) over the empty part of the box, so they depend on the box at the 1e-2 level
    whole = np.array(["_q0.5" not in name for name in shared.get_feature_names_out()])
    rel = np.abs(out - single).max(axis=0) / np.abs(single).max(axis=0)
    assert rel[whole].max() < 5e-3 and rel[~whole].max() < 0.05
    assert list(own.get_feature_names_out()) == list(shared.get_feature_names_out())


@needs_qm9pack
@pytest.mark.slow
def test_rotation_noise_of_the_coefficients_shrinks_with_margin_and_wavelet_width():
    # measured in the progress notes on 8 molecules: the quick sampling changes coefficients by up to ~2e-2 of
    # their range under a rotation; wavelets as wide as the Gaussians and a 3-width margin bring it under 1e-3
    from scipy.spatial.transform import Rotation

    from localbook.data.qm9 import load_qm9_molecules

    mols = load_qm9_molecules(n=1000, seed=0).atoms[:3]
    rng = np.random.default_rng(0)
    turned = []
    for a in mols:
        b = a.copy()
        c = b.positions.mean(0)
        b.positions = (b.positions - c) @ Rotation.random(random_state=rng).as_matrix().T + c
        turned.append(b)

    def noise(**kw):
        shs = chapter.qm9_scattering(J=2, ls=[1, 2], eps_o=0.5, eps_a=1e-3, orientation="as_given", **kw).fit(mols)
        X = shs.transform(mols + turned)
        return (np.abs(X[3:] - X[:3]) / np.abs(X[:3]).max(0)).max()

    coarse = noise(qs=[1.0, 2.0], sigma_w_ratio=0.5, margin_widths=1.0)
    clean = noise(qs=[1.0, 2.0], sigma_w_ratio=1.0, margin_widths=3.0)
    assert clean < 2e-3 and clean < coarse / 5, (coarse, clean)  # measured: 1.5e-2 and 8.1e-4



def _turned(mols, rng):
    from scipy.spatial.transform import Rotation

    out = []
    for a in mols:
        b = a.copy()
        b.positions = (b.positions - b.positions.mean(0)) @ Rotation.random(random_state=rng).as_matrix().T + 3.0
        out.append(b)
    return out


def test_principal_frame_makes_the_sampled_coefficients_rotation_invariant():
    # molecules with three distinct moments of inertia: the frame is unique up to the axes' signs, which a cubic
    # grid centred on the molecule and the modulus over m do not see; as given, the same sampling moves them
    mols = [molecule(n) for n in ("CH3CH2OH", "HCOOH", "CH3COOH")]
    turned = _turned(mols, np.random.default_rng(0))

    def change(orientation):
        shs = chapter.qm9_scattering(J=1, ls=[1, 2], qs=[1.0, 2.0], eps_o=0.5, eps_a=1e-2, sigma_w_ratio=1.0,
                                     margin_widths=1.5, orientation=orientation).fit(mols)
        X = shs.transform(mols + turned)
        return (np.abs(X[3:] - X[:3]) / np.abs(X[:3]).max(0)).max()

    principal, as_given = change("principal"), change("as_given")
    assert principal < 1e-5 and as_given > 100 * principal, (principal, as_given)


def test_principal_frame_is_a_rotation_into_increasing_spread():
    from localbook.scattering3d.frontend import principal_frame

    a = molecule("CH3CH2OH")
    x = principal_frame(a.positions, a.get_masses())
    m = a.get_masses()
    assert np.allclose((m[:, None] * x).sum(0), 0, atol=1e-12)  # centred on the centre of mass
    second = (m[:, None, None] * x[:, :, None] * x[:, None, :]).sum(0)
    assert np.allclose(second, np.diag(np.diag(second)), atol=1e-9)  # diagonal: the principal axes
    assert np.all(np.diff(np.diag(second)) >= 0)
    # a proper rotation of the centred positions: distances and handedness kept
    c = a.positions - (m[:, None] * a.positions).sum(0) / m.sum()
    rot, *_ = np.linalg.lstsq(c, x, rcond=None)
    assert np.allclose(rot.T @ rot, np.eye(3), atol=1e-9) and np.linalg.det(rot) > 0


def test_principal_frame_refuses_periodic_cells():
    from ase.build import bulk

    from localbook.scattering3d import SolidHarmonicScattering

    with pytest.raises(ValueError, match="orientation='as_given'"):
        SolidHarmonicScattering(J=1, L=1, sigma=0.5, grid="cell", orientation="principal").fit([bulk("C", cubic=True)])


@needs_qm9pack
@pytest.mark.slow
def test_quick_predictions_move_less_than_1_kcal_mol_under_rotations():
    # issue 17's done-when: a ridge on the chapter's quick descriptor, 200 training molecules, its predictions on
    # 40 held-out molecules each turned by two random rotations. Measured (/work/scratch/s7/drift_check.py): mean
    # 0.003, largest 0.012 kcal/mol with the principal frame; 2.04 and 7.77 with orientation="as_given"
    from localbook.chapters.ch02_qm9_regression import PRESETS
    from localbook.data.qm9 import load_qm9_molecules
    from localbook.regression import make_linear

    v = PRESETS.values("quick")
    mols = load_qm9_molecules(n=240, seed=3)
    atoms, y = list(mols.atoms), np.asarray(mols.atomization_energy_kcal_mol)
    shs = chapter.qm9_scattering(v["J"], v["ls"], v["qs"], v["eps_o"], v["eps_a"], v["sigma_w_ratio"],
                                 v["margin_widths"], max_order=v["max_order"], orientation=v["orientation"],
                                 resolution=v["resolution"], device="cpu").fit(atoms)
    model = make_linear().fit(shs.transform(atoms[:200]), y[:200])
    rng = np.random.default_rng(0)
    drift = np.concatenate([chapter.rotation_drift(model, shs, atoms[200:], rng) for _ in range(2)])
    assert drift.max() < 1.0, (drift.mean(), drift.max())


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu_with_the_principal_frame():
    mols = [molecule(n) for n in ("CH3CH2OH", "HCOOH", "C6H6", "CH4")]
    kw = dict(J=2, ls=[1, 2], qs=[1.0, 2.0], eps_o=0.5, eps_a=1e-2, sigma_w_ratio=1.0, margin_widths=3.0)
    for resolution in ("exact", "multi"):
        cpu = chapter.qm9_scattering(**kw, resolution=resolution, device="cpu").fit(mols).transform(mols)
        gpu = chapter.qm9_scattering(**kw, resolution=resolution, device="cuda").fit(mols).transform(mols)
        assert np.abs(gpu - cpu).max(0).max() <= 1e-4 * np.abs(cpu).max(), resolution
