"""The trivial baselines every image table carries beside the thesis' methods, on the same images and splits.

* :func:`pixel_logistic_regression` -- multinomial logistic regression on standardised raw pixels
  (scikit-learn), its inverse regularisation ``C`` chosen on the validation set;
* :func:`whole_image_knn` -- k-nearest neighbours on whole images (Euclidean distance on raw pixels), the
  thesis' image-level baseline (58.3 % on CIFAR-10, chapter 5), ``k`` chosen on the validation set;
  :func:`knn_classify` is its batched torch kernel (CPU or GPU).

The learned baselines (a linear model on the scattering, position-aware or patch-separated, and an end-to-end
CNN) are torch models in :mod:`localbook.images.patch_cnn`, trained by the same loop as the thesis' networks.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["BaselineResult", "nearest_labels", "vote", "knn_classify", "whole_image_knn",
           "pixel_logistic_regression"]


@dataclass
class BaselineResult:
    """A deterministic baseline's outcome: test accuracy (fraction), the hyper-parameter chosen on the
    validation set and the validation accuracy of every candidate, wall time (s)."""

    name: str
    test_accuracy: float
    chosen: dict
    validation: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def test_accuracies(self) -> np.ndarray:
        """One value: the baseline has no random seed (same interface as the trained models' results)."""
        return np.array([self.test_accuracy])


def _xy(data):
    return (data.x, data.y) if hasattr(data, "x") else tuple(data)


@torch.no_grad()
def nearest_labels(x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor, k: int,
                   batch_size: int = 1024, device=None) -> torch.Tensor:
    """Labels (n_query, k) of the ``k`` nearest training images of each query, nearest first (Euclidean distance
    on raw pixels; batched ``torch.cdist`` + top-k, on ``device``)."""
    if not 1 <= k <= len(x_train):
        raise ValueError(f"k must be in [1, {len(x_train)}] (the number of training images), got {k}")
    dev = torch.device(device) if device is not None else x_train.device
    ref = x_train.reshape(len(x_train), -1).to(dev, torch.float32)
    y = y_train.to(dev)
    out = []
    for start in range(0, len(x_query), batch_size):
        q = x_query[start:start + batch_size].reshape(-1, ref.shape[1]).to(dev, torch.float32)
        out.append(y[torch.cdist(q, ref).topk(k, dim=1, largest=False).indices])
    return torch.cat(out)


def vote(labels: torch.Tensor, k: int, n_classes: int) -> torch.Tensor:
    """Majority vote among the first ``k`` columns of ``labels`` (n, >= k), ties going to the smaller class."""
    return F.one_hot(labels[:, :k], n_classes).sum(1).argmax(1)


def knn_classify(x_train: torch.Tensor, y_train: torch.Tensor, x_query: torch.Tensor, k: int = 1,
                 batch_size: int = 1024, device=None) -> torch.Tensor:
    """Predicted labels (n_query,) by majority vote among the ``k`` nearest training images in Euclidean
    distance on raw pixels, ties going to the smaller class index. Batched ``torch.cdist`` + top-k so that it
    runs on the GPU at full scale (50,000 x 10,000 images); the tests compare it with scikit-learn's
    ``KNeighborsClassifier``. Returns the labels on ``device`` (default: ``x_train``'s)."""
    labels = nearest_labels(x_train, y_train, x_query, k, batch_size, device)
    return vote(labels, k, int(y_train.max()) + 1)


def whole_image_knn(train, test, val=None, ks: Sequence[int] = (1, 3, 5, 10), device=None) -> BaselineResult:
    """Whole-image k-NN: ``k`` chosen among ``ks`` by validation accuracy (the first of ``ks`` when no
    ``val``), then the test accuracy with that ``k``. ``train`` / ``val`` / ``test``: ImageDatasets or
    (images, labels). The distances to the training images are computed once per set, for the largest ``k``."""
    start = time.perf_counter()
    (xt, yt), (xs, ys) = _xy(train), _xy(test)
    n_classes = int(yt.max()) + 1
    scores = {}
    if val is not None and len(ks) > 1:
        xv, yv = _xy(val)
        labels = nearest_labels(xt, yt, xv, max(ks), device=device)
        for k in ks:
            scores[k] = float((vote(labels, k, n_classes).cpu() == yv.cpu()).float().mean())
    k = max(scores, key=scores.get) if scores else ks[0]
    acc = float((knn_classify(xt, yt, xs, k, device=device).cpu() == ys.cpu()).float().mean())
    return BaselineResult("whole-image k-NN", acc, {"k": k}, scores, time.perf_counter() - start)


def pixel_logistic_regression(train, test, val=None, Cs: Sequence[float] = (0.01, 0.1, 1.0),
                              max_iter: int = 1000) -> BaselineResult:
    """Multinomial logistic regression on standardised pixels (scikit-learn ``LogisticRegression``, L-BFGS):
    ``C`` chosen among ``Cs`` by validation accuracy (the last of ``Cs`` when no ``val``), test accuracy of the
    model trained on ``train`` with it."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    start = time.perf_counter()
    flat = lambda d: (d[0].reshape(len(d[0]), -1).cpu().numpy(), d[1].cpu().numpy())  # noqa: E731
    (xt, yt), (xs, ys) = flat(_xy(train)), flat(_xy(test))
    candidates = list(Cs) if val is not None else [Cs[-1]]
    models, scores = {}, {}
    for C in candidates:
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
        with warnings.catch_warnings():
            # max_iter bounds the cost; whether the chosen fit converged is reported in ``chosen``
            warnings.simplefilter("ignore", ConvergenceWarning)
            models[C] = model.fit(xt, yt)
        if val is not None:
            xv, yv = flat(_xy(val))
            scores[C] = float((models[C].predict(xv) == yv).mean())
    C = max(scores, key=scores.get) if scores else candidates[0]
    acc = float((models[C].predict(xs) == ys).mean())
    converged = bool(models[C][-1].n_iter_.max() < max_iter)
    return BaselineResult("pixel logistic regression", acc, {"C": C, "converged": converged}, scores,
                          time.perf_counter() - start)
