"""Chapter 00's estimators against scikit-learn on the same data, same machine; prints time ratios.

    python benchmarks/bench_local_methods.py [--device cpu|cuda]

* k-NN regression: ``localbook.local_methods.knn_predict`` (torch cdist + topk, batched) versus
  ``sklearn.neighbors.KNeighborsRegressor`` (its default algorithm choice), n_train = 16,384, D = 8, 2,000 tests.
* Kernel ridge: ``AdditiveKernelRidge`` with one block (the global Laplace kernel) versus
  ``sklearn.kernel_ridge.KernelRidge(kernel="precomputed")`` fed by SciPy's ``cdist``, n = 4,096, D = 16.
Predictions are checked equal before timing.
"""
from __future__ import annotations

import argparse

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.kernel_ridge import KernelRidge
from sklearn.neighbors import KNeighborsRegressor

from localbook import local_methods as lm
from localbook.device import best_of, pick_device


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    device = pick_device(parser.parse_args().device)

    x, xt = lm.sample_uniform(16384, 8, 0), lm.sample_uniform(2000, 8, 1)
    y = lm.DistanceToPoints.random(8)(x)
    xd, yd, xtd = x.to(device), y.to(device), xt.to(device)
    t_ours, ours = best_of(lambda: lm.knn_predict(xd, yd, xtd, k=1))
    t_ref, ref = best_of(lambda: KNeighborsRegressor(1).fit(x.numpy(), y.numpy()).predict(xt.numpy()))
    np.testing.assert_allclose(ours.cpu().numpy(), ref, rtol=1e-10)
    print(f"k-NN regression (n=16384, D=8, 2000 queries) on {device}: localbook {t_ours:.3f} s, "
          f"scikit-learn {t_ref:.3f} s, speed-up x{t_ref / t_ours:.1f}")

    n, scale, alpha = 4096, np.sqrt(16 / 6), 1e-8
    x, xt = lm.sample_uniform(n, 16, 0), lm.sample_uniform(2000, 16, 1)
    y = lm.SeparableTarget.random(16, 2)(x)

    def sklearn_krr():
        k_train = np.exp(-cdist(x.numpy(), x.numpy()) / scale)
        k_test = np.exp(-cdist(xt.numpy(), x.numpy()) / scale)
        return KernelRidge(alpha=alpha * n, kernel="precomputed").fit(k_train, y.numpy()).predict(k_test)

    t_ours, ours = best_of(lambda: lm.AdditiveKernelRidge(alpha=alpha, device=device).fit(x, y).predict(xt))
    t_ref, ref = best_of(sklearn_krr)
    np.testing.assert_allclose(ours.cpu().numpy(), ref, rtol=1e-5, atol=1e-6)
    print(f"kernel ridge, global Laplace kernel (n={n}, D=16) on {device}: localbook {t_ours:.3f} s, "
          f"scikit-learn {t_ref:.3f} s, speed-up x{t_ref / t_ours:.1f}")


if __name__ == "__main__":
    main()
