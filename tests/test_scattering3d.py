"""Tests of localbook.scattering3d: closed forms, invariances, kymatio agreement, the sklearn front end."""
import math

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from localbook.scattering3d import (GridScattering, SolidHarmonicScattering, aliasing, analytic, backend,
                                    check_conditions, filters, kymatio_layout, sampling)

ase = pytest.importorskip("ase")
from ase import Atoms  # noqa: E402
from ase.build import bulk, molecule  # noqa: E402


# ------------------------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("l", range(7))
def test_K_l_normalises_the_wavelet_modulus(l):
    # || (sum_m |psi_lm|^2)^(1/2) ||_1 = K_l sqrt((2l+1)/(4 pi)) 4 pi int r^(l+2) exp(-r^2/2) dr = 1
    radial, _ = quad(lambda r: r ** (l + 2) * math.exp(-r * r / 2), 0, np.inf)
    assert filters.K_l(l) * math.sqrt((2 * l + 1) / (4 * math.pi)) * 4 * math.pi * radial == pytest.approx(1, rel=1e-10)
    assert filters.K_l_thesis(l) / filters.K_l(l) == pytest.approx(math.sqrt(2), rel=1e-12)


@pytest.mark.parametrize("l", [0, 1, 2, 5])
def test_real_solid_harmonics_addition_theorem(l):
    rng = np.random.default_rng(l)
    w = rng.normal(size=(3, 50))
    y = filters.real_solid_harmonics(l, *w)
    r2 = (w ** 2).sum(0)
    np.testing.assert_allclose((y ** 2).sum(0), (2 * l + 1) / (4 * math.pi) * r2 ** l, rtol=1e-10)


def test_conditions_formulas_are_inverse():
    s = sampling.gaussian_width_for_aliasing(20, 1e-4)
    assert sampling.aliasing_precision(20, s) == pytest.approx(1e-4)
    d = sampling.min_distance_for_overlap(0.4, 1e-2)
    assert sampling.overlap_precision(0.4, d) == pytest.approx(1e-2)
    assert sampling.smooth_size(97) == 100 and sampling.smooth_size(7) == 8 and sampling.smooth_size(129) == 135 + 9


def test_density_integrates_to_the_weights():
    pos = torch.tensor([[[1.0, 2.0, 3.0], [4.0, 4.5, 2.0]]], dtype=torch.float64)
    w = torch.tensor([[[6.0, 4.0], [1.0, 1.0]]], dtype=torch.float64)
    g = GridScattering((24, 20, 30), (6.0, 5.0, 7.5), max_order=0, qs=(1.0, 2.0), channels=("a", "b"),
                       dtype=torch.float64)
    s = g.from_hat(backend.density_hat(pos, w, g.shape, g.lengths, 0.4, dtype=torch.float64))
    np.testing.assert_allclose(s[0, :, 0].numpy(), [7.0, 5.0], rtol=1e-8)
    # q = 2 for well-separated Gaussians: sum c_i^2 int g^2
    np.testing.assert_allclose(s[0, :, 1].numpy(), np.array([37.0, 17.0]) * analytic.analytic_order0_integral(0.4, 2.0),
                               rtol=1e-6)


# ------------------------------------------------------------------------------------- single Gaussian
@pytest.mark.parametrize("l", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("j", [0.0, 1.0, 0.5])
def test_single_gaussian_first_order_density_is_analytic(l, j):
    n, box, sigma, sigma_w = 64, 32.0, 1.0, 1.0
    u = aliasing.gaussians_first_order([[0.0, 0.0, 0.0]], l, j, sigma, sigma_w, n, box).numpy()
    x = np.arange(n) * box / n - box / 2
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    ref = analytic.analytic_first_order(r, l, j, sigma, sigma_w)
    assert np.abs(u - ref).max() < 1e-4 * ref.max()


@pytest.mark.parametrize("l", [0, 1, 2, 3])
def test_single_gaussian_integrals_are_analytic(l):
    n, box, sigma, sigma_w, qs = 64, 32.0, 1.0, 1.0, (0.5, 1.0, 2.0, 3.0)
    pos = torch.full((1, 1, 3), box / 2 + 0.3, dtype=torch.float64)  # off the grid points
    g = GridScattering((n,) * 3, (box,) * 3, js=(0.0, 1.0), ls=(l,), qs=qs, sigma_w=sigma_w, max_order=1,
                       dtype=torch.float64)
    s = g.from_hat(backend.density_hat(pos, torch.ones(1, 1, 1, dtype=torch.float64), g.shape, g.lengths, sigma,
                                       dtype=torch.float64))[0, 0].numpy()
    ref = [analytic.analytic_order0_integral(sigma, lab.q) if lab.order == 0 else
           analytic.analytic_first_order_integral(lab.l1, lab.j1, sigma, sigma_w, lab.q) for lab in g.labels]
    first = np.array([lab.order == 1 for lab in g.labels])
    np.testing.assert_allclose(s[first], np.array(ref)[first], rtol=1e-4)
    # order 0, q = 1/2 integrates sqrt(rho) over the whole box, where the band-limited density rings at
    # the 1e-9 level (its spectrum at the Nyquist frequency): sqrt makes that a 3e-4 relative excess.
    np.testing.assert_allclose(s[~first], np.array(ref)[~first], rtol=1e-3)
    k1 = [s[i] for i, lab in enumerate(g.labels) if lab.order == 1 and lab.q == 1.0]
    np.testing.assert_allclose(k1, [(2 ** j / math.sqrt(4 ** j + 1)) ** l for j in (0, 1)], rtol=1e-4)  # k^-l


# --------------------------------------------------------------------------------------------- kymatio
def _random_density(n, n_atoms, spread, seed, sigma=1.5):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.rand(2, n_atoms, 3, generator=gen, dtype=torch.float64) * spread + (n - spread) / 2
    w = 0.5 + torch.rand(2, n_atoms, 1, generator=gen, dtype=torch.float64)
    return backend.to_space(backend.density_hat(pos, w, (n,) * 3, (n,) * 3, sigma), (n,) * 3)[:, 0].contiguous()


@pytest.mark.slow
@pytest.mark.parametrize("dense", [True, False])
def test_agrees_with_kymatio(dense):
    from localbook._compat import use_kymatio

    HarmonicScattering3D = use_kymatio().HarmonicScattering3D
    n, qs = 32, (0.5, 1.0, 2.0, 3.0)
    rho = _random_density(n, 40 if dense else 6, n if dense else n / 2, seed=1)
    ours = GridScattering((n,) * 3, js=(0, 1, 2), ls=(0, 1, 2, 3), qs=qs, include_order0=False)(rho)[:, 0]
    g = GridScattering((n,) * 3, js=(0, 1, 2), ls=(0, 1, 2, 3), qs=qs, include_order0=False)
    kym = kymatio_layout(HarmonicScattering3D(J=2, shape=(n,) * 3, L=3, sigma_0=1, max_order=2,
                                              integral_powers=qs)(rho), g.labels)
    rel = ((ours - kym).abs() / kym.abs()).numpy()
    q = np.array([lab.q for lab in g.labels])
    assert rel[:, q >= 1].max() < 1e-4
    # q = 1/2 integrates sqrt(U) over every voxel: on a mostly empty box the float32 rounding noise of
    # U ~ 1e-7 max(U) far from the atoms contributes sqrt(1e-7) per voxel, in both implementations.
    assert rel[:, q < 1].max() < (1e-4 if dense else 1e-3)


# ------------------------------------------------------------------------------------- filters, backend
@pytest.mark.parametrize("n", [(20, 24, 18), (20, 24, 17)])
def test_paired_filters_give_each_wavelet_convolution(n):
    """One complex inverse FFT per pair of wavelets: real and imaginary parts are the two real convolutions, equal to
    the real inverse FFT of the half spectrum x_hat * psi_hat (with its (-i)^l) for every (l, m) -- even for a half
    spectrum that is not Hermitian on its self-conjugate planes (as densities in closed form are not on the Nyquist
    planes), on even and odd grids: nothing leaks between the two halves."""
    box = (10.0, 12.0, 9.0)
    gen = torch.Generator().manual_seed(0)
    x_half = torch.randn(1, n[0], n[1], n[2] // 2 + 1, dtype=torch.complex128, generator=gen)
    bank = filters.solid_harmonic_filter_bank(n, box, js=(0.5,), ls=(0, 1, 2, 3), sigma_w=0.7, dtype=torch.float64)
    band, group = bank.bands[0.5], bank.all_degrees[0.5]
    z = backend.band_inverse(backend.filtered_band(x_half, band, n, group), band, n)
    got = {l: [] for l in group.ls}
    for p, (la, lb) in enumerate(group.degrees):
        got[la].append(z[0, p].real)
        if lb is not None:
            got[lb].append(z[0, p].imag)
    wx, wy, wz = (w.numpy() for w in filters.frequency_grid(n, box, half=True))
    for l in group.ls:
        psi = torch.as_tensor(filters.wavelet_hat(l, 0.5, 0.7, wx, wy, wz)) * (1 if l % 2 == 0 else -1j)
        direct = torch.fft.irfftn(x_half[0] * psi, s=n, dim=(-3, -2, -1))
        torch.testing.assert_close(torch.stack(got[l]), direct, rtol=0, atol=1e-12 * float(direct.abs().max()))


@pytest.mark.parametrize("shape", [(16, 16, 16), (15, 18, 17)])
def test_spectrum_band_is_the_full_spectrum_on_the_band(shape):
    x = torch.randn(2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    full = torch.fft.fftn(x.to(torch.complex128), dim=(-3, -2, -1))
    half = backend.to_fourier(x)
    torch.testing.assert_close(backend.spectrum_band(half, filters.Band((None,) * 3, shape), shape), full)
    band = filters.Band((3, 5, 4), (8, 12, 10))
    i = [torch.as_tensor(band.indices(a, s)) for a, s in enumerate(shape)]
    torch.testing.assert_close(backend.spectrum_band(half, band, shape), full[:, i[0]][:, :, i[1]][..., i[2]])


def test_band_inverse_samples_a_band_limited_signal_on_a_coarse_grid():
    """A band-limited spectrum of an n-point grid, inverted onto a coarser grid (not a sub-grid) that holds its band,
    gives the values of the trigonometric polynomial at the coarse points."""
    n, k, n_out = 24, 4, 10
    band = filters.Band((k, k, k), (n_out,) * 3)
    gen = torch.Generator().manual_seed(2)
    p = backend.spectrum_band(torch.fft.rfftn(torch.randn(n, n, n, dtype=torch.float64, generator=gen)), band,
                              (n,) * 3)
    coarse = backend.band_inverse(p, band, (n,) * 3)
    r = torch.arange(n_out, dtype=torch.float64) * n / n_out  # coarse points, in steps of the n-point grid
    kk = torch.as_tensor(band.indices(0, n), dtype=torch.float64)
    kk = torch.where(kk > n // 2, kk - n, kk)
    e = torch.exp(2j * math.pi * kk[:, None] * r[None, :] / n)  # (frequency, point)
    direct = torch.einsum("abc,ai,bj,ck->ijk", p, e, e, e) / n ** 3
    torch.testing.assert_close(coarse, direct)
    assert coarse.imag.abs().max() < 1e-12 * coarse.real.abs().max()  # a real signal


def test_band_limit_and_fast_sizes():
    for l in (0, 1, 3):
        w = filters.band_limit((l,), 2.0, 1e-4)
        x = np.linspace(0, 20, 20001)
        env = x ** l * np.exp(-x * x / 2)
        assert env[x >= w * 2.0].max() <= 1e-4 * env.max() * (1 + 1e-6)
        assert env[x >= w * 2.0 * 0.99].max() > 1e-4 * env.max()
    assert [sampling.fast_size(n) for n in (5, 13, 24, 25, 33, 64, 65)] == [6, 16, 24, 32, 48, 64, 96]
    k10 = 2 * math.pi * 10 / 64  # K = 10, 10, 6 frequency indices
    assert sampling.band_grid_shape((64, 64, 40), (64.0, 64.0, 40.0), k10) == (24, 24, 16)
    assert sampling.band_grid_shape((64, 64, 40), (64.0, 64.0, 40.0), k10, oversampling=2) == (48, 48, 32)


def test_filter_bank_is_cached_per_device_and_dtype():
    a = filters.solid_harmonic_filter_bank((8, 8, 8), (8.0,) * 3, js=(0,), ls=(0, 1), sigma_w=1.0)
    assert filters.solid_harmonic_filter_bank((8, 8, 8), (8.0,) * 3, js=(0,), ls=(0, 1), sigma_w=1.0) is a
    b = filters.solid_harmonic_filter_bank((8, 8, 8), (8.0,) * 3, js=(0,), ls=(0, 1), sigma_w=1.0, dtype=torch.float64)
    assert b is not a and b.all_degrees[0.0].filters.dtype == torch.complex128


def test_moved_names_still_resolve_from_core():
    from localbook.scattering3d import core
    assert core.K_l is filters.K_l and core.analytic_first_order is analytic.analytic_first_order
    with pytest.raises(AttributeError):
        core.no_such_name  # noqa: B018


# -------------------------------------------------------------------------------------------- multi-resolution
def test_multiresolution_stays_close_to_exact_and_is_exact_for_q2():
    """Each scale on its own coarse grid: q = 2 is exact up to the filter truncation (Parseval on a grid of more
    than 2K points); other powers differ by the aliasing of U on the coarse grid, small at scale_eps = 1e-4."""
    n = 32
    rho = _random_density(n, 30, n, seed=5)
    kw = dict(js=(0, 1, 2), ls=(0, 1, 2, 3), qs=(0.5, 1.0, 2.0, 3.0), include_order0=False)
    exact = GridScattering((n,) * 3, **kw)
    multi = GridScattering((n,) * 3, resolution="multi", oversampling=1.0, **kw)
    assert multi.bank.bands[2.0].shape == (16, 16, 16) and exact.bank.bands[2.0].shape == (n,) * 3
    assert GridScattering((n,) * 3, resolution="multi", **kw).bank.bands[2.0].shape == (n,) * 3  # 2x: no room
    a, b = exact(rho)[:, 0], multi(rho)[:, 0]
    rel = ((b - a).abs() / a.abs()).numpy()
    q = np.array([lab.q for lab in exact.labels])
    assert rel[:, q == 2].max() < 1e-4
    assert rel.max() < 1e-3
    coarse = GridScattering((n,) * 3, resolution="multi", scale_eps=1e-2, oversampling=1.0, **kw)
    assert coarse.bank.bands[1.0].shape[0] < n  # a looser precision takes coarser grids, and errs more
    assert ((coarse(rho)[:, 0] - a).abs() / a.abs()).max() > rel.max()


@pytest.mark.parametrize("n", [24, 25])
def test_q2_first_order_by_parseval_equals_the_grid_integral(n):
    """With q = 2 and no second order the engine skips the inverse FFTs (Parseval); same numbers as the
    explicit route, which it takes as soon as another power or the second order needs U itself."""
    rho = _random_density(n, 12, n, seed=4).double()
    kw = dict(js=(0, 0.5, 2), ls=(0, 1, 2, 5), sigma_w=0.8, include_order0=False, dtype=torch.float64)
    fast = GridScattering((n,) * 3, qs=(2.0,), max_order=1, **kw)(rho)
    slow = GridScattering((n,) * 3, qs=(2.0, 3.0), max_order=1, **kw)(rho)[..., ::2]
    torch.testing.assert_close(fast, slow, rtol=1e-6, atol=1e-12 * float(slow.abs().max()))
    both = GridScattering((n,) * 3, qs=(2.0,), max_order=2, **kw)(rho)
    torch.testing.assert_close(both[..., :fast.shape[-1]], fast, rtol=1e-6, atol=1e-12 * float(slow.abs().max()))
    # the second order by Parseval too (the inverse FFT of U_{l1,j1} only, none for U_{l2,j2})
    slow2 = GridScattering((n,) * 3, qs=(2.0, 3.0), max_order=2, **kw)(rho)[..., ::2]
    torch.testing.assert_close(both, slow2, rtol=1e-6, atol=1e-12 * float(slow2.abs().max()))


# ------------------------------------------------------------------------------------------ invariances
def test_integer_translation_on_a_periodic_grid_is_exact():
    rho = _random_density(24, 10, 24, seed=2).double()
    g = GridScattering((24,) * 3, js=(0, 1), ls=(0, 1, 2), qs=(0.5, 1.0, 2.0), dtype=torch.float64)
    s0 = g(rho)
    s1 = g(torch.roll(rho, shifts=(5, -3, 11), dims=(1, 2, 3)))
    torch.testing.assert_close(s1, s0, rtol=1e-10, atol=0)


def _methane_errors(spacing, seed=0):
    # a periodic box (grid="cell"): the molecule is not re-centred, so sub-step translations are seen
    shs = SolidHarmonicScattering(J=1, L=2, qs=(0.5, 1.0, 2.0), sigma=0.5, spacing=spacing, grid="cell",
                                  device="cpu", dtype="float64")
    m = molecule("CH4", cell=[14.0, 14.0, 14.0], pbc=True)  # images far enough not to see rotations
    m.center()
    shs.fit([m])
    return aliasing.invariance_errors(shs, m, np.random.default_rng(seed), n_trials=2)


@pytest.mark.slow
def test_subvoxel_translation_rotation_errors_shrink_with_the_grid():
    coarse, fine = _methane_errors(0.5), _methane_errors(0.25)
    for kind in ("translation", "rotation"):
        assert fine[kind] < coarse[kind]
        assert fine[kind] < 1e-3
    assert coarse["permutation"] < 1e-8 and fine["permutation"] < 1e-8


def test_permutation_of_atoms_in_a_cell():
    fe = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2)
    fe.rattle(0.05, seed=3)
    shs = SolidHarmonicScattering(J=[0, 0.5], L=1, qs=(1.0, 2.0), sigma=0.4, channels=("ones",), device="cpu").fit([fe])
    a = shs.transform([fe, fe[np.random.default_rng(0).permutation(len(fe))]])
    np.testing.assert_allclose(a[1], a[0], rtol=1e-5)


def test_periodic_supercell_coefficients_are_extensive():
    fe = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(2)
    shs = SolidHarmonicScattering(J=[0, 0.5, 1], L=2, qs=(1.0, 2.0), sigma=0.4, channels=("ones",), device="cpu")
    x = shs.fit_transform([fe, fe.repeat((2, 1, 1))])
    np.testing.assert_allclose(x[1], 2 * x[0], rtol=1e-4)
    assert x[0, 0] == pytest.approx(16, rel=1e-5)  # order 0, q = 1: number of atoms


# ------------------------------------------------------------------------------------------- front end
def test_front_end_shapes_names_and_labels():
    shs = SolidHarmonicScattering(J=2, L=[1, 2], qs=(0.5, 1), sigma=0.5, channels=("Z", "valence", "core"),
                                  device="cpu")
    x = shs.fit_transform([molecule("H2O"), molecule("NH3")])
    names = shs.get_feature_names_out()
    per_channel = 2 + 2 * 3 * 2 + 2 * 3 * 2  # order 0, order 1 (l, j, q), order 2 (l, (j1 < j2), q)
    assert x.shape == (2, 3 * per_channel) == (2, len(names))
    assert names[0] == "order0_Z_q0.5" and "order2_core_l2_j1_l2_j2_q1" in names
    z = names.tolist().index("order0_Z_q1")
    v = names.tolist().index("order0_valence_q1")
    c = names.tolist().index("order0_core_q1")
    np.testing.assert_allclose(x[:, [z, v, c]], [[10, 8, 2], [10, 8, 2]], rtol=1e-5)
    assert shs.select(max_scale=0).sum() == 3 * (2 + 2 * 2)
    assert shs.select(order=2, l=1).sum() == 3 * 3 * 2


def test_front_end_multiresolution_on_molecules():
    mols = [molecule(n) for n in ("C6H6", "CH3CH2OH")]
    kw = dict(J=2, L=2, qs=(0.5, 1.0, 2.0), sigma=0.5, channels=("Z", "valence"), device="cpu")
    exact = SolidHarmonicScattering(**kw).fit_transform(mols)
    multi = SolidHarmonicScattering(resolution="multi", **kw).fit(mols)
    assert multi._engine((multi.grid_shape_, multi.box_length_), torch.device("cpu"), torch.float32
                         ).bank.bands[2.0].shape[0] < multi.grid_shape_[0]
    x = multi.transform(mols)
    assert np.abs(x - exact).max() / np.abs(exact).max() < 5e-4  # chapter 01's grid-invariance error at this step


def test_molecule_boxes_give_the_shared_box_coefficients():
    """Each molecule in its own smallest box: the same integrals as in one shared box once the margin keeps the
    periodic images apart, on fewer points. (With the default margin, 3 widths of the widest U, the second-order
    coefficients of methane still move by 3e-3 between a 10 Å and a 12 Å box: the images' tails overlap.)"""
    mols = [molecule(n) for n in ("CH4", "C6H6")]
    kw = dict(J=1, L=2, qs=(1.0, 2.0), sigma=0.5, channels=("Z",), device="cpu", dtype="float64", margin=6.0)
    shared = SolidHarmonicScattering(**kw).fit(mols)
    own = SolidHarmonicScattering(grid="molecule", **kw).fit(mols)
    (shape, _), _ = own._placement(mols[0], 0)
    assert own.grid_shape_ is None and shape[0] < shared.grid_shape_[0]
    a, b = shared.transform(mols), own.transform(mols)
    assert np.abs(a - b).max() / np.abs(a).max() < 1e-6


def test_front_end_is_an_sklearn_transformer():
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    mols = [molecule(n) for n in ("H2O", "CH4", "NH3", "HCN")]
    pipe = make_pipeline(SolidHarmonicScattering(J=1, L=1, qs=(1.0,), sigma=0.5, max_order=1, device="cpu"),
                         Ridge(alpha=1e-3))
    pipe.fit(mols, [1.0, 2.0, 3.0, 4.0])
    assert pipe.predict(mols).shape == (4,)
    assert clone(pipe[0]).get_params()["J"] == 1


# The scikit-learn estimator checks. `check_estimator` / `parametrize_with_checks` skip every check for an estimator
# whose input is not a 2-D array (`input_tags.two_d_array = False`: ours takes lists of ase.Atoms), so the checks
# that need no data run here by name, and the ones that need data are restated below with molecules.
SKLEARN_CHECKS_WITHOUT_DATA = [
    "check_estimator_cloneable", "check_estimator_repr", "check_estimator_tags_renamed", "check_valid_tag_types",
    "check_no_attributes_set_in_init", "check_mixin_order", "check_do_not_raise_errors_in_init_or_set_params",
    "check_param_validation", "check_get_params_invariance", "check_set_params",
    "check_parameters_default_constructible", "check_estimators_unfitted",
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS_WITHOUT_DATA)
def test_sklearn_estimator_checks(check):
    from sklearn.utils import estimator_checks
    getattr(estimator_checks, check)("SolidHarmonicScattering", SolidHarmonicScattering(device="cpu"))


def test_sklearn_checks_restated_with_molecules():
    """fit returns self and leaves the parameters alone; fitting twice, fit_transform and a pickled copy give the
    same numbers (check_estimators_fit_returns_self, check_dont_overwrite_parameters, check_fit_idempotent,
    check_transformer_general, check_estimators_pickle with lists of ase.Atoms)."""
    import pickle

    from sklearn.base import clone
    mols = [molecule(n) for n in ("H2O", "CH4", "NH3")]
    est = SolidHarmonicScattering(J=1, L=1, qs=(0.5, 1.0), sigma=0.5, device="cpu")
    before = clone(est).get_params()
    assert est.fit(mols) is est
    assert est.get_params() == before
    x = est.transform(mols)
    np.testing.assert_array_equal(est.fit(mols).transform(mols), x)
    np.testing.assert_array_equal(clone(est).fit_transform(mols), x)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(mols), x)
    assert x.shape == (3, est.n_features_out_) == (3, len(est.get_feature_names_out()))


def test_rescale_meets_the_overlap_condition():
    m = molecule("CH4")
    shs = SolidHarmonicScattering(J=1, L=1, sigma=0.5, eps_o=1e-2, on_violation="rescale", max_order=1, device="cpu")
    shs.fit([m])
    need = sampling.min_distance_for_overlap(0.5, 1e-2)
    assert shs.scale_ == pytest.approx(need / min(m.get_distance(0, i) for i in range(1, 5)))
    scaled = m.copy()
    scaled.positions *= shs.scale_
    assert check_conditions(scaled, 0.5, 0.3, eps_o=1e-2).overlap_ok


@pytest.mark.parametrize("kwargs, match", [
    # declared constraints (scikit-learn's InvalidParameterError names the parameter, its allowed values, the value)
    (dict(L=-1), "'L' parameter"), (dict(sigma=-1.0), "'sigma' parameter"), (dict(max_order=3), "'max_order' param"),
    (dict(grid="sphere"), "'grid' parameter"), (dict(channels="Z"), "'channels' parameter"),
    (dict(resolution="fast"), "'resolution' parameter"), (dict(scale_eps=2.0), "'scale_eps' parameter"),
    # checks the constraints cannot express
    (dict(qs=(0, 1)), "qs="), (dict(J=[-1, 0]), "J="), (dict(L=[1.5]), "L="), (dict(grid=(2, 8, 8)), "grid="),
    (dict(max_order=0, include_order0=False), "computes nothing"), (dict(channels=("spin",)), "unknown channel"),
    (dict(eps_o=1e-2), "overlap"), (dict(eps_a=1e-12), "aliasing"),
])
def test_bad_arguments_name_the_problem(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SolidHarmonicScattering(**{"sigma": 0.5, "device": "cpu", **kwargs}).fit([molecule("CH4")])


def test_bad_structures_name_the_problem():
    shs = SolidHarmonicScattering(J=0, L=0, sigma=0.5, max_order=1, device="cpu")
    with pytest.raises(TypeError, match="list of ase.Atoms"):
        shs.fit(molecule("CH4"))
    tri = bulk("Fe", "bcc", a=2.87)  # primitive cell: not orthorhombic
    with pytest.raises(ValueError, match="orthorhombic"):
        shs.fit_transform([tri])
    shs.fit([molecule("H2O")])
    big = Atoms("H2", positions=[[0, 0, 0], [30, 0, 0]])
    with pytest.raises(ValueError, match="does not fit in the box"):
        shs.transform([big])


# -------------------------------------------------------------------------------------------- aliasing
def test_slope_fit_and_nyquist_size_on_synthetic_spectra():
    w = np.linspace(1, 100, 200)
    assert aliasing.fit_loglog_slope(w, 3 * w ** -4.0, 5, 50) == pytest.approx(-4)
    env = 10.0 ** -(w / 10)  # falls under 1e-6 beyond w = 60
    assert aliasing.nyquist_grid_size(w, env, box=math.pi, threshold=1e-6) == math.ceil(w[w > 60][0])


def test_odd_l_spectrum_decays_as_a_power_law():
    box, n, l = 24.0, 192, 3
    x = np.arange(n) * box / n - box / 2
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    u = torch.as_tensor(analytic.analytic_first_order(r, l, 0.0, 1.0, 0.5))
    w1, f1 = aliasing.line_spectrum(u, box)
    w3, f3 = aliasing.radial_envelope(u, box)
    assert aliasing.fit_loglog_slope(w1, f1, 8, 16) == pytest.approx(-(l + 1), abs=0.4)
    assert aliasing.fit_loglog_slope(w3, f3, 8, 16) == pytest.approx(-(l + 3), abs=0.4)


def test_two_gaussian_view_callback():
    v = aliasing.two_gaussian_view(3, 4.0, grid=32, box=16.0)
    assert v.slice.shape == (32, 32) and v.envelope.shape == v.w.shape and 0 < v.nyquist_modulus < 1
    # odd l: U vanishes between the two atoms (destructive interference)
    assert v.slice[16, 16] < 1e-3 * v.slice.max()
    even = aliasing.two_gaussian_view(2, 4.0, grid=32, box=16.0)
    assert even.slice[16, 16] > 0.05 * even.slice.max()
