"""Multilinear regression of order ``r`` (thesis sec. 2.3.2), a scikit-learn regressor written in torch:

``F(x) = b + sum_{i=1..m} nu_i prod_{k=1..r} (<S, w_i^(k)> + c_i^(k))``

on standardised inputs and target, trained with Adam on the squared loss, mini-batches, a cosine learning-rate
decay, ``device=``. ``r = 1`` is a linear regression, ``r = 2`` bilinear, ``r = 3`` trilinear. Written by hand
because neither scikit-learn nor torch has this model.
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import RidgeCV
from sklearn.utils.validation import check_is_fitted, validate_data

from localbook.regression.linear import ALPHAS

__all__ = ["MultilinearRegressor"]


class _Multilinear(torch.nn.Module):
    """``b + sum_i nu_i prod_k (x . w_i^(k) + c_i^(k))`` on standardised ``x``; ``w``: ``(r, d, m)``."""

    def __init__(self, n_features: int, order: int, n_terms: int, generator: torch.Generator, dtype):
        super().__init__()
        # Each factor starts near 1 (c = 1, small w) so that the product starts near a linear function of x
        # whatever r.
        w = torch.randn(order, n_features, n_terms, generator=generator, dtype=dtype) / np.sqrt(n_features)
        self.w = torch.nn.Parameter(w * 0.5)
        self.c = torch.nn.Parameter(torch.ones(order, n_terms, dtype=dtype))
        self.nu = torch.nn.Parameter(torch.randn(n_terms, generator=generator, dtype=dtype) / np.sqrt(n_terms))
        # b = -sum_i nu_i prod_k c_i^(k): the initial prediction is ~0, the mean of the standardised target
        self.b = torch.nn.Parameter(-self.nu.detach().sum())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factors = torch.einsum("nd,rdm->rnm", x, self.w) + self.c[:, None, :]  # (r, n, m)
        return self.b + factors.prod(dim=0) @ self.nu


def _ridge_torch(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[torch.Tensor, float]:
    """Ridge coefficients ``(d,)`` and intercept for a given ``alpha`` (scikit-learn's ``Ridge`` objective),
    solved in float64 torch on the CPU: NumPy's multi-threaded BLAS changes the last bits of the solution with
    the number of threads, and Adam started from it would amplify them, breaking the bit-for-bit reproducibility
    of seeded CPU runs across machines."""
    xt = torch.as_tensor(x, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    xm, ym = xt.mean(0), yt.mean()
    xc = xt - xm
    gram = xc.T @ xc + alpha * torch.eye(xt.shape[1], dtype=torch.float64)
    coef = torch.linalg.solve(gram, xc.T @ (yt - ym))
    return coef, float(ym - xm @ coef)


class MultilinearRegressor(RegressorMixin, BaseEstimator):
    """Multilinear regression of order ``order`` (thesis sec. 2.3.2), a scikit-learn regressor in torch.

    ``F(x) = b + sum_{i=1..n_terms} nu_i prod_{k=1..order} (<x~, w_i^(k)> + c_i^(k))`` where ``x~`` is the
    standardised input (zero mean, unit variance per feature on the training set; constant features are
    left centred). The target is standardised too and predictions are mapped back to its units.

    Parameters: ``order`` r >= 1; ``n_terms`` m, the number of products; ``n_epochs``; ``batch_size`` (``None``:
    full batch); ``lr``: Adam's learning rate, decayed to ``lr * 1e-2`` along a cosine over the epochs;
    ``weight_decay``: L2 penalty on ``w`` (Adam's, in standardised units); ``init``: ``"random"`` (every factor
    near 1, small random ``w``), or ``"ridge"``: the first term starts as the ridge solution (alpha by
    leave-one-out CV over :data:`~localbook.regression.linear.ALPHAS`) -- its first factor is the ridge's linear
    form, its other factors the constant 1 -- and the other terms start with ``nu_i = 0``, so training starts
    exactly from the linear model and learns the higher-order correction; ``validation_fraction``:
    hold out this fraction of the training set (seeded) and keep the parameters of the epoch with the lowest
    validation loss (early stopping; ``None``: train on all, keep the last epoch; the initial parameters count as
    epoch 0); ``device``: ``"auto"``, ``"cpu"``,
    ``"cuda"``... (the data and the model live there during ``fit`` and ``predict``); ``dtype``: ``"float32"``
    or ``"float64"``; ``random_state``: seeds the initial weights and the mini-batch order (a CPU
    ``torch.Generator``, so the same on every device); ``progress``: a tqdm bar over epochs.

    Learned: ``loss_curve_`` (training MSE in standardised units, per epoch), ``validation_loss_curve_`` and
    ``best_epoch_`` (with ``validation_fraction``), ``n_features_in_``, the scalings
    ``x_mean_``, ``x_scale_``, ``y_mean_``, ``y_scale_`` and ``module_`` (the torch module, on the CPU after fit).

    Written by hand because neither scikit-learn nor torch has this model; with ``order=1`` it is a (over-
    parametrised) linear regression and converges to least squares (tested against scikit-learn).
    """

    def __init__(self, order: int = 1, n_terms: int = 16, n_epochs: int = 200, batch_size: int | None = 256,
                 lr: float = 1e-2, weight_decay: float = 0.0, init: str = "random",
                 validation_fraction: float | None = None, device: str = "auto", dtype: str = "float32",
                 random_state: int = 0, progress: bool = False):
        self.order = order
        self.init = init
        self.validation_fraction = validation_fraction
        self.n_terms = n_terms
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.progress = progress

    def _check_params(self):
        checks = [
            (isinstance(self.order, (int, np.integer)) and self.order >= 1, "order must be an integer >= 1"),
            (isinstance(self.n_terms, (int, np.integer)) and self.n_terms >= 1, "n_terms must be an integer >= 1"),
            (isinstance(self.n_epochs, (int, np.integer)) and self.n_epochs >= 1, "n_epochs must be an integer >= 1"),
            (self.batch_size is None or (isinstance(self.batch_size, (int, np.integer)) and self.batch_size >= 1),
             "batch_size must be None (full batch) or an integer >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.dtype in ("float32", "float64"), "dtype must be 'float32' or 'float64'"),
            (self.init in ("random", "ridge"), "init must be 'random' or 'ridge'"),
            (self.validation_fraction is None or 0 < self.validation_fraction < 0.5,
             "validation_fraction must be None or in (0, 0.5)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise ValueError(f"MultilinearRegressor: {msg}")

    def _torch(self):
        from localbook.device import pick_device

        return pick_device(self.device), getattr(torch, self.dtype)

    def fit(self, X, y):
        """Fit on ``X`` ``(n_samples, n_features)`` and ``y`` ``(n_samples,)``; returns ``self``."""
        self._check_params()
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, reset=True)
        if X.shape[0] < 2:
            raise ValueError(f"MultilinearRegressor needs at least 2 samples, got n_samples = {X.shape[0]}")
        dev, dt = self._torch()
        self.x_mean_ = X.mean(axis=0)
        scale = X.std(axis=0)
        self.x_scale_ = np.where(scale > 0, scale, 1.0)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        xs = (X - self.x_mean_) / self.x_scale_
        ys = (y - self.y_mean_) / self.y_scale_
        gen = torch.Generator().manual_seed(int(self.random_state))
        val = None
        if self.validation_fraction is not None:
            perm = torch.randperm(len(ys), generator=gen).numpy()
            n_val = max(1, int(round(self.validation_fraction * len(ys))))
            val, train = perm[:n_val], perm[n_val:]
            xv = torch.as_tensor(xs[val], dtype=dt, device=dev)
            yv = torch.as_tensor(ys[val], dtype=dt, device=dev)
            xs, ys = xs[train], ys[train]
        xt = torch.as_tensor(xs, dtype=dt, device=dev)
        yt = torch.as_tensor(ys, dtype=dt, device=dev)

        module = _Multilinear(X.shape[1], int(self.order), int(self.n_terms), gen, dt)
        if self.init == "ridge":
            self.init_alpha_ = float(RidgeCV(alphas=ALPHAS).fit(xs, ys).alpha_)
            coef, intercept = _ridge_torch(xs, ys, self.init_alpha_)
            with torch.no_grad():
                module.w[:, :, 0] = 0.0
                module.c[:, 0] = 1.0
                module.w[0, :, 0] = coef.to(dt)
                module.c[0, 0] = 0.0
                module.nu[0] = 1.0
                module.nu[1:] = 0.0  # the other terms start switched off; their nu gets gradients at once
                module.b.fill_(intercept)
        module = module.to(dev)
        decay = [module.w]
        rest = [module.c, module.nu, module.b]
        opt = torch.optim.Adam([{"params": decay, "weight_decay": self.weight_decay},
                                {"params": rest, "weight_decay": 0.0}], lr=self.lr)
        n = xt.shape[0]
        bs = n if self.batch_size is None else min(int(self.batch_size), n)
        steps_per_epoch = -(-n // bs)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.n_epochs * steps_per_epoch,
                                                           eta_min=self.lr * 1e-2)
        from tqdm.auto import tqdm

        losses, val_losses, best = [], [], (np.inf, None)

        def validate():
            nonlocal best
            with torch.no_grad():
                v = float(torch.mean((module(xv) - yv) ** 2))
            val_losses.append(v)
            if v < best[0]:
                best = (v, {k: t.detach().clone() for k, t in module.state_dict().items()})

        if val is not None:
            validate()  # epoch 0: the initial parameters (the ridge solution with init="ridge")
        for _ in tqdm(range(self.n_epochs), disable=not self.progress, desc=f"multilinear r={self.order}"):
            perm = torch.randperm(n, generator=gen).to(dev)
            total = torch.zeros((), dtype=dt, device=dev)
            for s in range(0, n, bs):
                idx = perm[s:s + bs]
                opt.zero_grad(set_to_none=True)
                loss = torch.mean((module(xt[idx]) - yt[idx]) ** 2)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.detach() * len(idx)
            losses.append(total / n)
            if val is not None:
                validate()
        self.loss_curve_ = torch.stack(losses).cpu().numpy()
        self.validation_loss_curve_ = np.array(val_losses) if val is not None else None
        if best[1] is not None:
            module.load_state_dict(best[1])
            self.best_epoch_ = int(np.argmin(val_losses))
        if not np.isfinite(self.loss_curve_[-1]):
            raise FloatingPointError(
                f"MultilinearRegressor(order={self.order}) diverged (training loss {self.loss_curve_[-1]}); "
                "lower lr or add weight_decay")
        self.module_ = module.cpu()
        return self

    def predict(self, X) -> np.ndarray:
        """Predictions ``(n_samples,)`` in the units of the training target."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        dev, dt = self._torch()
        module = self.module_.to(dev)
        xs = (X - self.x_mean_) / self.x_scale_
        xt = torch.as_tensor(xs, dtype=dt, device=dev)
        with torch.no_grad():
            out = torch.cat([module(xt[s:s + 65536]) for s in range(0, len(xt), 65536)]) if len(xt) else xt[:, 0]
        self.module_ = module.cpu()
        return out.cpu().double().numpy() * self.y_scale_ + self.y_mean_


