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

# %% [markdown]
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

# %% tags=["parameters"]
scale = "quick"        # "quick" (CI, minutes on 2 cores), "medium" (~1 h on 2 cores), "thesis" (GPU)
dims = None            # input dimensions D of the generic-target experiment (None: the scale's value)
n_train_min = None     # smallest training set
n_train_max = None     # largest training set (k-NN); sizes are powers of two in between
n_test = None          # test points per experiment
k_neighbours = None    # k of k-nearest-neighbour regression
separable_dim = None   # D of the separable-target experiment
block_dim = None       # D_k: dimension of each sub-variable s^k (blocks of neighbouring coordinates)
krr_n_max = None       # largest training set of kernel ridge regression (an n x n Cholesky)
device = "auto"
interactive = True
smoke = False
seed = 0

# %%
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from myst_nb import glue

from localbook import curse
from localbook import params, webfigures, widgets
from localbook.chapters import ch00_local_methods as chapter
from localbook.device import pick_device, seed_everything
from localbook.plotting import learning_curves, text_table, thesis_vs_book, use_book_style

params.check(globals(), chapter.PRESETS)
torch_device = pick_device(device)
seed_everything(seed)
use_book_style()
sizes = [n_train_min * 2**i for i in range(int(np.log2(n_train_max / n_train_min)) + 1)]
print(f"device {torch_device}; training sizes {sizes[0]} ... {sizes[-1]}")

# %% [markdown]
# ## A generic Lipschitz target
#
# The target is the distance to a few random points, $F(x) = \min_j \|x - c_j\|_2$ on $[0, 1]^D$: it is
# 1-Lipschitz, has kinks along the boundaries of the Voronoi cells of the $c_j$, and does not separate into
# functions of fewer variables. The estimator is the simplest local average, $k$-nearest-neighbour regression.
# Its error is bounded by the distance from a test point to its nearest training sample, which shrinks like
# $n^{-1/D}$: to divide the error by two, one needs $2^D$ times more samples. The trivial baseline, predicting
# the mean of the training targets, has a relative error of 1 at every $n$.

# %%
knn_errors = curse.knn_curves(dims, sizes, n_test=n_test, k=k_neighbours, seed=seed, device=torch_device)
fit_from = len(sizes) // 3  # fit the asymptotic regime, not the first few points
fig, ax = plt.subplots()
knn_slopes = learning_curves(ax, sizes, {f"D = {D}": knn_errors[D] for D in dims},
                             reference_slopes={f"D = {D}": -1 / D for D in dims}, fit_from=fit_from)
ax.set_title(f"{k_neighbours}-NN regression of a Lipschitz target on $[0,1]^D$")
plt.show()

# %% [markdown]
# The fitted exponents follow $-1/D$ (at $D = {glue:text}`largest_dim`, the fit gives
# {glue:text}`slope_largest_dim:+.3f` against {glue:text}`theory_largest_dim:+.3f`). Extrapolating each fitted
# power law says how many samples would be needed for a relative error of 10 % — the exponential growth the
# thesis calls the curse of dimensionality.

# %% tags=["nbval-check-output"]
rows, n_needed = curse.curse_table(sizes, knn_errors, fit_from=fit_from)
glue("largest_dim", int(dims[-1]), display=False)
glue("slope_largest_dim", float(knn_slopes[f"D = {dims[-1]}"]), display=False)
glue("theory_largest_dim", -1 / dims[-1], display=False)
text_table(rows, header=("D", "fitted slope", "theory -1/D", f"k-NN error at n={sizes[-1]}",
                         "mean predictor (baseline)", "n for 10 % error"))

# %% [markdown]
# ## Why: in high dimension, the nearest neighbour is not near
#
# A local average works when some samples are close to the test point. In $[0,1]^D$ the distance to the
# nearest of $n$ uniform points approaches the mean distance to all of them as $D$ grows, so "local" loses its
# meaning.

# %% tags=["nbval-check-output"]
ratio_rows = [(D, f"{curse.curse_demo(D, sizes[-1], n_test=min(n_test, 500), seed=seed)['ratio']:.2f}")
              for D in dims]
text_table(ratio_rows, header=("D", f"nearest / mean distance, n={sizes[-1]}"))

# %% [markdown]
# ## A separable target: the local estimator keeps the low-dimensional rate
#
# Now $D$ = {glue:text}`separable_dim` and the target separates into $K = D / D_k$ functions of blocks of
# $D_k$ = {glue:text}`block_dim` neighbouring coordinates, $F(x) = \sum_k F_k(s^k)$, each $F_k$ a distance to
# random points in $[0, 1]^{D_k}$. Two
# kernel ridge regressions with the same Laplace kernel $e^{-\|u - u'\| / \ell}$ are compared, next to the
# trivial baseline, a least-squares affine fit $w \cdot x + b$:
#
# * **global**: the kernel on the whole input, $k(x, x') = e^{-\|x - x'\| / \ell}$;
# * **local (additive)**: the average of the kernel over the sub-variables,
#   $k(x, x') = \frac1K \sum_k e^{-\|s^k - s'^k\| / \ell_k}$, whose functions are exactly the sums
#   $\sum_k F_k(s^k)$ of eq. (1.1).
#
# Both kernels interpolate (ridge $\alpha = 10^{-8}$); length scales are the root-mean-square distance between
# uniform points of each block, $\sqrt{D_k / 6}$.

# %%
separable = curse.SeparableTarget.random(separable_dim, block_dim, seed=seed, device=torch_device)
krr_sizes = [s for s in sizes if s <= krr_n_max]
krr_errors = curse.separable_curves(separable, krr_sizes, n_test=n_test, seed=seed, device=torch_device)
glue("separable_dim", int(separable_dim), display=False)
glue("block_dim", int(block_dim), display=False)
glue("n_blocks", int(separable_dim // block_dim), display=False)
reference = {"global kernel": -1 / separable_dim, "additive (local) kernel": -1 / block_dim}
fig, ax = plt.subplots()
krr_slopes = learning_curves(ax, krr_sizes, krr_errors, reference_slopes=reference)
ax.set_title(f"Separable target, D = {separable_dim}, sub-variables of dimension {block_dim}")
plt.show()

# %% tags=["nbval-check-output"]
glue("additive_slope", float(krr_slopes["additive (local) kernel"]), display=False)
glue("global_slope", float(krr_slopes["global kernel"]), display=False)
glue("additive_over_global", float(krr_errors["global kernel"][-1] / krr_errors["additive (local) kernel"][-1]),
     display=False)
text_table([(name, f"{krr_slopes[name]:+.2f}", f"{reference[name]:+.2f}" if name in reference else "-",
             f"{krr_errors[name][-1]:.3f}") for name in krr_errors],
           header=("estimator", "fitted slope", "Lipschitz rate -1/dim", f"error at n={krr_sizes[-1]}"))

# %% [markdown]
# The additive estimator decays at slope {glue:text}`additive_slope:+.2f`, at least as fast as the
# $D_k$-dimensional Lipschitz rate $n^{-1/D_k}$ (faster, since each $F_k$ is smooth away from its kinks), while the
# global kernel, on the very same data, improves at slope {glue:text}`global_slope:+.2f`; at the largest
# training set its error is {glue:text}`additive_over_global:.1f` times the additive one. The affine baseline
# stalls at the error of the best linear approximation, whatever $n$.
#
# ## Try it
#
# Move the slider over $D$: the histograms compare, for 500 test points, the distance to the nearest of the
# {glue:text}`largest_n` training samples with the mean distance to all of them (the figure works in the page,
# without a kernel). In Jupyter, with `interactive = True`, the cell after it builds an explorer over both $D$
# and $n$.

# %%
glue("largest_n", int(sizes[-1]), display=False)
webfigures.curse_figure(dims, sizes[-1], seed=seed, device=torch_device)

# %% tags=["hide-cell"]
if interactive:
    display(widgets.curse_explorer(seed=seed, device=torch_device))

# %% [markdown]
# ## Thesis versus this book
#
# The thesis states the curse qualitatively; here is its statement next to what the fitted power laws say. The same
# table at the medium scale: {ref}`run-00-local-methods-medium`.

# %% tags=["nbval-check-output"]
thesis_vs_book([
    ("samples needed vs D", "grows exponentially", f"x{knn_errors[dims[-1]][0] / knn_errors[dims[-1]][-1]:.2f} "
     f"error gain for x{sizes[-1] // sizes[0]} samples at D={dims[-1]}", f"1-NN, n={sizes[0]}..{sizes[-1]}"),
    ("D beyond reach with 1e3-1e9 samples", "D above 10", ", ".join(
        f"D={D}" for D in dims if n_needed[D] > 1e9) or "none", "n for 10 % relative error"),
    ("separable target, local vs global", "local escapes the curse",
     f"slopes {krr_slopes['additive (local) kernel']:+.2f} vs {krr_slopes['global kernel']:+.2f}",
     f"D={separable_dim}, D_k={block_dim}, n<={krr_sizes[-1]}"),
])

# %% [markdown]
# ## What this shows
#
# Separation turned a {glue:text}`separable_dim`-dimensional problem into {glue:text}`n_blocks` problems of
# dimension {glue:text}`block_dim`, and "the number $K$ of functions
# does not affect the dimensionality of the problem" {cite}`thiry2021thesis`. The rest of the book asks when such
# a separation is *true* of real data: for atomic energies, whose contributions are neighbourhoods of a few
# ångströms (chapters 01–04), and for images, whose patches are the sub-variables (chapters 05–06).
