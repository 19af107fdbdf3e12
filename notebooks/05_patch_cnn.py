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
# # A scattering patch network
#
# Can a convolutional network that only ever looks at small image patches classify images well? Chapter 4 of
# the thesis builds such a network from a fixed **scattering transform** $Sx(u)$, whose value at each position
# $u$ describes a patch of the image, followed by a learned **local encoding** $\Phi$ (a stack of $1\times 1$
# convolutions), a global average over positions and a linear classifier $W$ {cite}`thiry2021thesis`:
#
# $$F(x) = W \sum_u \Phi(Sx(u)) = \sum_u W\,\Phi(Sx(u)).$$
#
# The decision is a sum of **patch evidences** $W\Phi(Sx(u))$, as in the BagNets {cite}`brendel2019`.
# On ImageNet the thesis reports 84.5 % top-5 accuracy with $32\times 32$ patches, against 41.6 % for a linear
# classifier on the same scattering coefficients. ImageNet is not available offline; this chapter runs the
# same architecture and ablations on **Fashion-MNIST** {cite}`xiao2017fashion`, at a quick scale, and documents
# the command for the ImageNet run.

# %% tags=["parameters"]
dataset = "fashion-mnist"  # "fashion-mnist" or "cifar-10" (needs the CIFAR-10 files); thesis: ImageNet 2012
n_train = 5000             # class-balanced training subset; thesis: 1.28 million ImageNet images
n_test = 1000              # class-balanced test subset; thesis: 50,000 validation images
J = 2                      # scattering scales, patches of ~2**J px; thesis: 4 on 224 px images
oversampling = 1           # o: descriptors every 2**(J - o) px; thesis: 1
max_order = 2              # scattering order; thesis: 2
width = 64                 # n_c, width of the 1 x 1 convolutions; thesis: 2048
depth = 4                  # N, number of encoding layers; thesis: 8
patch = 3                  # 3: 3 x 3 descriptors per patch, 1: one descriptor; thesis: 3
epochs = 6                 # thesis: 100
lr_step = 2                # learning rate divided by 10 every lr_step epochs; thesis: 30
lr = 0.1                   # initial SGD learning rate (momentum 0.9); thesis: 0.1
weight_decay = 1e-5        # thesis: 1e-5
batch_size = 128           # not stated in the thesis
max_shift = 1              # augmentation: random translations by up to max_shift scattering samples
device = "auto"
interactive = True
smoke = False
seed = 0

# %%
import localbook  # noqa: F401  (before kymatio: SciPy shim)
import matplotlib.pyplot as plt
import torch

from localbook import params
from localbook.data.images import load_images
from localbook.device import pick_device, seed_everything
from localbook.images import scattering_cnn as sc
from localbook.images.train_patch_cnn import TrainConfig, Variant, train_variants

params.check(globals(), dataset=("fashion-mnist", "cifar-10"), n_train=(int, 20, 60_000),
             n_test=(int, 10, 10_000), J=(int, 1, 4), oversampling=(int, 0, 2), max_order=(1, 2),
             width=(int, 2, 4096), depth=(int, 2, 16), patch=(1, 3), epochs=(int, 1, 200),
             lr_step=(int, 1, 200), lr=(float, 1e-5, 1.0), weight_decay=(float, 0.0, 0.1),
             batch_size=(int, 8, 4096), max_shift=(int, 0, 4))
if smoke:
    n_train, n_test, width, depth, epochs, lr_step = 200, 100, 8, 2, 1, 1
torch_device = pick_device(device)
rng = seed_everything(seed)
plt.rcParams["figure.dpi"] = 80
progress = not params.headless()  # progress bars in Jupyter, none in headless runs

# %% [markdown]
# ## Data
# A class-balanced subset of the training set and of the test set, images in $[0, 1]$.

# %%
# NBVAL_CHECK_OUTPUT
train = load_images(dataset, "train", n=n_train, seed=seed)
test = load_images(dataset, "test", n=n_test, seed=seed)
print(train.summary())
print(test.summary())

# %% [markdown]
# ## Scattering descriptors of patches
# Kymatio's `Scattering2D` {cite}`andreux2020kymatio` with $L = 8$ angles and scales $0 \le j < J$ gives, per
# colour channel, $1 + JL + L^2 J(J-1)/2$ coefficients at each position $u$, sampled every $2^J$ pixels
# (thesis section 4.1). The thesis used an oversampling factor $o = 1$: a position every $2^{J-1}$ pixels, hence
# overlapping patches. Kymatio has no oversampling in 2-D, so `ScatteringFrontEnd` scatters the $4^o$ copies of
# the image shifted by $2^{J-o}$ pixels and interleaves them; the even positions are exactly the plain transform
# (tested in `tests/test_scattering_cnn.py`). The transform is fixed, so it is computed once and cached.

# %%
# NBVAL_CHECK_OUTPUT
frontend = sc.ScatteringFrontEnd(J, tuple(train.x.shape[-2:]), L=8, max_order=max_order,
                                 oversampling=oversampling)
s_train = sc.cached_scattering_features(frontend, train.x, device=torch_device, progress=progress)
s_test = sc.cached_scattering_features(frontend, test.x, device=torch_device, progress=progress)
y_train, y_test = train.y.to(torch_device), test.y.to(torch_device)
in_channels = train.x.shape[1]
print(f"images {tuple(train.x.shape[1:])} -> scattering {tuple(s_train.shape[1:])}: "
      f"{s_train.shape[1]} channels {sc.scattering_channels(J, 8, max_order)} per colour, "
      f"a descriptor every {frontend.stride} px")

# %% [markdown]
# One order-1 coefficient (scale $j = 0$, first angle) of a test image, without and with oversampling:
# the oversampled map has four times as many descriptors of overlapping patches.

# %%
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
axes[0].imshow(test.x[0, 0].numpy(), cmap="gray")
axes[0].set_title(test.classes[int(test.y[0])], fontsize=9)
axes[1].imshow(s_test[0, 1, ::2 ** oversampling, ::2 ** oversampling].cpu().numpy(), cmap="viridis")
axes[1].set_title("order 1, o = 0", fontsize=9)
axes[2].imshow(s_test[0, 1].cpu().numpy(), cmap="viridis")
axes[2].set_title(f"order 1, o = {oversampling}", fontsize=9)
for ax in axes:
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## The patch network and its ablations
# `PatchNet` is the thesis' local encoder (section 4.2.1): a first convolution over $3 \times 3$ neighbouring
# descriptors (or $1\times1$), then $N-1$ blocks [batch norm, $1\times 1$ convolution of width $n_c$, ReLU], a
# batch norm, the average over $u$ and a linear layer. All models below are trained with the thesis' recipe
# scaled down: cross-entropy, SGD with momentum 0.9, learning rate divided by 10 every `lr_step` epochs, and
# random translations of the descriptor grid (by up to `max_shift` samples of `frontend.stride` pixels) as
# augmentation. As in the thesis, the oversampling, width and depth ablations start from the model with the
# order-2 coefficients removed. Two baselines: a linear classifier on the whole scattering tensor, and an
# ordinary CNN of similar size trained from pixels with the same recipe (translations by the same number of
# pixels).

# %%
n_classes = len(train.classes)
order1_train = sc.select_orders(s_train, in_channels, J, keep_order=1, computed_order=max_order)
order1_test = sc.select_orders(s_test, in_channels, J, keep_order=1, computed_order=max_order)
step = 2 ** oversampling  # every step-th descriptor: exactly the scattering without oversampling
shift = sc.RandomTranslate(max_shift)
c2, c1 = s_train.shape[1], order1_train.shape[1]
variants = {
    "scattering + linear": Variant(lambda: sc.ScatteringLinear(c2, tuple(s_train.shape[-2:]), n_classes),
                                   (s_train, y_train), (s_test, y_test), shift),
    "patch network": Variant(lambda: sc.PatchNet(c2, n_classes, width, depth, patch),
                             (s_train, y_train), (s_test, y_test), shift),
    "1x1 patch (one descriptor)": Variant(lambda: sc.PatchNet(c2, n_classes, width, depth, 1),
                                          (s_train, y_train), (s_test, y_test), shift),
    "order 2 removed": Variant(lambda: sc.PatchNet(c1, n_classes, width, depth, patch),
                               (order1_train, y_train), (order1_test, y_test), shift),
    "order 2 removed, no oversampling": Variant(
        lambda: sc.PatchNet(c1, n_classes, width, depth, patch),
        (order1_train, y_train), (order1_test[..., ::step, ::step].contiguous(), y_test),
        sc.SubsampledTranslate(max_shift, step)),
    "order 2 removed, width halved": Variant(lambda: sc.PatchNet(c1, n_classes, width // 2, depth, patch),
                                             (order1_train, y_train), (order1_test, y_test), shift),
    "order 2 removed, depth halved": Variant(lambda: sc.PatchNet(c1, n_classes, width, depth // 2, patch),
                                             (order1_train, y_train), (order1_test, y_test), shift),
    "end-to-end CNN (pixels)": Variant(lambda: sc.EndToEndCNN(in_channels, n_classes, width),
                                       (train.x.to(torch_device), y_train), (test.x.to(torch_device), y_test),
                                       sc.RandomTranslate(max_shift * frontend.stride)),
}
config = TrainConfig(epochs=epochs, lr=lr, lr_step=lr_step, weight_decay=weight_decay, batch_size=batch_size,
                     seed=seed)
results = train_variants(variants, config, device=torch_device, seed=seed, progress=progress)

# %% [markdown]
# ## Thesis (ImageNet) versus this book
# The thesis' numbers are ImageNet top-5 accuracies (1000 classes; top-1 where reported); here, top-1 accuracy
# on the Fashion-MNIST test subset (10 classes: top-5 is close to 100 % for every model and says little).
# The thesis has no end-to-end CNN of its own; its table 4.1 lists AlexNet (torchvision's numbers).

# %%
# NBVAL_CHECK_OUTPUT
thesis_top5 = {"scattering + linear": 41.6, "patch network": 84.5, "1x1 patch (one descriptor)": 78.8,
               "order 2 removed": 82.2, "order 2 removed, no oversampling": 79.8,
               "order 2 removed, width halved": 80.5, "order 2 removed, depth halved": 79.2,
               "end-to-end CNN (pixels)": 79.1}
thesis_top1 = {"scattering + linear": 23.4, "patch network": 63.8, "end-to-end CNN (pixels)": 56.5}
rows = [[name, thesis_top5[name], thesis_top1.get(name), f"{100 * h.final['top1']:.1f}",
         f"{100 * h.final['top5']:.1f}", f"{sc.count_parameters(m):,}"] for name, (m, h) in results.items()]
print(f"this book: {train.name} subset of {n_train} images, {test.name} subset of {n_test}, {epochs} epochs, "
      f"J={J}, o={oversampling}, n_c={width}, N={depth}")
print("thesis: ImageNet 2012, 1.28 M images, 100 epochs, J=4, o=1, n_c=2048, N=8")
print(sc.format_table(rows, ["model", "thesis top-5 %", "thesis top-1 %", "book top-1 %", "book top-5 %",
                             "parameters"]))

# %% [markdown]
# ## Training curves
# Test accuracy per epoch is measured with the batch-norm running statistics of that epoch; the final numbers
# in the table are measured after one pass that recomputes these statistics exactly on the training set
# (`recalibrate_batchnorm`: after a short training at learning rate 0.1 the running averages lag behind the
# weights).

# %%
fig = sc.plot_training_curves({name: h for name, (m, h) in results.items()},
                              title=f"{train.name}, {n_train} images")
plt.show()

# %% [markdown]
# ## Patch evidence
# Because the classifier is linear after a spatial average, the logits of the patch network are exactly the
# average over positions of the evidences $W\Phi(Sx(u)) + b$ (up to rounding):

# %%
# NBVAL_CHECK_OUTPUT
net = results["patch network"][0]
evidence = sc.patch_evidence(net, s_test)
with torch.no_grad():
    logits = net.eval()(s_test)
gap = (logits - evidence.mean(dim=(2, 3))).abs().max().item()
print(f"evidence maps {tuple(evidence.shape[1:])}; max |logits - mean_u evidence| < 1e-4: {gap < 1e-4}")

# %% [markdown]
# Evidence maps for the true class and for the predicted class, on four correctly and two wrongly classified
# test images (red: for the class, blue: against; one colour scale per image, centred on zero, the bar showing
# the last one). Each coloured square is one position $u$, centred on the pixel $u \times$ `stride`; its value
# depends only on the patch of $\sim 2^J + 2\cdot 2^{J-o}$ pixels around it.

# %%
pred = logits.argmax(1)
right = torch.nonzero(pred == y_test).ravel()[:4]
wrong = torch.nonzero(pred != y_test).ravel()[:2]
show = torch.cat([right, wrong]).cpu()
fig = sc.plot_evidence_maps(test.x[show], evidence[show], test.y[show], test.classes, frontend.stride)
plt.show()

# %% [markdown]
# ## What oversampling changes
# The ablation "no oversampling" is tested on every other descriptor of the oversampled transform, which is
# exactly kymatio's transform without oversampling: same patches, four times fewer of them. It is trained on the
# same translated images as the oversampled model (`SubsampledTranslate`: translate on the fine grid, then
# subsample), so that only the number of patches per image differs. The thesis measured a 2.7-point drop of top-5 accuracy on ImageNet; the table above
# gives the difference at this scale.

# %%
# NBVAL_CHECK_OUTPUT
with_o = results["order 2 removed"][1].final["top1"]
without_o = results["order 2 removed, no oversampling"][1].final["top1"]
print(f"top-1 with o={oversampling}: {100 * with_o:.1f} %, with o=0: {100 * without_o:.1f} %, "
      f"difference {100 * (with_o - without_o):+.1f} points (thesis, ImageNet top-5: +2.7)")

# %% [markdown]
# ## The thesis' scale
# The training loop (`localbook.images.train_patch_cnn`) runs under `torchrun` with DistributedDataParallel:
# NCCL on GPUs, gloo on CPUs, the global batch split over the processes, batch-norm statistics averaged over
# them. A test launches two CPU processes and checks that both end with identical weights. The thesis' ImageNet
# run, on one node with 8 GPUs and the ImageNet 2012 `train/` and `val/` folders:
#
# ```bash
# torchrun --standalone --nproc_per_node=8 -m localbook.images.train_patch_cnn \
#     --dataset imagenet --data-dir /data/imagenet --J 4 --oversampling 1 --max-order 2 \
#     --width 2048 --depth 8 --patch 3 --epochs 100 --lr-step 30 --batch-size 256 --workers 8 \
#     --out runs/scattering_patch_net
# ```
#
# and the full Fashion-MNIST training set on two CPU processes:
#
# ```bash
# torchrun --standalone --nproc_per_node=2 -m localbook.images.train_patch_cnn \
#     --dataset fashion-mnist --J 2 --width 256 --depth 8 --epochs 30 --lr-step 10 --out runs/fmnist
# ```

# %% [markdown]
# ## Explore the evidence maps
# With `interactive = True` (in Jupyter), a slider shows the evidence maps of any test image.

# %%
if interactive:
    import ipywidgets as widgets

    from functools import partial

    widgets.interact(partial(sc.show_evidence, images=test.x, evidence=evidence.cpu(), labels=test.y,
                             classes=test.classes, stride=frontend.stride),
                     index=widgets.IntSlider(0, 0, len(test) - 1))

# %% [markdown]
# ## Summary
# Every decision of the patch network decomposes exactly into patch evidences, and the evidence maps show which
# parts of a garment speak for a class. At this quick scale (5,000 Fashion-MNIST images, 6 epochs, one seed) the
# patch network does **not** beat the linear classifier on the same scattering coefficients (82.7 % against
# 83.9 % top-1 in the run committed with this page), unlike on ImageNet (84.5 % against 41.6 % top-5). This is
# what section 4.1 of the thesis leads one to expect: on simple datasets where "translations and deformations
# dominate intra-class variabilities" a linear classifier on scattering is already good, and the learned local
# encoding pays off on complex datasets with clutter. The ablations go the thesis' way for oversampling
# (+4.5 points), width and depth, and for the 3 x 3 patch, but from a single short run each; differences of
# one or two points are within what another seed or subset could change. The full-scale runs are one
# `papermill -p` or `torchrun` command away (see above).
