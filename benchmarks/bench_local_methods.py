"""Chapter 00's estimators against scikit-learn on the same data, same machine; records time ratios.

    python benchmarks/bench_local_methods.py [--device cpu|cuda] [--rounds 5]

* k-NN regression: ``localbook.local_methods.knn_predict`` versus ``sklearn.neighbors.KNeighborsRegressor`` (its
  default algorithm choice), n_train = 16,384, D = 8, 2,000 tests. On the CPU ``knn_predict`` *is* scikit-learn
  (it measured faster than our torch brute force for D = 2..64), so the ratio there is ~1 by construction; on a GPU
  it is torch ``cdist`` + ``topk``.
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

from common import alternating_rounds, record  # noqa: I001
from localbook import local_methods as lm
from localbook.device import pick_device


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    device = pick_device(args.device)

    x, xt = lm.sample_uniform(16384, 8, 0), lm.sample_uniform(2000, 8, 1)
    y = lm.DistanceToPoints.random(8)(x)
    xd, yd, xtd = x.to(device), y.to(device), xt.to(device)

    def sklearn_knn():
        return KNeighborsRegressor(1).fit(x.numpy(), y.numpy()).predict(xt.numpy())

    np.testing.assert_allclose(lm.knn_predict(xd, yd, xtd, k=1).cpu().numpy(), sklearn_knn(), rtol=1e-10)
    t = alternating_rounds({"ours": lambda: lm.knn_predict(xd, yd, xtd, k=1), "peer": sklearn_knn}, args.rounds,
                           device)
    record("knn_regression", title="k-NN regression, n = 16,384, D = 8, 2,000 queries",
           peer="scikit-learn KNeighborsRegressor", ours="local_methods.knn_predict", sizes={"n": 16384, "D": 8,
           "queries": 2000, "k": 1}, peer_times=t["peer"], ours_times=t["ours"], checks={"predictions": "equal"},
           notes="on the CPU knn_predict calls scikit-learn (ratio ~1 by construction)" if device.type == "cpu"
           else "torch cdist + topk", device=device)

    n, scale, alpha = 4096, np.sqrt(16 / 6), 1e-8
    x, xt = lm.sample_uniform(n, 16, 0), lm.sample_uniform(2000, 16, 1)
    y = lm.SeparableTarget.random(16, 2)(x)

    def sklearn_krr():
        k_train = np.exp(-cdist(x.numpy(), x.numpy()) / scale)
        k_test = np.exp(-cdist(xt.numpy(), x.numpy()) / scale)
        return KernelRidge(alpha=alpha * n, kernel="precomputed").fit(k_train, y.numpy()).predict(k_test)

    def ours_krr():
        return lm.AdditiveKernelRidge(alpha=alpha, device=device).fit(x, y).predict(xt)

    np.testing.assert_allclose(ours_krr().cpu().numpy(), sklearn_krr(), rtol=1e-5, atol=1e-6)
    t = alternating_rounds({"ours": ours_krr, "peer": sklearn_krr}, args.rounds, device)
    record("kernel_ridge", title="kernel ridge, global Laplace kernel, n = 4,096, D = 16",
           peer="scikit-learn KernelRidge (precomputed, SciPy cdist)", ours="local_methods.AdditiveKernelRidge",
           sizes={"n": n, "D": 16, "queries": 2000}, peer_times=t["peer"], ours_times=t["ours"],
           checks={"predictions": "equal to rtol 1e-5"}, device=device)


if __name__ == "__main__":
    main()
