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
# # QM9 atomization energies: scattering and multilinear regression
#
# QM9 {cite}`ramakrishnan2014` holds 130,831 small organic molecules (C, H, N, O, F, up to nine heavy atoms)
# with energies from density functional theory (B3LYP). The thesis (section 2.3) maps each molecule to
# three-channel atomic densities, describes them by the solid harmonic wavelet scattering invariants of
# chapter 01, and regresses the atomization energy with linear and *multilinear* models. Its result
# (table 2.1): a linear regression reaches a test mean absolute error of 1.89 kcal/mol and a trilinear one
# 0.56 kcal/mol, close to the kernel methods on local descriptors (HDAD 0.58, SOAP 0.53), with 107,108
# training molecules per fold. This chapter runs the same pipeline at a reduced scale that fits a laptop — by
# default 1,000 molecules, scales $j \le 2$ instead of 4, degrees $l \in \{0, 1, 2\}$, powers
# $q \in \{1/2, 1, 2\}$ and a 0.8 Å grid — and says how to run it at full scale.

# %% tags=["parameters"]
n_molecules = 1000          # molecules drawn at random from QM9; thesis: 130,831 (all; 5 folds of 107,108 + 26,777)
J = 2                       # scales j = 0..J; thesis: 4
ls = [0, 1, 2]              # degrees l of the solid harmonics; thesis text: [1, 2, 3]
qs = [0.5, 1.0, 2.0]        # powers q of the invariant integrals; thesis: [0.5, 1, 2, 3, 4]
sigma_angstrom = 0.8        # width of the atomic Gaussians, Å (thesis: not stated in section 2.3)
spacing_angstrom = 0.8      # grid step, Å (a full-scale run would take ~sigma / 1.5)
margin_angstrom = 3.0       # empty space around each molecule in the box, Å
batch_size = 16             # molecules per scattering batch (GPU: 64 or more)
n_folds = 5                 # cross-validation folds; thesis: 5
multilinear_terms = 16      # number m of products in the multilinear model
multilinear_epochs = 200    # Adam epochs of the multilinear model
device = "auto"
interactive = True
smoke = False
seed = 0

# %%
import matplotlib.pyplot as plt
import numpy as np

import localbook  # noqa: F401  (installs the SciPy shim before kymatio-style code)
from localbook import params
from localbook.data.qm9 import load_qm9_molecules
from localbook.device import pick_device, seed_everything
from localbook.local_methods import fit_power_law
from localbook.plotting import learning_curves, text_table, thesis_vs_book, use_book_style
from localbook.compute import cached_transform
from localbook.regression import MultilinearRegressor, cross_val_predictions, learning_curve, make_linear
from localbook.scattering3d import SolidHarmonicScattering

params.check(globals(), n_molecules=(int, 20, 130_831), J=(int, 0, 6), ls=[int, 0, 6], qs=[float, 0.1, 8.0],
             sigma_angstrom=(float, 0.1, 3.0), spacing_angstrom=(float, 0.05, 2.0),
             margin_angstrom=(float, 0.0, 50.0), batch_size=(int, 1, 4096), n_folds=(int, 2, 20),
             multilinear_terms=(int, 1, 1024), multilinear_epochs=(int, 1, 100_000))
if smoke:  # CI's tiny run: the same code path in a few seconds
    n_molecules, J, ls, qs, n_folds, multilinear_epochs = 48, 1, [0, 1], [1.0], 3, 3
torch_device = pick_device(device)
seed_everything(seed)
use_book_style()
print(f"device {torch_device}")

# %% [markdown]
# ## The molecules
#
# `load_qm9_molecules` reads the CSV files shipped in PyPI's `qm9pack` and draws a seeded random subset. The
# target is the atomization energy, $U_0$ of the molecule minus the $U_0$ of its free atoms (B3LYP references
# of the QM9 paper), in kcal/mol (1 Ha = 627.5095 kcal/mol).

# %%
# NBVAL_CHECK_OUTPUT
mols = load_qm9_molecules(n=n_molecules, seed=seed)
y = mols.atomization_energy_kcal_mol
print(mols.summary())

# %% [markdown]
# ## The descriptor: solid harmonic scattering of three densities
#
# Each molecule becomes three densities, sums of Gaussians of width σ centred on the atoms, weighted by the
# nuclear charge $Z$, the number of valence electrons and the number of core electrons (thesis section 2.3.1).
# The invariants are $\int \rho^q$ (order 0), $\int U_{l,j}[\rho]^q$ (order 1) and
# $\int U_{l,j_2}[U_{l,j_1}[\rho]]^q$ with $j_2 > j_1$ (order 2), computed by chapter 01's
# `SolidHarmonicScattering` in batches and cached on disk.

# %%
scattering = SolidHarmonicScattering(J=J, L=ls, qs=qs, sigma=sigma_angstrom, spacing=spacing_angstrom,
                                     margin=margin_angstrom, channels=("Z", "valence", "core"), max_order=2,
                                     batch_size=batch_size, device=device, progress=not smoke and interactive)
X, seconds_per_molecule = cached_transform(scattering, mols.atoms, "qm9_scattering")

# %%
# NBVAL_CHECK_OUTPUT
fitted = SolidHarmonicScattering(**scattering.get_params()).fit(mols.atoms)  # fit only sizes the box
orders = np.array([lab.order for lab in fitted.feature_labels_])
print(f"S[rho_x]: {X.shape[1]} coefficients per molecule "
      f"(order 0: {np.sum(orders == 0)}, order 1: {np.sum(orders == 1)}, order 2: {np.sum(orders == 2)}); "
      f"j = 0..{J}, l in {ls}, q in {qs}, 3 channels")
print(f"grid {fitted.grid_shape_} over a box of {fitted.box_length_[0]:.3g} Å")

# %% [markdown]
# The cost per molecule of the descriptor on this machine (measured when it was computed, before caching):

# %%
print(f"{seconds_per_molecule * 1e3:.0f} ms per molecule on {torch_device} "
      f"({n_molecules} molecules: {seconds_per_molecule * n_molecules:.0f} s)")

# %% [markdown]
# ## Linear and multilinear regression
#
# The multilinear regression of order $r$ (thesis section 2.3.2) is
#
# $$F(x) = b + \sum_i \nu_i \prod_{k=1}^r \left(\langle S[\rho_x], w_i^{(k)} \rangle + c_i^{(k)}\right),$$
#
# trained with Adam {cite}`kingma2015` on the squared loss over standardised coefficients. $r = 1$ is a linear
# regression; here the linear model is a ridge regression whose penalty is chosen by cross-validation
# (scikit-learn), and the trilinear model ($r = 3$) starts from that ridge solution (its first product is the
# linear form, the others start switched off) and keeps the epoch with the lowest loss on a held-out tenth of its
# training set. Both are evaluated by seeded $k$-fold cross-validation (`n_folds`, 5 as in the thesis): each
# molecule is predicted once, by a model that did not see it.

# %%
linear = make_linear("ridge")
trilinear = MultilinearRegressor(order=3, n_terms=multilinear_terms, n_epochs=multilinear_epochs, batch_size=128,
                                 lr=1e-3, init="ridge", validation_fraction=0.1, device=device, dtype="float64",
                                 random_state=seed)
cv = {"linear": cross_val_predictions(linear, X, y, n_splits=n_folds, seed=seed),
      "trilinear": cross_val_predictions(trilinear, X, y, n_splits=n_folds, seed=seed)}

# %%
n_train = n_molecules - n_molecules // n_folds
print(text_table([(name, f"{res.mae:.3g}", f"{res.mae_std:.2g}", f"{res.errors()['rmse']:.3g}")
                  for name, res in cv.items()],
                 header=("model", "test MAE (kcal/mol)", "std over folds", "test RMSE (kcal/mol)")))
print(f"{n_folds} folds of about {n_train} training and {n_molecules // n_folds} test molecules")

# %% [markdown]
# ## Learning curves
#
# The same folds, with nested training sets of 1/8, 1/4, 1/2 and all of each training part; the last point is the
# cross-validation above. A straight line on log-log axes is a power law $\mathrm{MAE} \propto n^{\alpha}$.

# %%
min_train = n_molecules - int(np.ceil(n_molecules / n_folds))
sizes = [min_train // 8, min_train // 4, min_train // 2]
curves = {name: learning_curve(model, X, y, sizes, n_splits=n_folds, seed=seed)
          for name, model in (("linear", linear), ("trilinear", trilinear))}
train_sizes = sizes + [min_train]
maes = {name: list(curves[name].mae_mean) + [cv[name].mae] for name in curves}
fig, ax = plt.subplots()
slopes = learning_curves(ax, train_sizes, maes, ylabel="test MAE (kcal/mol)")
ax.axhline(1.89, color="C0", ls=":", lw=1, label="thesis linear, n = 107,108")
ax.axhline(0.56, color="C1", ls=":", lw=1, label="thesis trilinear, n = 107,108")
ax.legend(fontsize=8)
ax.set_title(f"QM9 atomization energy, scattering descriptor ({X.shape[1]} coefficients)")
plt.show()

# %%
print(text_table([(name, *[f"{m:.3g}" for m in maes[name]], f"{slopes[name]:+.2f}") for name in maes],
                 header=("model", *[f"n={n}" for n in train_sizes], "fitted slope")))

# %% [markdown]
# The linear model's numbers are checked when the book is tested (they reproduce to the last digit shown). The
# trilinear model's are not: Adam's trajectory depends on the last bits of sums that the number of CPU threads
# reorders, and over a thousand mini-batch steps on a non-convex loss these differences grow to a few tenths of
# kcal/mol.

# %%
# Not byte-compared: this descriptor's ridge picks alpha at the grid's floor (ill-conditioned), so the last
# digit of these errors moves with the BLAS thread count (issue 17 rebuilds the chapter on a resolved descriptor).
print(f"linear (ridge): {n_folds}-fold test MAE {cv['linear'].mae:.3g} kcal/mol; learning curve "
      + ", ".join(f"n={n}: {m:.3g}" for n, m in zip(train_sizes, maes["linear"])))
print("linear MAE by heavy atoms: " + ", ".join(
    f"{k}: {np.mean(np.abs(cv['linear'].y_pred - y)[mols.n_heavy_atoms == k]):.3g}"
    for k in np.unique(mols.n_heavy_atoms)))

# %% [markdown]
# ## Thesis vs this book
#
# Table 2.1 of the thesis, next to what this run measured. The other descriptors (Coulomb matrix
# {cite}`rupp2012`, Bag of Bonds {cite}`hansen2015`, HDAD {cite}`faber2017`, SOAP {cite}`bartok2013,de2016`)
# are quoted by the thesis from their publications and are not re-run here. The last column extrapolates this
# run's fitted power law to the thesis' training size: a guess, not a measurement.

# %%
scale = f"{n_molecules} molecules, ~{min_train} train / fold"
fit_range = f"fit over n={train_sizes[0]}..{min_train}"


def extrapolated(name, n=107_108):
    slope, intercept = fit_power_law(train_sizes, maes[name])
    return f"{np.exp(intercept) * n ** slope:.3g} at n=107,108 (extrapolated)"


print(thesis_vs_book([
    ("Scatt. linear, MAE (kcal/mol)", "1.89", f"{cv['linear'].mae:.3g}", scale),
    ("Scatt. trilinear, MAE (kcal/mol)", "0.56", f"{cv['trilinear'].mae:.3g}", scale),
    ("Scatt. linear, power-law guess", "1.89", extrapolated("linear"), fit_range),
    ("Scatt. trilinear, power-law guess", "0.56", extrapolated("trilinear"), fit_range),
    ("CM KRR, MAE (kcal/mol)", "2.95", "not run", "quoted by the thesis"),
    ("BoB KRR, MAE (kcal/mol)", "1.53", "not run", "quoted by the thesis"),
    ("HDAD KRR, MAE (kcal/mol)", "0.58", "not run", "quoted by the thesis"),
    ("SOAP KRR, MAE (kcal/mol)", "0.53", "not run", "quoted by the thesis"),
    ("training molecules per fold", "107,108", f"{min_train}", f"{n_folds}-fold CV"),
]))

# %% [markdown]
# ## Where the errors are
#
# Out-of-fold predictions against the DFT energies, and the error by molecule size (number of heavy atoms).

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
lo, hi = y.min(), y.max()
for ax, (name, res) in zip(axes, cv.items()):
    ax.scatter(y, res.y_pred, s=4, alpha=0.5)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlabel("DFT atomization energy (kcal/mol)")
    ax.set_ylabel("predicted (kcal/mol)")
    ax.set_title(f"{name}: MAE {res.mae:.3g} kcal/mol")
    ax.locator_params(nbins=5)
plt.tight_layout()
plt.show()

# %%
heavy = mols.n_heavy_atoms
rows = [(k, int(np.sum(heavy == k)), *[f"{np.mean(np.abs(res.y_pred - y)[heavy == k]):.3g}" for res in cv.values()])
        for k in np.unique(heavy)]
print(text_table(rows, header=("heavy atoms", "molecules", *[f"{name} MAE (kcal/mol)" for name in cv])))

# %% [markdown]
# At this scale both errors are several times the thesis' (1.89 and 0.56 kcal/mol), and the trilinear model
# does not beat the linear one: with a few hundred training molecules per fold, the products of coefficients
# cannot be estimated, and early stopping keeps the trilinear model near its linear start. Its learning curve is
# steeper, though, which is the thesis' point seen from afar: the higher-order terms — interactions between
# scales $j$ and degrees $l$ — pay off with $10^5$ training molecules, where the thesis measured the gap. The
# power-law extrapolations in the table above are the straight lines of the log-log plot carried three decades
# further, and say no more than that. The largest errors are on the few small molecules (four to six heavy
# atoms), which are rare in QM9 and hence in the training folds.
#
# ## Full scale
#
# The thesis' setting: every molecule, $j \in \{0, \dots, 4\}$, $l \in \{1, 2, 3\}$,
# $q \in \{1/2, 1, 2, 3, 4\}$, on a GPU. The descriptors are computed in batches and cached, so a second run
# (other regression settings) reuses them. The grid parameters below are a suggestion for σ = 0.5 Å; this command
# was not run for this book:
#
# ```
# papermill notebooks/02_qm9_regression.ipynb out.ipynb -k python3 --cwd notebooks \
#     -p n_molecules 130831 -p J 4 -p ls "[1, 2, 3]" -p qs "[0.5, 1, 2, 3, 4]" \
#     -p sigma_angstrom 0.5 -p spacing_angstrom 0.33 -p margin_angstrom 6 -p batch_size 64 \
#     -p multilinear_epochs 300 -p device cuda -p interactive False
# ```
