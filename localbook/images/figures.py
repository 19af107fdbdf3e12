"""Figures and widgets of the image chapters (thesis chapters 4 and 5): built on the computations of the other
``localbook.images`` modules, never imported by them.

Chapter 4: :func:`plot_scattering_example`, :func:`plot_convergence` (training loss and validation accuracy per
epoch, mean and range over seeds), :func:`plot_evidence_maps`, :func:`pick_examples`, :func:`show_evidence` and
:func:`evidence_browser` (a slider over test images).
Chapter 5: :func:`tile_patches`, :func:`plot_dictionary`, :func:`nearest_atoms`, :func:`plot_nearest_atoms` and
:func:`nearest_atoms_explorer` (sliders over a test image and a patch position), :func:`plot_sweeps`,
:func:`plot_patch_spectra`, :func:`plot_patch_dimensions`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

__all__ = ["plot_scattering_example", "plot_convergence", "plot_evidence_maps", "pick_examples", "show_evidence",
           "evidence_browser", "tile_patches", "plot_dictionary", "nearest_atoms", "plot_nearest_atoms",
           "nearest_atoms_explorer", "plot_sweeps", "plot_patch_spectra",
           "plot_patch_dimensions"]


def _image(img: torch.Tensor) -> np.ndarray:
    """(C, H, W) tensor -> (H, W) or (H, W, C) numpy for imshow (matplotlib warns on tensors)."""
    img = img.detach().cpu()
    return (img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)).numpy()


def plot_scattering_example(image: torch.Tensor, features: torch.Tensor, oversampling: int, title: str = "",
                            channel: int = 1):
    """Three panels: an image (C, H, W), one scattering channel of its features (K, M, M) without
    oversampling (every ``2**o``-th position: kymatio's plain output) and with it. Returns the figure."""
    import matplotlib.pyplot as plt

    step = 2 ** oversampling
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
    img = _image(image)
    axes[0].imshow(img, cmap="gray" if img.ndim == 2 else None)
    axes[0].set_title(title, fontsize=9)
    axes[1].imshow(features[channel, ::step, ::step].cpu().numpy(), cmap="viridis")
    axes[1].set_title(f"channel {channel}, o = 0", fontsize=9)
    axes[2].imshow(features[channel].cpu().numpy(), cmap="viridis")
    axes[2].set_title(f"channel {channel}, o = {oversampling}", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    return fig


def plot_convergence(histories: Mapping[str, Sequence], title: str = ""):
    """Two panels per model (one line each, mean over seeds, shaded min-max range): training loss (nats, log
    scale) and validation top-1 accuracy (%) per epoch. ``histories`` maps a name to a list of
    :class:`~localbook.images.training.History` (one per seed) or to an object with ``histories``. A
    validation curve that has flattened by the last epochs says the training converged. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, hs in histories.items():
        hs = getattr(hs, "histories", hs)
        epochs = np.asarray(hs[0].epoch)
        loss = np.array([h.train_loss for h in hs])
        line, = ax0.plot(epochs, loss.mean(0), label=name)
        ax0.fill_between(epochs, loss.min(0), loss.max(0), color=line.get_color(), alpha=0.2, lw=0)
        if hs[0].val_top1:
            val = 100 * np.array([h.val_top1 for h in hs])
            ax1.plot(epochs, val.mean(0), color=line.get_color(), label=name)
            ax1.fill_between(epochs, val.min(0), val.max(0), color=line.get_color(), alpha=0.2, lw=0)
    ax0.set(xlabel="epoch", ylabel="training loss (nats)", yscale="log")
    ax1.set(xlabel="epoch", ylabel="validation top-1 accuracy (%)")
    ax1.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_evidence_maps(images: torch.Tensor, evidence: torch.Tensor, labels: torch.Tensor, classes,
                       stride: int, n_show: int = 6):
    """A figure: for ``n_show`` images, the image, the evidence map of the true class and of the predicted
    class (the class with the largest mean evidence), drawn on the image's pixel grid (position ``u`` is
    centred on pixel ``stride * u``). One colour scale per image, centred on zero. Returns the figure."""
    import matplotlib.pyplot as plt

    n_show = min(n_show, len(images))
    pred = evidence.mean(dim=(2, 3)).argmax(1)
    fig, axes = plt.subplots(3, n_show, figsize=(1.6 * n_show, 5.2), squeeze=False)
    for i in range(n_show):
        img = images[i].detach().cpu()
        img = (img[0] if img.shape[0] == 1 else img.permute(1, 2, 0)).numpy()  # numpy: matplotlib warns on tensors
        H, W = img.shape[:2]
        ev = evidence[i].detach().cpu().numpy()
        t, p = int(labels[i]), int(pred[i])
        vmax = float(abs(ev[[t, p]]).max())
        extent = (-stride / 2, ev.shape[-1] * stride - stride / 2, ev.shape[-2] * stride - stride / 2, -stride / 2)
        axes[0, i].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[0, i].set_title(("ok " if t == p else "x ") + classes[t], fontsize=8)
        for row, (cls, tag) in enumerate([(t, "true"), (p, "pred")], start=1):
            axes[row, i].imshow(img, cmap="gray" if img.ndim == 2 else None, alpha=0.35)
            im = axes[row, i].imshow(ev[cls], cmap="RdBu_r", vmin=-vmax, vmax=vmax, extent=extent, alpha=0.75)
            axes[row, i].set_xlim(-0.5, W - 0.5)
            axes[row, i].set_ylim(H - 0.5, -0.5)
            axes[row, i].set_title(f"{tag}: {classes[cls]}", fontsize=8)
        for row in range(3):
            axes[row, i].set_axis_off()
    fig.colorbar(im, ax=axes[1:, :].ravel().tolist(), shrink=0.6, label="evidence (logit units)")
    return fig


def pick_examples(predicted: torch.Tensor, labels: torch.Tensor, n_right: int = 4, n_wrong: int = 2) -> torch.Tensor:
    """Indices (CPU) of the first ``n_right`` correctly and first ``n_wrong`` wrongly classified samples."""
    predicted, labels = predicted.cpu(), labels.cpu()
    right = torch.nonzero(predicted == labels).ravel()[:n_right]
    wrong = torch.nonzero(predicted != labels).ravel()[:n_wrong]
    return torch.cat([right, wrong])


def show_evidence(index: int, images: torch.Tensor, evidence: torch.Tensor, labels: torch.Tensor, classes,
                  stride: int) -> None:
    """Draw the evidence maps of test image ``index`` (see :func:`plot_evidence_maps`)."""
    import matplotlib.pyplot as plt

    if not 0 <= index < len(images):
        raise IndexError(f"image index {index} out of range [0, {len(images) - 1}]")
    sl = slice(index, index + 1)
    plot_evidence_maps(images[sl], evidence[sl], labels[sl], classes, stride, n_show=1)
    plt.show()


def evidence_browser(images: torch.Tensor, evidence: torch.Tensor, labels: torch.Tensor, classes, stride: int):
    """A slider over the test images that redraws their evidence maps (ipywidgets ``interact``).

    ``interact`` inspects the callback's signature and ``__name__``; a ``functools.partial`` has no
    ``__name__`` and failed in a browser, so the callback is a named function of the slider value only."""
    import ipywidgets as widgets

    evidence = evidence.detach().cpu()

    def show_test_image(index: int) -> None:
        show_evidence(index, images, evidence, labels, classes, stride)

    return widgets.interact(show_test_image, index=widgets.IntSlider(0, 0, len(images) - 1))


def tile_patches(patches: torch.Tensor, n_cols: int = 16, pad: int = 1) -> np.ndarray:
    """Patches (n, C, P, P) as one image grid (rows, cols[, C]) in [0, 1] for ``imshow``, each patch
    contrast-stretched to its own min-max (as in thesis fig. 5.2). Background between patches is 1 (white).
    """
    if patches.ndim != 4:
        raise ValueError(f"patches must be (n, C, P, P), got {tuple(patches.shape)}")
    p = patches.detach().double().cpu()
    lo = p.amin(dim=(1, 2, 3), keepdim=True)
    hi = p.amax(dim=(1, 2, 3), keepdim=True)
    p = ((p - lo) / (hi - lo).clamp_min(1e-12)).numpy()
    n, c, s, _ = p.shape
    n_rows = -(-n // n_cols)
    cells = np.ones((n_rows * n_cols, c, s + pad, s + pad))
    cells[:n, :, :s, :s] = p                                     # each patch with a white border below/right
    grid = cells.reshape(n_rows, n_cols, c, s + pad, s + pad).transpose(2, 0, 3, 1, 4)
    grid = np.pad(grid.reshape(c, n_rows * (s + pad), n_cols * (s + pad)), ((0, 0), (pad, 0), (pad, 0)),
                  constant_values=1.0)
    return grid[0] if c == 1 else grid.transpose(1, 2, 0)


def plot_dictionary(atoms: torch.Tensor, whitening, n_cols: int = 8):
    """Two panels: dictionary atoms (n, C, P, P) as they are and after whitening (each contrast-stretched,
    thesis fig. 5.2). Returns the figure."""
    import matplotlib.pyplot as plt

    white = whitening.transform(atoms.double()).reshape(atoms.shape)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.6))
    for ax, img, title in zip(axes, [atoms, white], ["raw patches", "whitened"]):
        ax.imshow(tile_patches(img, n_cols=n_cols), cmap="gray", interpolation="nearest")
        ax.set_title(f"{title} (P = {atoms.shape[-1]})")
        ax.axis("off")
    return fig


def nearest_atoms(patch: torch.Tensor, dictionary: torch.Tensor, whitening, k: int) -> dict[str, torch.Tensor]:
    """The ``k`` atoms of ``dictionary`` (n, C, P, P) and their negatives nearest to ``patch`` (C, P, P), in
    whitened space (the patch k-NN's distance, thesis eq. 5.2) and in plain pixel space (the no-whitening
    ablation). The negative of an atom ``d`` is ``2 mu - d``, its mirror around the mean patch (in whitened
    coordinates ``-W(d - mu)``, as in the encoder). Returns ``{"whitened": ..., "pixels": ...}``, each a dict
    of ``index`` (k,) into the 2n atoms and negatives (``>= n``: a negative), ``distance`` (k,) and ``atoms``
    (k, C, P, P) in pixel space; ``k`` larger than 2n is refused."""
    n = len(dictionary)
    if patch.shape != dictionary.shape[1:]:
        raise ValueError(f"patch {tuple(patch.shape)} and dictionary atoms {tuple(dictionary.shape[1:])} differ in "
                         "shape: take the patch with the dictionary's patch size")
    if not 1 <= k <= 2 * n:
        raise ValueError(f"k must be in [1, {2 * n}] (the atoms and their negatives), got {k}")
    mean = whitening.mean_.reshape(dictionary.shape[1:]).to(dictionary.device, torch.float64)
    both = torch.cat([dictionary.double(), 2 * mean - dictionary.double()])
    out = {}
    for space, embed in (("whitened", lambda q: whitening.transform(q.reshape(len(q), -1))),
                         ("pixels", lambda q: q.reshape(len(q), -1))):
        d = torch.cdist(embed(patch[None].double()), embed(both))[0]
        distance, index = torch.topk(d, k, largest=False)
        out[space] = {"index": index, "distance": distance, "atoms": both[index]}
    return out


def plot_nearest_atoms(image: torch.Tensor, row: int, col: int, dictionary: torch.Tensor, whitening, k: int,
                       title: str = ""):
    """The image (C, H, W) with the patch at (``row``, ``col``) outlined, and the ``k`` nearest atoms and
    negatives (:func:`nearest_atoms`) with and without whitening, each contrast-stretched, titled by its distance
    ("neg": a negative).
    Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    size = dictionary.shape[-1]
    height, width = image.shape[-2:]
    if not (0 <= row <= height - size and 0 <= col <= width - size):
        raise ValueError(f"a {size} x {size} patch at ({row}, {col}) leaves the {height} x {width} image: row and "
                         f"col must be in [0, {height - size}] and [0, {width - size}]")
    patch = image[:, row:row + size, col:col + size].to(dictionary.device)
    found = nearest_atoms(patch, dictionary, whitening, k)
    fig = plt.figure(figsize=(2.2 + 0.75 * (k + 1), 3.4))
    grid = fig.add_gridspec(2, k + 4, width_ratios=[1, 1, 0.45] + [1] * (k + 1))  # a gap for the row labels
    ax = fig.add_subplot(grid[:, :2])
    ax.imshow(_image(image), cmap="gray", interpolation="nearest")
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), size, size, fill=False, edgecolor="tab:red", linewidth=2))
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    n = len(dictionary)
    for r, space in enumerate(("whitened", "pixels")):
        cells = [("patch", patch)] + [(f"{float(dist):.2g}{' neg' if int(i) >= n else ''}", a) for i, dist, a in
                                      zip(found[space]["index"], found[space]["distance"], found[space]["atoms"])]
        for c, (label, img) in enumerate(cells):
            ax = fig.add_subplot(grid[r, 3 + c])
            ax.imshow(tile_patches(img[None], n_cols=1, pad=0), cmap="gray", interpolation="nearest")
            ax.set_title(label, fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(space, fontsize=9)
    fig.suptitle(f"the {k} nearest atoms (or negatives, 'neg') of the outlined patch, with and without whitening "
                 "(distances above)", fontsize=9)
    return fig


def nearest_atoms_explorer(images: torch.Tensor, labels: torch.Tensor, classes, dictionary: torch.Tensor,
                           whitening, k: int, show: bool = True):
    """Sliders over the test images and the patch position that redraw :func:`plot_nearest_atoms` (ipywidgets
    ``interactive``, a named callback of the slider values only, as :func:`evidence_browser`); displays the box
    (unless ``show=False``) and returns it: the sliders, then the output area."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    size = dictionary.shape[-1]
    height, width = images.shape[-2:]
    atoms = dictionary.detach()

    def show_nearest_atoms(index: int, row: int, col: int) -> None:
        plot_nearest_atoms(images[index], row, col, atoms, whitening, k,
                           title=f"test image {index}: {classes[int(labels[index])]}")
        plt.show()
        print(f"image {index}, patch at row {row}, column {col}")

    box = w.interactive(show_nearest_atoms,
                        index=w.IntSlider(0, min=0, max=len(images) - 1, description="image"),
                        row=w.IntSlider((height - size) // 2, min=0, max=height - size, description="row"),
                        col=w.IntSlider((width - size) // 2, min=0, max=width - size, description="column"))
    box.add_class("localbook-explorer")
    if show:
        from IPython.display import display

        display(box)
    return box


def plot_sweeps(sweeps: Mapping[str, Mapping[float, object]], log_scale: Sequence[str] = ("n_patches", "reg")):
    """One panel per swept hyper-parameter (thesis fig. 5.3): train (blue) and test (red) accuracy (%) against
    the value, error bars over seeds. ``sweeps[name][value]`` has ``train_accuracies`` and
    ``test_accuracies``. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(4 * len(sweeps), 3.2), squeeze=False)
    for ax, (name, res) in zip(axes[0], sweeps.items()):
        xs = sorted(res)
        for what, color in (("train", "C0"), ("test", "C3")):
            acc = [100 * np.asarray(getattr(res[v], f"{what}_accuracies")) for v in xs]
            ax.errorbar(xs, [a.mean() for a in acc], yerr=[a.std(ddof=1) if len(a) > 1 else 0 for a in acc],
                        fmt="o-", color=color, capsize=3, label=what)
        ax.set_xscale("log" if name in log_scale else "linear")
        ax.set_xlabel(name)
        ax.set_ylabel("accuracy (%)")
        ax.legend()
    fig.tight_layout()
    return fig


def plot_patch_spectra(dimensions: Mapping[str, Sequence[dict]]):
    """Spectrum of ``Sigma^(1/2)`` normalised by its largest value, one panel per image source, one line per
    patch size (thesis fig. 5.4); ``dimensions[source]`` is the output of
    :func:`localbook.images.intrinsic_dim.patch_dimensions`. Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(dimensions), figsize=(5 * len(dimensions), 3.6), squeeze=False)
    for ax, (name, rows) in zip(axes[0], dimensions.items()):
        colors = plt.cm.copper(np.linspace(0.15, 0.85, len(rows)))
        for c, r in zip(colors, rows):
            sv = np.sqrt(r["eigenvalues"])
            ax.semilogy(np.arange(1, len(sv) + 1), sv / sv[0], color=c, label=f"P = {r['patch_size']}")
        ax.set_title(f"spectrum of $\\Sigma^{{1/2}}$, {name}")
        ax.set_xlabel("index")
        ax.set_ylabel("$\\lambda_i / \\lambda_1$")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_patch_dimensions(dimensions: Mapping[str, Sequence[dict]]):
    """Covariance dimension (left) and intrinsic dimension (right) against the extrinsic one ``C P^2``, raw
    and whitened, one line per image source (thesis fig. 5.5). Returns the figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, rows in dimensions.items():
        ext = [r["d_ext"] for r in rows]
        for ax, key, what in zip(axes, ["d_cov", "d_int"], ["covariance dimension", "intrinsic dimension"]):
            ax.plot(ext, [r[key] for r in rows], "o-", label=f"{name}, raw")
            ax.plot(ext, [r[key + "_whitened"] for r in rows], "s--", label=f"{name}, whitened")
            ax.set_title(what)
    top = max(r["d_ext"] for rows in dimensions.values() for r in rows)
    for ax in axes:
        ax.plot([1, top], [1, top], ":", color="gray", label="$d = d_{ext}$")
        ax.set(xscale="log", yscale="log", xlabel="extrinsic dimension $d_{ext} = C P^2$")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
