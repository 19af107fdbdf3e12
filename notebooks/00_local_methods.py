# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] papermill={"duration": 0.005893, "end_time": "2026-11-29T20:32:50.371984+00:00", "exception": false, "start_time": "2026-11-29T20:32:50.366091+00:00", "status": "completed"}
# # Local methods and the curse of dimensionality
#
# A regression problem asks for a function $F$ on $\mathbb{R}^D$ from $n$ samples $(x_i, F(x_i))$. If all we
# know about $F$ is that it is Lipschitz, the number of samples needed for a precision $\epsilon$ grows like
# $\epsilon^{-D}$: with the $10^3$ to $10^9$ samples of usual problems, the thesis observes that "dimensions $D$
# above 10 are already too high" {cite}`thiry2021thesis`. Yet images ($D \sim 10^5$) and atomic systems
# ($D = 3 N_a$) are learned. The thesis' starting point is Descartes' second rule: separate the input into
# low-dimensional sub-variables $s^k = \Phi^k(x) \in \mathbb{R}^{D_k}$ and assume
#
# $$F(x) = \sum_{k=1}^K F_k(s^k), \qquad D_k \ll D \qquad \text{(thesis eq. 1.1)}.$$
#
# When the $s^k$ gather neighbouring variables — atomic neighbourhoods, image patches — these are **local
# methods**. This chapter measures both halves of the argument on synthetic problems where every quantity is
# known: the rate $n^{-1/D}$ of a local average on a generic Lipschitz target, and the low-dimensional rate that
# an estimator matching a separable target recovers in $D = 16$.

# %% papermill={"duration": 0.016691, "end_time": "2026-11-29T20:32:50.396589+00:00", "exception": false, "start_time": "2026-11-29T20:32:50.379898+00:00", "status": "completed"} tags=["parameters"]
dims = [1, 2, 4, 8, 16]     # input dimensions D of the generic-target experiment
n_train_min = 64            # smallest training set
n_train_max = 16384         # largest training set (k-NN); sizes are powers of two in between
n_test = 2000               # test points per experiment
k_neighbours = 1            # k of k-nearest-neighbour regression
separable_dim = 16          # D of the separable-target experiment
block_dim = 2               # D_k: dimension of each sub-variable s^k (blocks of neighbouring coordinates)
krr_n_max = 4096            # largest training set of kernel ridge regression (an n x n Cholesky)
device = "auto"
interactive = True
smoke = False
seed = 0

# %% papermill={"duration": 18.300018, "end_time": "2026-11-29T20:33:08.709462+00:00", "exception": false, "start_time": "2026-11-29T20:32:50.409444+00:00", "status": "completed"}
import matplotlib.pyplot as plt
import numpy as np

from myst_nb import glue

from localbook import params, webfigures, widgets
from localbook.device import pick_device, seed_everything
from localbook import local_methods as lm
from localbook.plotting import learning_curves, text_table, thesis_vs_book, use_book_style

params.check(globals(), dims=[int, 1, 256], n_train_min=(int, 2, 10**7), n_train_max=(int, 4, 10**7),
             n_test=(int, 10, 10**6), k_neighbours=(int, 1, 100), separable_dim=(int, 2, 256),
             block_dim=(int, 1, 16), krr_n_max=(int, 16, 65536))
if smoke:  # CI's tiny run: the same code path in a few seconds
    dims, n_train_max, n_test, krr_n_max = [1, 8], 512, 200, 256
if n_train_max < 2 * n_train_min:
    raise ValueError(f"n_train_max={n_train_max} must be at least 2 * n_train_min={2 * n_train_min}")
if separable_dim % block_dim:
    raise ValueError(f"block_dim={block_dim} must divide separable_dim={separable_dim}")
torch_device = pick_device(device)
seed_everything(seed)
use_book_style()
sizes = [n_train_min * 2**i for i in range(int(np.log2(n_train_max / n_train_min)) + 1)]
print(f"device {torch_device}; training sizes {sizes[0]} ... {sizes[-1]}")

# %% [markdown] papermill={"duration": 0.00817, "end_time": "2026-11-29T20:33:08.724039+00:00", "exception": false, "start_time": "2026-11-29T20:33:08.715869+00:00", "status": "completed"}
# ## A generic Lipschitz target
#
# The target is the distance to a few random points, $F(x) = \min_j \|x - c_j\|_2$ on $[0, 1]^D$: it is
# 1-Lipschitz, has kinks along the boundaries of the Voronoi cells of the $c_j$, and does not separate into
# functions of fewer variables. The estimator is the simplest local average, $k$-nearest-neighbour regression.
# Its error is bounded by the distance from a test point to its nearest training sample, which shrinks like
# $n^{-1/D}$: to divide the error by two, one needs $2^D$ times more samples.

# %% papermill={"duration": 9.90914, "end_time": "2026-11-29T20:33:18.641036+00:00", "exception": false, "start_time": "2026-11-29T20:33:08.731896+00:00", "status": "completed"}
knn_errors = {}
for D in dims:
    target = lm.DistanceToPoints.random(D, seed=seed + D, device=torch_device)
    knn_errors[D] = lm.knn_learning_curve(target, D, sizes, n_test=n_test, k=k_neighbours, seed=seed,
                                          device=torch_device)

# %% papermill={"duration": 1.428368, "end_time": "2026-11-29T20:33:20.076234+00:00", "exception": false, "start_time": "2026-11-29T20:33:18.647866+00:00", "status": "completed"}
fig, ax = plt.subplots()
fit_from = len(sizes) // 3  # fit the asymptotic regime, not the first few points
knn_slopes = learning_curves(ax, sizes, {f"D = {D}": knn_errors[D] for D in dims},
                             reference_slopes={f"D = {D}": -1 / D for D in dims}, fit_from=fit_from)
ax.set_title(f"{k_neighbours}-NN regression of a Lipschitz target on $[0,1]^D$")
plt.show()

# %% [markdown] papermill={"duration": 0.011698, "end_time": "2026-11-29T20:33:20.092105+00:00", "exception": false, "start_time": "2026-11-29T20:33:20.080407+00:00", "status": "completed"}
# The fitted exponents follow $-1/D$. Extrapolating each fitted power law says how many samples would be needed
# for a relative error of 10 % — the exponential growth the thesis calls the curse of dimensionality.

# %% papermill={"duration": 0.04486, "end_time": "2026-11-29T20:33:20.141442+00:00", "exception": false, "start_time": "2026-11-29T20:33:20.096582+00:00", "status": "completed"} tags=["nbval-check-output"]
rows, n_needed = [], {}
for D in dims:
    slope, intercept = lm.fit_power_law(sizes[fit_from:], knn_errors[D][fit_from:])
    # a power law that does not decay never reaches 10 %: report it as unreachable, not extrapolated
    n_needed[D] = np.exp((np.log(0.1) - intercept) / slope) if slope < -1e-3 else np.inf
    rows.append((D, f"{slope:+.2f}", f"{-1 / D:+.2f}", f"{knn_errors[D][-1]:.3f}",
                 f"{n_needed[D]:.1e}" if np.isfinite(n_needed[D]) else "unreachable"))
text_table(rows, header=("D", "fitted slope", "theory -1/D", f"error at n={sizes[-1]}", "n for 10 % error"))

# %% [markdown] papermill={"duration": 0.015381, "end_time": "2026-11-29T20:33:20.160056+00:00", "exception": false, "start_time": "2026-11-29T20:33:20.144675+00:00", "status": "completed"}
# ## Why: in high dimension, the nearest neighbour is not near
#
# A local average works when some samples are close to the test point. In $[0,1]^D$ the distance to the
# nearest of $n$ uniform points approaches the mean distance to all of them as $D$ grows, so "local" loses its
# meaning.

# %% papermill={"duration": 2.89654, "end_time": "2026-11-29T20:33:23.068458+00:00", "exception": false, "start_time": "2026-11-29T20:33:20.171918+00:00", "status": "completed"} tags=["nbval-check-output"]
ratio_rows = [(D, f"{lm.curse_demo(D, sizes[-1], n_test=min(n_test, 500), seed=seed)['ratio']:.2f}")
              for D in dims]
text_table(ratio_rows, header=("D", f"nearest / mean distance, n={sizes[-1]}"))

# %% [markdown] papermill={"duration": 0.024336, "end_time": "2026-11-29T20:33:23.132327+00:00", "exception": false, "start_time": "2026-11-29T20:33:23.107991+00:00", "status": "completed"}
# ## A separable target: the local estimator keeps the low-dimensional rate
#
# Now $D = 16$ and the target separates into $K = D / D_k$ functions of blocks of $D_k = 2$ neighbouring
# coordinates, $F(x) = \sum_k F_k(x_{2k}, x_{2k+1})$, each $F_k$ a distance to random points in the plane. Two
# kernel ridge regressions with the same Laplace kernel $e^{-\|u - u'\| / \ell}$ are compared:
#
# * **global**: the kernel on the whole input, $k(x, x') = e^{-\|x - x'\| / \ell}$;
# * **local (additive)**: the average of the kernel over the sub-variables,
#   $k(x, x') = \frac1K \sum_k e^{-\|s^k - s'^k\| / \ell_k}$, whose functions are exactly the sums
#   $\sum_k F_k(s^k)$ of eq. (1.1).
#
# Both interpolate (ridge $\alpha = 10^{-8}$); length scales are the root-mean-square distance between uniform
# points of each block, $\sqrt{D_k / 6}$.

# %% papermill={"duration": 36.33596, "end_time": "2026-11-29T20:33:59.484124+00:00", "exception": false, "start_time": "2026-11-29T20:33:23.148164+00:00", "status": "completed"}
separable = lm.SeparableTarget.random(separable_dim, block_dim, seed=seed, device=torch_device)
krr_sizes = [s for s in sizes if s <= krr_n_max]
krr_errors = {
    "global kernel": lm.krr_learning_curve(separable, separable_dim, krr_sizes, blocks=None, n_test=n_test,
                                           seed=seed, device=torch_device),
    "additive (local) kernel": lm.krr_learning_curve(separable, separable_dim, krr_sizes, blocks=separable.blocks,
                                                     n_test=n_test, seed=seed, device=torch_device),
}
fig, ax = plt.subplots()
krr_slopes = learning_curves(ax, krr_sizes, krr_errors,
                             reference_slopes={"global kernel": -1 / separable_dim,
                                               "additive (local) kernel": -1 / block_dim})
ax.set_title(f"Separable target, D = {separable_dim}, sub-variables of dimension {block_dim}")
plt.show()

# %% papermill={"duration": 0.040132, "end_time": "2026-11-29T20:33:59.536179+00:00", "exception": false, "start_time": "2026-11-29T20:33:59.496047+00:00", "status": "completed"} tags=["nbval-check-output"]
text_table(
    [(name, f"{krr_slopes[name]:+.2f}", f"{ref:+.2f}", f"{krr_errors[name][-1]:.3f}")
     for name, ref in (("global kernel", -1 / separable_dim), ("additive (local) kernel", -1 / block_dim))],
    header=("estimator", "fitted slope", "Lipschitz rate -1/dim", f"error at n={krr_sizes[-1]}"))

# %% [markdown] papermill={"duration": 0.008178, "end_time": "2026-11-29T20:33:59.548114+00:00", "exception": false, "start_time": "2026-11-29T20:33:59.539936+00:00", "status": "completed"}
# ## Try it
#
# The distance from each of 500 test points to its nearest training sample, against its mean distance to all
# of them, for $n$ = {glue:text}`curse_n` uniform samples: move the slider over $D$. (This figure was computed
# when the chapter ran; the slider works in any browser, without Python.)

# %% papermill={"duration": 10.905528, "end_time": "2026-11-29T20:34:10.465517+00:00", "exception": false, "start_time": "2026-11-29T20:33:59.559989+00:00", "status": "completed"}
curse_fig = webfigures.curse_figure(dims, sizes[-1], seed=seed, device=torch_device)
glue("curse_n", sizes[-1], display=False)
curse_fig

# %% [markdown] papermill={"duration": 0.028201, "end_time": "2026-11-29T20:34:10.516324+00:00", "exception": false, "start_time": "2026-11-29T20:34:10.488123+00:00", "status": "completed"}
# In JupyterLab (`make lab`), the explorer below recomputes the same figure for any $D$ and $n$.

# %% papermill={"duration": 0.050697, "end_time": "2026-11-29T20:34:10.602784+00:00", "exception": false, "start_time": "2026-11-29T20:34:10.552087+00:00", "status": "completed"}
if interactive:
    display(widgets.curse_explorer(seed=seed, device=torch_device))  # noqa: F821 (IPython's display)

# %% [markdown] papermill={"duration": 0.032076, "end_time": "2026-11-29T20:34:10.660159+00:00", "exception": false, "start_time": "2026-11-29T20:34:10.628083+00:00", "status": "completed"}
# ## Thesis versus this book
#
# The thesis states the curse qualitatively; here is its statement next to what the fitted power laws say.

# %% papermill={"duration": 0.061106, "end_time": "2026-11-29T20:34:10.753225+00:00", "exception": false, "start_time": "2026-11-29T20:34:10.692119+00:00", "status": "completed"} tags=["nbval-check-output"]
thesis_vs_book([
    ("samples needed vs D", "grows exponentially", f"x{knn_errors[dims[-1]][0] / knn_errors[dims[-1]][-1]:.2f} "
     f"error gain for x{sizes[-1] // sizes[0]} samples at D={dims[-1]}", f"1-NN, n={sizes[0]}..{sizes[-1]}"),
    ("D beyond reach with 1e3-1e9 samples", "D above 10", ", ".join(
        f"D={D}" for D in dims if n_needed[D] > 1e9) or "none", "n for 10 % relative error"),
])

# %% [markdown] papermill={"duration": 0.020169, "end_time": "2026-11-29T20:34:10.804268+00:00", "exception": false, "start_time": "2026-11-29T20:34:10.784099+00:00", "status": "completed"}
# ## What this shows
#
# The additive estimator decays at least as fast as the two-dimensional Lipschitz rate $n^{-1/2}$ (faster, since
# each $F_k$ is smooth away from its kinks), while the global kernel, on the very same data, improves only
# slowly: separation turned a 16-dimensional problem into eight 2-dimensional ones, and "the number $K$ of
# functions does not affect the dimensionality of the problem" {cite}`thiry2021thesis`. The rest of the book
# asks when such a separation is *true* of real data: for atomic energies, whose contributions are
# neighbourhoods of a few ångströms (chapters 1–4), and for images, whose patches are the sub-variables
# (chapters 5–6).
