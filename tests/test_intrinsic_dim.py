"""Tests of localbook.images.intrinsic_dim (thesis section 5.3.3, app. B.3) and the photographs loader."""
import numpy as np
import pytest
import torch

from localbook.images import intrinsic_dim as idim


def _embedded_cube(n, d, ambient, seed):
    """``n`` uniform points of the unit cube [0, 1]^d, rotated into R^ambient."""
    g = torch.Generator().manual_seed(seed)
    z = torch.rand(n, d, generator=g, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(ambient, d, generator=g, dtype=torch.float64))
    return z @ q.T


def _embedded_sphere(n, d, ambient, seed):
    """``n`` uniform points of the sphere S^d (a d-dimensional manifold), rotated into R^ambient."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randn(n, d + 1, generator=g, dtype=torch.float64)
    y = y / y.norm(dim=1, keepdim=True)
    q, _ = torch.linalg.qr(torch.randn(ambient, d + 1, generator=g, dtype=torch.float64))
    return y @ q.T


@pytest.mark.parametrize("d", [2, 5])
def test_levina_bickel_recovers_the_dimension_of_a_flat_manifold(d):
    x = _embedded_cube(2000, d, ambient=60, seed=d)
    est = idim.intrinsic_dimension(x, n_neighbors=20)
    assert abs(est - d) / d < 0.12, est


@pytest.mark.parametrize("d", [3, 8])
def test_levina_bickel_recovers_the_dimension_of_a_curved_manifold(d):
    x = _embedded_sphere(3000, d, ambient=80, seed=d)
    est = idim.intrinsic_dimension(x, n_neighbors=20)
    assert abs(est - d) / d < 0.12, est


def test_levina_bickel_orders_dimensions_and_ignores_the_ambient_space():
    ests = [idim.intrinsic_dimension(_embedded_cube(1500, d, ambient=40, seed=0), 15) for d in (1, 3, 6)]
    assert ests[0] < ests[1] < ests[2]
    # the estimate does not change under a rotation and a rescaling of the ambient space
    x = _embedded_cube(800, 4, ambient=20, seed=1)
    q, _ = torch.linalg.qr(torch.randn(20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(2)))
    assert idim.intrinsic_dimension(3.0 * x @ q, 10) == pytest.approx(idim.intrinsic_dimension(x, 10), rel=1e-9)


def test_levina_bickel_formula_on_hand_made_distances():
    # tau = (1, 2, 4): mean of log(4/1), log(4/2) = 1.5 log 2
    est = idim.levina_bickel(torch.tensor([[1.0, 2.0, 4.0]]))
    assert float(est) == pytest.approx(1 / (1.5 * np.log(2)))
    with pytest.raises(ValueError, match="duplicates"):
        idim.levina_bickel(torch.tensor([[0.0, 1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"n_neighbors \(K\)"):
        idim.levina_bickel(torch.tensor([[1.0, 2.0]]), n_neighbors=3)


def test_nearest_neighbor_distances_match_scikit_learn():
    from sklearn.neighbors import NearestNeighbors
    x = torch.rand(300, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = idim.nearest_neighbor_distances(x, 5, batch_size=64)
    sk, _ = NearestNeighbors(n_neighbors=6).fit(x.numpy()).kneighbors(x.numpy())
    np.testing.assert_allclose(ours.numpy(), sk[:, 1:], rtol=1e-10)           # the self-distance left out
    ref = torch.rand(100, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sk2, _ = NearestNeighbors(n_neighbors=4).fit(ref.numpy()).kneighbors(x.numpy())
    np.testing.assert_allclose(idim.nearest_neighbor_distances(x, 4, reference=ref).numpy(), sk2, rtol=1e-10)
    with pytest.raises(ValueError, match="n_neighbors"):
        idim.nearest_neighbor_distances(x[:5], 5)


def test_covariance_spectrum_and_dimension():
    g = torch.Generator().manual_seed(0)
    scales = torch.tensor([10.0, 3.0, 1.0, 0.1, 0.01], dtype=torch.float64)
    x = torch.randn(200_000, 5, generator=g, dtype=torch.float64) * scales
    ev = idim.covariance_spectrum(x)
    np.testing.assert_allclose(ev.numpy(), (scales ** 2).numpy(), rtol=0.02)
    # variances 100, 9, 1, ...: 100 / 110.01 = 0.909 < 0.95 <= 109 / 110.01
    assert idim.covariance_dimension(scales ** 2, 0.95) == 2
    assert idim.covariance_dimension(scales ** 2, 0.999) == 3
    assert idim.covariance_dimension(torch.ones(10), 0.95) == 10
    assert idim.covariance_dimension(torch.ones(10), 0.5) == 5
    with pytest.raises(ValueError, match="fraction"):
        idim.covariance_dimension(torch.ones(3), 1.5)


def test_sample_unique_patches_drops_duplicates():
    x = torch.zeros(4, 1, 10, 10)
    x[:, :, 5:, 5:] = torch.rand(4, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    p = idim.sample_unique_patches(x, 200, 3, rng=0)
    flat = p.reshape(len(p), -1)
    assert len(torch.unique(flat, dim=0)) == len(flat) < 200        # the black background counted once
    photos = [torch.rand(3, 12, 15), torch.rand(3, 20, 9)]
    q = idim.sample_unique_patches(photos, 50, 4, rng=1)
    assert q.shape == (50, 3, 4, 4)


def test_patch_dimensions_of_smooth_images():
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.avg_pool2d(torch.rand(30, 1, 24, 24, generator=g), 3, 1)    # correlated pixels
    rows = idim.patch_dimensions(x, [2, 4], n_patches=600, n_neighbors=20, n_whitening=5000, rng=0)
    assert [r["patch_size"] for r in rows] == [2, 4] and [r["d_ext"] for r in rows] == [4, 16]
    for r in rows:
        assert 1 <= r["d_cov"] <= r["d_cov_whitened"] <= r["d_ext"]
        assert 0 < r["d_int"] <= r["d_ext"] * 1.2 and 0 < r["d_int_whitened"]
        assert np.all(np.diff(r["eigenvalues"]) <= 1e-12)
        assert np.all(r["whitened_eigenvalues"] <= 1)
    # whitening spreads the variance: more principal directions needed
    assert rows[1]["d_cov_whitened"] > rows[1]["d_cov"]


def test_photographs_load_offline():
    from localbook.data.photos import PHOTOGRAPHS, load_photographs
    imgs = load_photographs(("astronaut", "china"), downsample=4)
    assert [tuple(i.shape) for i in imgs] == [(3, 128, 128), (3, 107, 160)]
    assert all(0 <= float(i.min()) and float(i.max()) <= 1 for i in imgs)
    assert len(PHOTOGRAPHS) == 7
    with pytest.raises(ValueError, match="unknown photograph"):
        load_photographs(("mona-lisa",))


def test_dimensions_of_sources_and_their_table():
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(6, 1, 20, 20, generator=g), 3, 1)
    dims = idim.dimensions_of_sources({"a": smooth, "b": smooth}, [2, 3], n_patches=150, n_neighbors=10,
                                      n_whitening=500, rng=0)
    assert list(dims) == ["a", "b"] and [r["patch_size"] for r in dims["a"]] == [2, 3]
    rows, header = idim.dimension_rows(dims)
    assert len(rows) == 4 and len(header) == len(rows[0]) and rows[2][:3] == ("b", 2, 4)
    assert rows[0][-1] == f"{100 * dims['a'][0]['d_int_whitened'] / 4:.3g}"
