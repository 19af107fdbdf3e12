"""Every chapter's "thesis" preset starts (issue 16): it passes ``params.check`` and the first batch (or first
item) of the chapter's expensive per-item work runs at the thesis' settings. That every preset validates and
states its cost is ``tests/test_notebooks.py::test_thesis_preset_of_every_chapter_validates``.

Each test reads the preset through ``params.check`` as the notebook does, then calls the library functions the
notebook calls with those values, on one item or one small batch: a thesis run that would crash after hours of
loading, or at its first step, crashes here in seconds. The thesis' whole runs are for a GPU; nothing here
trains to convergence or measures accuracy. CIFAR-10 is not installed: chapters 05 and 06 use synthetic images of
its shape.
"""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch

from localbook import params
from localbook.chapters import chapter_module

needs_qm9pack = pytest.mark.skipif(importlib.util.find_spec("qm9pack") is None,
                                   reason="PyPI qm9pack (the QM9 CSV files) is not installed")


def _thesis(chapter) -> dict:
    """The values a notebook run with ``-p scale thesis`` gets from its parameters cell (every preset setting
    ``None``), validated by ``params.check``. The memory guard is lifted (``LOCALBOOK_ALLOW_MEMORY=1``): the
    thesis' runs are sized for a larger machine, and what runs here is one item of them."""
    namespace = {"scale": "thesis", **{name: None for name in chapter.PRESETS.settings},
                 "device": "cpu", "interactive": False, "smoke": False, "seed": 0}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(params.MEMORY_OVERRIDE, "1")
        values = params.check(namespace, chapter.PRESETS, show=False)
    assert values["scale"] == "thesis"
    return values


def _synthetic_cifar(n: int, seed: int = 0):
    """``n`` random images of CIFAR-10's shape (3 x 32 x 32 in [0, 1]) with its class names, labels 0, 1, ..."""
    from localbook.data.images import CIFAR10_CLASSES, ImageDataset

    g = torch.Generator().manual_seed(seed)
    return ImageDataset(torch.rand(n, 3, 32, 32, generator=g), torch.arange(n) % 10, CIFAR10_CLASSES,
                        "synthetic CIFAR-10")


def _moved(before: list[torch.Tensor], model: torch.nn.Module) -> int:
    """How many of ``model``'s parameter tensors differ from the copies in ``before``."""
    return sum(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters()))


def test_ch00_first_dimension_of_the_knn_curves_and_first_kernel_size():
    """First batch: the k-NN learning curve of the first dimension (D = 1) over every training size up to the
    thesis' 2^20 points with its 10,000 test points, and the first size of the kernel ridge loop (both kernels and
    the affine baseline). The largest kernel size (16,384: a 2 GB matrix and its Cholesky) is not run."""
    from localbook import curse

    chapter = chapter_module("00")
    v = _thesis(chapter)
    sizes = [v["n_train_min"] * 2**i for i in range(int(np.log2(v["n_train_max"] / v["n_train_min"])) + 1)]
    assert (sizes[0], sizes[-1], v["n_test"]) == (64, 2**20, 10_000)
    errors = curse.knn_curves(v["dims"][:1], sizes, n_test=v["n_test"], k=v["k_neighbours"], seed=0)
    curve = errors[v["dims"][0]]
    assert curve.shape == (len(sizes),) and np.all(np.isfinite(curve)) and np.all(curve > 0)
    slope, _ = curse.fit_power_law(sizes[len(sizes) // 3:], curve[len(sizes) // 3:])
    assert -1.2 < slope < -0.8, slope  # D = 1: the rate n^(-1/D)

    krr_sizes = [s for s in sizes if s <= v["krr_n_max"]]
    assert krr_sizes[-1] == v["krr_n_max"] == 16_384
    target = curse.SeparableTarget.random(v["separable_dim"], v["block_dim"], seed=0)
    krr = curse.separable_curves(target, krr_sizes[:1], n_test=v["n_test"], seed=0)
    assert set(krr) == {"global kernel", "additive (local) kernel", "linear baseline"}
    for name, err in krr.items():
        assert err.shape == (1,) and np.isfinite(err[0]) and 0 < err[0] < 2, name


@needs_qm9pack
def test_ch01_first_units_on_the_thesis_grids():
    """First batch: the closed-form check on the thesis' 128^3 grid (its first unit, l = 0, j = 0, and the first
    odd degree), the invariance table's finest, thesis-only grid step (0.18 Å). The two-Gaussian spectra on the
    thesis' 256^3 grid need about 25 GB (the chapter's memory model; params.check refuses them on a smaller
    machine): their first unit (l = 2) runs at the thesis' box, wavelet width and overlap precision on half that
    side, 128^3."""
    from localbook.data.qm9 import load_qm9_molecules
    from localbook.scattering3d import SolidHarmonicScattering, aliasing, core

    chapter = chapter_module("01")
    v = _thesis(chapter)
    n, sw = v["n_grid_check"], v["sigma_w_ratio"]
    assert n == 128
    box = n / 2
    x = np.arange(n) * box / n - box / 2
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    for l, j in ((0, 0.0), (1, 0.0)):
        u = aliasing.gaussians_first_order([[0, 0, 0]], l, j, 1.0, sw, n, box, device="cpu").numpy()
        ref = core.analytic_first_order(r, l, j, 1.0, sw)
        assert u.shape == (n, n, n) and np.abs(u - ref).max() / ref.max() < 1e-6, (l, j)
        # int U = k^-l; odd l's kink at the atom aliases: the sampled integral is 4e-4 off at l = 1 on this grid
        assert u.sum() * (box / n) ** 3 == pytest.approx(core.analytic_first_order_integral(l, j, 1.0, sw, 1.0),
                                                         rel=1e-3)

    need = chapter.PRESETS.memory_gb(v)
    assert need > 20  # the 256^3 two-Gaussian spectra
    available = params.machine_memory_gb()
    if available is not None and need > 0.9 * available:
        namespace = {"scale": "thesis", **{name: None for name in chapter.PRESETS.settings}, "device": "cpu"}
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv(params.MEMORY_OVERRIDE, raising=False)
            with pytest.raises(params.ParameterError, match="GB of memory"):
                params.check(namespace, chapter.PRESETS, show=False)
    half = v["n_grid_pair"] // 2
    assert chapter.PRESETS.memory_gb({**v, "n_grid_pair": half}) < need / 4
    delta = core.min_distance_for_overlap(1.0, v["eps_o"])
    u = aliasing.gaussians_first_order([[-delta / 2, 0, 0], [delta / 2, 0, 0]], 2, 0.0, 1.0, sw, half,
                                       v["box_sigma"], device="cpu")
    assert u.shape == (half,) * 3 and torch.isfinite(u).all() and float(u.min()) >= 0 and float(u.max()) > 0
    mirrored = torch.roll(torch.flip(u, [0]), 1, 0)  # x -> -x on the grid i * box / n - box / 2
    torch.testing.assert_close(u, mirrored, rtol=0, atol=1e-9 * float(u.max()))

    spacing = min(v["invariance_spacings"])
    assert spacing == 0.18
    methane = load_qm9_molecules(ids=[1]).atoms[0]
    methane.set_cell([14.0, 14.0, 14.0])
    methane.set_pbc(True)
    methane.center()
    shs = SolidHarmonicScattering(J=1, L=2, qs=(0.5, 1.0, 2.0), sigma=0.5, spacing=spacing, grid="cell",
                                  device="cpu", dtype="float64").fit([methane])
    errors = aliasing.invariance_errors(shs, methane, np.random.default_rng(0), n_trials=2)
    assert all(np.isfinite(e) and e < 1e-4 for e in errors.values()), errors


@needs_qm9pack
def test_ch02_scattering_of_the_first_qm9_molecule():
    """First batch: the descriptor of the first molecule of the thesis' draw at its J, l, q and sampling (overlap
    and aliasing precisions, wavelet width, margin). The thesis draws all 130,831 molecules, returned in QM9
    order, so the first is QM9 #1 (methane)."""
    from localbook.atoms.qm9_scattering import qm9_scattering, sampling_protocol
    from localbook.data.qm9 import load_qm9_molecules

    chapter = chapter_module("02")
    v = _thesis(chapter)
    assert v["n_molecules"] == 130_831  # all of qm9pack: the draw is the whole set in QM9 order
    mols = load_qm9_molecules(ids=[1])
    assert mols.atoms[0].get_chemical_formula() == "CH4"
    scattering = qm9_scattering(v["J"], v["ls"], v["qs"], v["eps_o"], v["eps_a"], v["sigma_w_ratio"],
                                v["margin_widths"], max_order=v["max_order"], resolution=v["resolution"],
                                batch_size=v["batch_size"], device="cpu")
    X = scattering.fit_transform(mols.atoms)
    n_j, n_l, n_q = v["J"] + 1, len(v["ls"]), len(v["qs"])
    per_channel = n_q + n_j * n_l * n_q + n_j * (n_j - 1) // 2 * n_l * n_q
    assert X.shape == (1, 3 * per_channel) == (1, 690) and np.all(np.isfinite(X))
    labels = scattering.feature_labels_
    assert {lab.order for lab in labels} == {0, 1, 2} and {lab.l1 for lab in labels if lab.order} == {1, 2, 3}
    assert max(lab.j2 for lab in labels if lab.order == 2) == v["J"]
    assert {lab.q for lab in labels} == set(v["qs"])
    p = sampling_protocol(v["J"], v["eps_o"], v["eps_a"], v["sigma_w_ratio"], v["margin_widths"])
    assert scattering.sigma == pytest.approx(p.sigma) and scattering.spacing == pytest.approx(p.spacing)
    order0 = X[0, [i for i, lab in enumerate(labels) if lab.order == 0 and lab.channel == "Z" and lab.q == 1.0]]
    assert order0.size == 1 and order0[0] > 0  # int rho_Z: the nuclear charges, 10 for methane, times int g


def test_ch03_scattering_and_mbd_of_one_thesis_cell():
    """First item: one cell of the thesis' database. That database (2,500 MD cells of 500 atoms) is built by a
    command of hours and is not available offline; the cell here is the one its build starts from
    (``carbon.initial_cell`` at the thesis' 500 atoms, the seed of run 0), at the densest and the least dense of
    the thesis' densities, without the MD. On it: the scattering of the thesis' 226 coefficients, the two SOAP
    power spectra at the thesis' n_max = l_max = 10, and the MBD@rsSCS labels of the build."""
    from localbook.atoms import carbon, soap
    from localbook.scattering3d import SolidHarmonicScattering, check_wavelets_fit_cells

    chapter = chapter_module("03")
    v = _thesis(chapter)
    spec = carbon.database_spec(v["database"])
    assert spec.n_atoms == (500,) and spec.snapshots_per_run == v["snapshots_per_run"] == 100
    cells = [carbon.initial_cell(spec.n_atoms[0], d, carbon.run_seed(spec.seed, d, 0))
             for d in (max(v["densities"]), min(v["densities"]))]
    assert [len(c) for c in cells] == [500, 500]
    half = check_wavelets_fit_cells(cells, v["scattering_js"], v["sigma_w_angstrom"])
    assert 2 ** max(v["scattering_js"]) * v["sigma_w_angstrom"] <= half
    scattering = SolidHarmonicScattering(J=v["scattering_js"], L=v["scattering_L"], qs=v["scattering_qs"],
                                         sigma=v["sigma_angstrom"], sigma_w=v["sigma_w_angstrom"],
                                         spacing=v["spacing_angstrom"], grid="cell", channels=("ones",),
                                         max_order=v["scattering_max_order"], device="cpu", dtype="float64")
    X = scattering.fit_transform(cells)
    assert X.shape == (2, 226) and np.all(np.isfinite(X))  # the thesis' 226 coefficients per cell

    for r_cut, sigma in ((3.0, 0.5), (6.0, 1.0)):  # the notebook's two SOAP kernels
        (p,) = soap.soap_environments(cells[:1], r_cut, sigma, v["soap_n_max"], v["soap_l_max"])
        assert p.shape == (500, v["soap_n_max"] * (v["soap_n_max"] + 1) // 2 * (v["soap_l_max"] + 1)) == (500, 605)
        assert np.all(np.isfinite(p))
        np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-10)

    (labelled,) = carbon.label_structures(cells[:1], spec.mbd, device="cpu", progress=False)
    energies = {key: labelled.info[key] for key in carbon.ENERGY_KEYS.values()}
    assert all(np.isfinite(e) for e in energies.values()), energies
    assert energies[carbon.TARGET] < 0 and energies["energy_pair_free_ev"] < 0
    assert 0 < energies["alpha_ratio_rsscs"] < 2


def _iron_database(v):
    from localbook.atoms import defect_database
    from localbook.data.fe_defects import find_databases, load_fe_defects, read_meta

    paths, _ = find_databases(v["potentials"], "")
    assert paths, "no defect database at all: the shipped AM04 one is missing"
    p = list(paths)[0]
    full = load_fe_defects(p, paths[p])
    return p, [full[i] for i in defect_database.subset(full, v["max_configs"], 0)], read_meta(paths[p])


def test_ch04_afs_of_the_first_cell_and_the_vacancy_entropy():
    """First items: the formation AFS of the first configuration of the first database at the thesis' n_max,
    l_max and r_cut, and the worked example (a relaxed monovacancy, its Hessians and formation entropy) at the
    preset's cell size, with the AM04 potential."""
    from localbook.atoms import defects, eam, surrogate

    chapter = chapter_module("04")
    v = _thesis(chapter)
    potential, db, meta = _iron_database(v)
    assert len(db) > 0
    x, seconds = surrogate.formation_features(db[:1], meta["a0"], "afs", n_max=v["n_max"], l_max=v["l_max"],
                                              r_cut=v["r_cut"], device="cpu")
    assert x.shape == (1, v["n_max"] * (v["l_max"] + 1)) == (1, 220)
    assert np.all(np.isfinite(x)) and np.abs(x).max() > 0 and seconds >= 0

    pot = eam.load_potential("AM04", device="cpu")
    demo = defects.vacancy_entropy(pot, defects.lattice_parameter(pot), v["demo_cells"], seed=0)
    assert demo["converged"] and demo["check"].is_minimum and demo["check"].n_zero == 3
    assert len(demo["atoms"]) == 2 * v["demo_cells"] ** 3 - 1
    assert np.isfinite(demo["entropy_kb"]) and 0 < demo["entropy_kb"] < 10


def test_ch04_scattering_of_the_first_family_cell():
    """First item of the scattering rows: the formation scattering S^{J,L} of the first unstrained 128-atom
    I2-I4 / V4 cell at the thesis' L = 9 and the preset's Gaussian width (the thesis' 90 coefficients)."""
    from localbook.atoms import defect_database, surrogate

    chapter = chapter_module("04")
    v = _thesis(chapter)
    _, db, meta = _iron_database(v)
    rows = defect_database.select(db, kind=chapter.FAMILY, strain=0.0, n_cells=4)[:v["scat_configs"]]
    assert len(rows) > 0
    cell = db[rows[0]]
    assert cell.info["kind"] in chapter.FAMILY and (cell.info["strain"], cell.info["n_cells"]) == (0.0, 4)
    x, _ = surrogate.formation_features([cell], meta["a0"], "scattering", L=v["scat_L"], sigma=v["scat_sigma"],
                                        batch_size=2, device="cpu")
    assert x.shape == (1, len(surrogate.SCATTERING_J) * (v["scat_L"] + 1)) == (1, 90)
    assert np.all(np.isfinite(x)) and np.abs(x).max() > 0
    from localbook.scattering3d import filters
    assert filters._cached_bank.cache_info().currsize == 0   # the 4.5 GB bank is not kept for the next box


def test_ch05_one_sgd_step_of_the_thesis_patch_network():
    """First batch: two CIFAR-shaped images through the chapter's oversampled scattering (J = 2, o = 1, order 2,
    stored in float16), then one SGD step (forward and backward) of the patch network at the thesis' width 2,048
    and depth 8, with the thesis' recipe, through the chapter's own variant (augmentation included)."""
    from localbook.images import experiments
    from localbook.images.patch_cnn import PatchNet
    from localbook.images.scattering2d import OversampledScattering2D, scatter_datasets, scattering_channels
    from localbook.images.training import PATCH_CNN_RECIPE, train_classifier

    chapter = chapter_module("05")
    v = _thesis(chapter)
    assert (v["dataset"], v["width"], v["depth"], v["epochs"]) == ("cifar-10", 2048, 8, 100)
    data = _synthetic_cifar(2)
    scattering = OversampledScattering2D(v["J"], tuple(data.x.shape[-2:]), L=8, max_order=v["max_order"],
                                         oversampling=v["oversampling"])
    features = scatter_datasets(scattering, {"train": data, "val": data, "test": data}, device="cpu",
                                progress=False, dtype=v["feature_dtype"])
    channels = 3 * sum(scattering_channels(v["J"], 8, v["max_order"]).values())
    side = 32 * 2 ** v["oversampling"] // 2 ** v["J"]
    assert features["train"][0].shape == (2, channels, side, side) == (2, 243, 16, 16)
    assert features["train"][0].dtype == torch.float16 and torch.isfinite(features["train"][0]).all()

    images = {name: (data.x, data.y) for name in ("train", "val", "test")}
    main, ablations = experiments.patch_cnn_variants(
        features, images, in_channels=3, n_classes=10, J=v["J"], max_order=v["max_order"],
        oversampling=v["oversampling"], width=v["width"], depth=v["depth"], patch=v["patch"],
        cnn_width=v["cnn_width"], max_shift=v["max_shift"], ablations=v["ablations"])
    assert len(ablations) == len(v["ablations"]) == 5
    variant = main["patch network"]
    torch.manual_seed(0)
    net = variant.build()
    assert isinstance(net, PatchNet)
    convs = [m for m in net.encoder if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == v["depth"] and {c.out_channels for c in convs} == {v["width"]}
    assert convs[0].kernel_size == (v["patch"], v["patch"]) and convs[0].in_channels == channels
    before = [p.detach().clone() for p in net.parameters()]
    config = PATCH_CNN_RECIPE.with_(epochs=1, lr=v["lr"], weight_decay=v["weight_decay"], batch_size=v["batch_size"])
    history = train_classifier(net, variant.train, config, augment=variant.augment, device="cpu", progress=False)
    assert history.epoch == [1] and history.lr == [v["lr"]]
    assert np.isfinite(history.train_loss[0]) and abs(history.train_loss[0] - math.log(10)) < 1.0
    assert _moved(before, net) == len(before)
    with torch.no_grad():
        logits = net(features["test"][0].float())
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


def test_ch06_encoding_and_one_step_of_both_classifiers():
    """First batch: four CIFAR-shaped images whitened (P = 6), a dictionary of the thesis' |D| = 2,048 distinct
    patches drawn from them, their K-nearest-neighbour codes (K = 0.4 |D|, kept on disk as the preset says), and
    one training step (one batch) of the linear classifier, then of the one-hidden-layer one (c2 = 2,048, k2 = 3)
    on the same codes."""
    from localbook.images import patch_knn
    from localbook.images.training import PATCH_KNN_RECIPE

    chapter = chapter_module("06")
    v = _thesis(chapter)
    assert (v["dataset"], v["n_patches"], v["patch_size"], v["code_storage"]) == ("cifar-10", 2048, 6, "disk")
    data = _synthetic_cifar(4)
    config = patch_knn.PatchKNNConfig(n_patches=v["n_patches"], patch_size=v["patch_size"],
                                      k_fraction=v["k_fraction"], reg=v["whitening_reg"], pool_size=v["pool_size"],
                                      pool_stride=v["pool_stride"], bottleneck=v["bottleneck"], k3=v["k3"],
                                      train=PATCH_KNN_RECIPE.with_(epochs=1, lr=v["lr"], batch_size=v["batch_size"]))
    linear = patch_knn.run_patch_knn(data, data, config, val=data, seeds=(0,), device="cpu", whitening=None,
                                     keep_features=True, storage=v["code_storage"])
    assert linear.dictionary.shape == (v["n_patches"], 3, v["patch_size"], v["patch_size"])
    assert linear.encoder.out_channels == 2 * v["n_patches"]
    codes = linear.features[0]["train"][0]
    side = (32 - v["patch_size"] + 1 - v["pool_size"]) // v["pool_stride"] + 1
    assert codes.shape == (4, 2 * v["n_patches"], side, side) and codes.dtype == torch.uint8
    k = config.n_neighbors
    assert k == round(v["k_fraction"] * v["n_patches"]) == 819
    full = k * v["pool_size"] ** 2  # K ones per position in each half, summed over k1 x k1 positions
    for half in codes.split(v["n_patches"], dim=1):
        counts = half.sum(1, dtype=torch.int64)
        # fewer than K only where two float32 scores tie at the threshold (the encoder's documented rule)
        assert counts.max() == full and counts.min() >= full - v["pool_size"] ** 2
        assert (counts == full).float().mean() > 0.9
    h = linear.histories[0]
    assert h.epoch == [1] and np.isfinite(h.train_loss[0]) and 0 <= h.test_top1 <= 1

    hidden_config = config.with_(hidden=True, k2=v["hidden_k2"], bottleneck=v["hidden_bottleneck"])
    hidden = patch_knn.reclassify(linear, hidden_config, device="cpu")
    reduce = hidden.classifier.reduce
    assert reduce.out_channels == v["hidden_bottleneck"] and reduce.kernel_size == (v["hidden_k2"],) * 2
    assert hidden.classifier.head.kernel_size == (v["k3"], v["k3"])
    assert hidden.histories[0].epoch == [1] and np.isfinite(hidden.histories[0].train_loss[0])


def test_ch07_first_strotss_step_at_the_thesis_size():
    """First batch: one Adam step of the STROTSS-like method with the Sinkhorn distance at each of the thesis'
    four scales up to 512 px, with its 1,024 hypercolumns per step and Sinkhorn's eps = 1e-3, N = 50 (the HED
    VGG-16 and the bundled images of the notebook's defaults)."""
    from localbook.art import images, style
    from localbook.art.vgg import load_vgg16

    chapter = chapter_module("07")
    v = _thesis(chapter)
    assert (v["size"], v["strotss_scales"], v["n_samples"]) == (512, 4, 1024)
    content = images.load_bundled("astronaut", v["size"])
    style_img = images.load_bundled("ihc", v["size"])
    vgg = load_vgg16("hed", pool="avg", device="cpu", seed=0)
    result = style.strotss(content, style_img, vgg, "sinkhorn", scales=v["strotss_scales"], steps=1,
                           n_samples=v["n_samples"], eps=v["sinkhorn_eps"], n_iter=v["sinkhorn_iter"], seed=0,
                           progress=False)
    assert result.image.shape == (1, 3, v["size"], v["size"])
    assert torch.isfinite(result.image).all() and 0 <= float(result.image.min()) <= float(result.image.max()) <= 1
    assert len(result.losses) == v["strotss_scales"] and all(np.isfinite(result.losses))
    assert not torch.equal(result.image, content)


def test_ch08_first_fine_tuning_step_and_first_samples():
    """First batch: the first of the thesis' 2,000 fine-tuning steps of the shipped sketch RNN on KanjiVG (a
    batch of 100 characters, the schedules continued from the shipped run, validation scored as the notebook
    does), then the samples at the first of the thesis' temperatures."""
    from localbook.art import sketch
    from localbook.data import kanjivg

    chapter = chapter_module("08")
    v = _thesis(chapter)
    assert v["fine_tune_steps"] == 2000
    data = kanjivg.load_kanjivg()
    model = sketch.load_pretrained(device="cpu")
    curve = sketch.read_curve()
    start = int(curve["step"][curve["split"] == "val"][-1])
    train_n = [sketch.normalise(s, float(model.scale)) for s in data.train]
    val_n = [sketch.normalise(s, float(model.scale)) for s in data.val]
    before = [p.detach().clone() for p in model.parameters()]
    rows = sketch.train(model, train_n, val_n, 1, lr=1e-4, eval_every=max(1, v["fine_tune_steps"]), n_val_eval=50,
                        seed=0, start_step=start, progress=False)
    assert [(r["step"], r["split"]) for r in rows] == [(start + 1, "train"), (start + 1, "val")]
    assert all(np.isfinite(r[k]) for r in rows for k in ("L_R", "L_s", "L_p", "KL", "nll_per_point"))
    assert _moved(before, model) > 0

    samples = sketch.sample(model, v["n_samples"], temperature=v["temperatures"][0], seed=0)
    assert len(samples) == v["n_samples"] == 12
    for s in samples:
        assert s.ndim == 2 and s.shape[1] == 3 and 1 <= len(s) <= model.config.max_len and np.all(np.isfinite(s))
