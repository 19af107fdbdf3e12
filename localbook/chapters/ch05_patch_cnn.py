"""Chapter 05, the scattering patch network (thesis ch. 4): its settings at each scale.

The thesis trains on ImageNet 2012 (1.28 million 224 x 224 images, J = 4, n_c = 2,048, N = 8, 100 epochs on GPUs);
that run is the command line :mod:`localbook.images.train_patch_cnn` under ``torchrun`` (printed in the chapter),
not a preset. Here: "quick" is a subset of Fashion-MNIST that 2 CPU cores train in under 5 minutes (the book's CI
runs every chapter): one seed, n_c = 64 and 20 epochs (a run with n_c = 32 and 12 epochs stayed under-trained,
below logistic regression on pixels), no ablation; ``n_seeds=3`` gives error bars and ``ablations`` section 4.3,
each at proportional cost. "medium" is all of
Fashion-MNIST (55,000 images to train on, 5,000 held out for validation, the 10,000 test images), one seed, the
main models and baselines only; "thesis" is CIFAR-10 (if installed) with the thesis' network (n_c = 2,048, N = 8) and
schedule (100 epochs, learning rate / 10 at 30, 60, 90).
"""
from __future__ import annotations

from functools import partial

from localbook.chapters import quick_run_seconds
from localbook.images.experiments import PATCH_CNN_ABLATIONS
from localbook.images.scattering2d import scattering_channels
from localbook.params import Choice, ListOf, Presets, Setting

_ABLATIONS = ListOf(Choice(*PATCH_CNN_ABLATIONS), min_len=0)


def _side(v: dict) -> int:
    return 32 if v["dataset"] == "cifar-10" else 28


def _combination(v: dict) -> list[str]:
    problems = []
    if _side(v) % 2 ** v["J"]:
        problems.append(f"the image side ({_side(v)} px) is not a multiple of 2**J = {2 ** v['J']}: choose J <= 2 "
                        "for Fashion-MNIST (28 px)")
    if v["oversampling"] > v["J"]:
        problems.append(f"oversampling ({v['oversampling']}) cannot exceed J ({v['J']})")
    if v["max_shift"] >= _side(v) * 2 ** v["oversampling"] // 2 ** v["J"]:
        problems.append(f"max_shift ({v['max_shift']}) must be smaller than the scattering map")
    limit = 60_000 if v["dataset"] == "fashion-mnist" else 50_000
    if v["n_train"] + v["n_val"] > limit:
        problems.append(f"n_train + n_val ({v['n_train'] + v['n_val']:,}) exceeds the {limit:,} training images")
    return problems


def _work(v: dict) -> float:
    """Multiply-adds of the training (forward and backward, 3x the forward; the scattering, computed once and
    cached, and the baselines are small beside it): per image and epoch, the patch networks' first convolution and
    1 x 1 layers at every scattering position, the CNN's four 3 x 3 convolutions."""
    side = _side(v)
    channels = (3 if v["dataset"] == "cifar-10" else 1) * sum(scattering_channels(v["J"], 8, v["max_order"]).values())
    positions = (side * 2 ** v["oversampling"] // 2 ** v["J"]) ** 2
    width, depth = v["width"], v["depth"]
    patch_net = positions * (channels * v["patch"] ** 2 * width + (depth - 1) * width * width)
    cnn_w = v["cnn_width"]
    cnn = side ** 2 * 9 * (cnn_w / 2 + (cnn_w / 2) ** 2) + (side / 2) ** 2 * 9 * (cnn_w ** 2 / 2 + cnn_w ** 2)
    main = v["n_seeds"] * (patch_net + cnn + 2 * positions * channels * 10)
    ablations = len(v["ablations"]) * patch_net * 0.5
    return float(3 * v["epochs"] * v["n_train"] * (main + ablations))


def _memory_gb(v: dict) -> float:
    """The peak is the scattering of the largest split: ``scattering_features`` keeps its float32 batches in a
    list, concatenates them (a second float32 copy) and only then casts to ``feature_dtype`` (a third copy in
    float16), 10 bytes per coefficient in float16 and 8 in float32 -- measured 4.7 x the stored float16
    features for 55,000 Fashion-MNIST images (``resource.getrusage`` around ``cached_scattering_features``).
    Add the stored features of the other splits, the images (three float32 copies) and 1 GB of interpreter
    and libraries."""
    side = _side(v)
    channels = (3 if v["dataset"] == "cifar-10" else 1) * sum(scattering_channels(v["J"], 8, v["max_order"]).values())
    positions = (side * 2 ** v["oversampling"] // 2 ** v["J"]) ** 2
    images = v["n_train"] + v["n_val"] + v["n_test"]
    largest = max(v["n_train"], v["n_val"], v["n_test"])
    bytes_per = 2 if v["feature_dtype"] == "float16" else 4
    transient = 8 + (bytes_per if bytes_per != 4 else 0)
    per_image = channels * positions
    return (largest * per_image * transient + (images - largest) * per_image * bytes_per
            + images * side * side * 3 * 4) / 1e9 + 1.0


PRESETS = Presets("05_patch_cnn", {
    "dataset": Setting(("fashion-mnist", "cifar-10"), quick="fashion-mnist", thesis="cifar-10",
                       thesis_value="ImageNet 2012 (torchrun command below)",
                       help="image dataset (CIFAR-10 must be installed: localbook.data.images.load_cifar10)"),
    "n_train": Setting((int, 20, 60_000), quick=2000, medium=55_000, thesis=45_000, smoke=200,
                       thesis_value="1.28 million", help="training images (class-balanced)"),
    "n_val": Setting((int, 10, 10_000), quick=500, medium=5000, smoke=50, thesis_value="none (validation reported)",
                     help="validation images held out of the training set (the convergence curves)"),
    "n_test": Setting((int, 10, 10_000), quick=1000, medium=10_000, smoke=100, thesis_value="50,000",
                      help="test images (class-balanced)"),
    "J": Setting((int, 1, 4), quick=2, thesis_value="4 (224 px images)", help="scattering scales: patches ~2**J px"),
    "oversampling": Setting((int, 0, 2), quick=1, help="o: a descriptor every 2**(J - o) px"),
    "max_order": Setting((1, 2), quick=2, help="scattering order"),
    "width": Setting((int, 2, 4096), quick=64, medium=128, thesis=2048, smoke=8, help="n_c, width of the encoder"),
    "depth": Setting((int, 1, 16), quick=4, thesis=8, smoke=2, help="N, layers of the encoder"),
    "patch": Setting((1, 3), quick=3, help="3: 3 x 3 descriptors per patch, 1: one"),
    "epochs": Setting((int, 1, 300), quick=20, medium=15, thesis=100, smoke=1,
                      help="epochs (learning rate / 10 at 30 %, 60 % and 90 % of them)"),
    "lr": Setting((float, 1e-5, 1.0), quick=0.1, help="initial SGD learning rate (momentum 0.9)"),
    "weight_decay": Setting((float, 0.0, 0.1), quick=1e-5, help="SGD weight decay"),
    "batch_size": Setting((int, 8, 4096), quick=128, thesis=256, help="mini-batch"),
    "max_shift": Setting((int, 0, 4), quick=1, thesis_value="random rescaled crops and flips",
                         help="augmentation: translations by up to this many scattering samples"),
    "cnn_width": Setting((int, 2, 1024), quick=32, medium=64, smoke=4, thesis_value="AlexNet (torchvision)",
                         help="width of the end-to-end CNN baseline"),
    "n_seeds": Setting((int, 1, 10), quick=1, medium=1, smoke=1, thesis_value="1",
                       help="seeds (initialisation, batch order) of the main models"),
    "ablations": Setting(_ABLATIONS, quick=[], medium=[], smoke=["no oversampling"],
                         thesis=list(PATCH_CNN_ABLATIONS), help="ablations of section 4.3, on one seed"),
    "feature_dtype": Setting(("float32", "float16"), quick="float32", medium="float16",
                             thesis_value="computed on the fly", help="storage of the scattering of every image"),
}, check=_combination, work=_work, memory_gb=_memory_gb,
    reference_seconds=partial(quick_run_seconds, "05_patch_cnn"))
