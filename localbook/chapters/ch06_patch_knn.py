"""Chapter 06, the whitened-patch k-nearest-neighbour classifier and the dimension of patches (thesis ch. 5):
its settings at each scale.

The thesis' numbers are CIFAR-10's (50,000 training images, |D| = 2,048 for its 82.5 %, 175 epochs at learning
rate 0.003 on GPUs). Here: "quick" is a subset of Fashion-MNIST that 2 CPU cores encode and train in under 5
minutes (the book's CI runs every chapter): one seed, two ablations (noise dictionary, no whitening) and one
extra dictionary size; ``n_seeds=3`` gives error bars and the ``sweep_*`` lists more points, at proportional
cost. "medium"
is all of Fashion-MNIST (55,000 images to train on, 5,000 held out for validation, the 10,000 test images) with
the thesis' dictionary size |D| = 2,048, its codes kept on disk (14 GB), trained for fewer epochs at a larger
learning rate (430 steps per epoch instead of CIFAR's 390 at 175 epochs would take a day on 2 cores); "thesis"
is CIFAR-10 with the thesis' settings (the dataset must be installed: ``localbook.data.images.load_cifar10``).
"""
from __future__ import annotations

from functools import partial

from localbook.chapters import quick_run_seconds
from localbook.images.patch_knn import ABLATIONS
from localbook.params import Choice, Float, Int, ListOf, Presets, Setting

_SIZES = ListOf(Int(2, 200_000), min_len=0)
_FRACTIONS = ListOf(Float(0.001, 0.999), min_len=0)
_REGS = ListOf(Float(1e-8, 100.0), min_len=0)
_ABLATIONS = ListOf(Choice(*ABLATIONS), min_len=0)


def _map_size(v: dict) -> int:
    """Side of the pooled code maps: (N - P + 1 - k1) // s1 + 1 for N x N images (28: Fashion-MNIST, 32: CIFAR)."""
    side = 32 if v["dataset"] == "cifar-10" else 28
    return (side - v["patch_size"] + 1 - v["pool_size"]) // v["pool_stride"] + 1


def _combination(v: dict) -> list[str]:
    problems = []
    side = 32 if v["dataset"] == "cifar-10" else 28
    if v["patch_size"] + v["pool_size"] - 1 > side:
        problems.append(f"patch_size ({v['patch_size']}) + pool_size ({v['pool_size']}) - 1 exceeds the image side "
                        f"({side} px): choose smaller ones")
    elif _map_size(v) < v["k3"]:
        problems.append(f"k3 ({v['k3']}) exceeds the pooled code maps ({_map_size(v)} x {_map_size(v)} with "
                        f"patch_size {v['patch_size']}, pool_size {v['pool_size']}, pool_stride {v['pool_stride']}): "
                        "use a smaller k3 or pool_stride")
    if v["n_patches"] < 2 or round(v["k_fraction"] * v["n_patches"]) >= v["n_patches"]:
        problems.append(f"k_fraction ({v['k_fraction']}) x n_patches ({v['n_patches']}) must leave K < |D|")
    if v["dim_n_neighbors"] >= v["dim_n_patches"]:
        problems.append(f"dim_n_neighbors ({v['dim_n_neighbors']}) must be smaller than dim_n_patches "
                        f"({v['dim_n_patches']})")
    if v["dataset"] == "fashion-mnist" and v["n_train"] + v["n_val"] > 60_000:
        problems.append(f"n_train + n_val ({v['n_train'] + v['n_val']:,}) exceeds Fashion-MNIST's 60,000 images")
    if v["dataset"] == "cifar-10" and v["n_train"] + v["n_val"] > 50_000:
        problems.append(f"n_train + n_val ({v['n_train'] + v['n_val']:,}) exceeds CIFAR-10's 50,000 images")
    return problems


def _run_work(v: dict, n_patches: int, patch_size: int, seeds: int) -> float:
    """Multiply-adds of one patch k-NN run: the encoding (scores and selection over every patch position of every
    image, both halves) and the classifier's training (forward and backward of the 1 x 1 reduction)."""
    side = 32 if v["dataset"] == "cifar-10" else 28
    positions = (side - patch_size + 1) ** 2
    images = v["n_train"] + v["n_val"] + v["n_test"]
    encode = images * positions * 2 * n_patches * (3 * patch_size ** 2 + 12)
    train = 3 * v["epochs"] * v["n_train"] * 2 * n_patches * _map_size(v) ** 2 * v["bottleneck"]
    return seeds * (encode + train)


def _work(v: dict) -> float:
    base = _run_work(v, v["n_patches"], v["patch_size"], v["n_seeds"])
    hidden = 3 * v["epochs"] * v["n_train"] * 2 * v["n_patches"] * _map_size(v) ** 2 * v["hidden_bottleneck"] \
        * v["hidden_k2"] ** 2 * v["n_seeds"]
    ablations = len(v["ablations"]) * _run_work(v, v["n_patches"], v["patch_size"], 1)
    sweeps = sum(_run_work(v, n, v["patch_size"], 1) for n in v["sweep_n_patches"]) \
        + sum(_run_work(v, v["n_patches"], p, 1) for p in v["sweep_patch_size"]) \
        + (len(v["sweep_k_fraction"]) + len(v["sweep_reg"])) * _run_work(v, v["n_patches"], v["patch_size"], 1)
    dims = len(v["dim_patch_sizes"]) * 2 * v["dim_n_patches"] ** 2 * 64
    return float(base + hidden + ablations + sweeps + dims)


def _memory_gb(v: dict) -> float:
    """Codes kept in memory (one byte per window sum; on disk with code_storage="disk"), the images, and the
    largest batch of scores (32 images x positions x |D| floats)."""
    side = 32 if v["dataset"] == "cifar-10" else 28
    images = v["n_train"] + v["n_val"] + v["n_test"]
    codes = images * 2 * v["n_patches"] * _map_size(v) ** 2 * (v["n_seeds"] if v["code_storage"] == "memory" else 0)
    scores = 3 * 32 * (side - v["patch_size"] + 1) ** 2 * v["n_patches"] * 4
    return (codes + images * 3 * side * side * 4 + scores) / 1e9 + 1.0


PRESETS = Presets("06_patch_knn", {
    "dataset": Setting(("fashion-mnist", "cifar-10"), quick="fashion-mnist", thesis="cifar-10",
                       help="image dataset (CIFAR-10 must be installed: localbook.data.images.load_cifar10)"),
    "n_train": Setting((int, 20, 60_000), quick=1000, medium=55_000, thesis=45_000, smoke=200,
                       thesis_value="50,000", help="training images (class-balanced)"),
    "n_val": Setting((int, 10, 10_000), quick=500, medium=5000, smoke=50, thesis_value="none (test reported)",
                     help="validation images held out of the training set (the convergence curves)"),
    "n_test": Setting((int, 10, 10_000), quick=1000, medium=10_000, smoke=100, thesis_value="10,000",
                      help="test images (class-balanced)"),
    "n_patches": Setting((int, 2, 200_000), quick=256, medium=2048, smoke=32,
                         thesis_value="2,048 (82.5 %); up to 64,000", help="|D|, dictionary size before -D"),
    "patch_size": Setting((int, 1, 16), quick=6, help="P, patch side (px)"),
    "k_fraction": Setting((float, 0.001, 0.999), quick=0.4, help="K / |D|"),
    "whitening_reg": Setting((float, 1e-8, 100.0), quick=1e-3, help="lambda (the author's code: epsilon)"),
    "pool_size": Setting((int, 1, 32), quick=5, help="k1, window of the code sums"),
    "pool_stride": Setting((int, 1, 32), quick=3, help="s1, stride of the code sums"),
    "bottleneck": Setting((int, 1, 8192), quick=128, smoke=16, help="c2 of the linear classifier"),
    "k3": Setting((int, 1, 32), quick=5, thesis=6, help="k3, last convolution (5 keeps a 3 x 3 output on 28 px)"),
    "hidden_bottleneck": Setting((int, 1, 8192), quick=64, medium=256, thesis=2048, smoke=16,
                                 help="c2 of the one-hidden-layer classifier"),
    "hidden_k2": Setting((int, 1, 7), quick=3, medium=1, thesis=3, smoke=1,
                         help="k2 of the one-hidden-layer classifier"),
    "epochs": Setting((int, 1, 1000), quick=15, medium=8, thesis=175, smoke=2,
                      help="epochs (learning rate / 10 at 4/7 and 6/7 of them)"),
    "lr": Setting((float, 1e-6, 10.0), quick=0.01, thesis=0.003, help="initial SGD learning rate (momentum 0.9)"),
    "batch_size": Setting((int, 8, 4096), quick=32, medium=128,
                          help="mini-batch (the thesis' 128; 32 gives 1,000 images enough SGD steps per epoch)"),
    "n_seeds": Setting((int, 1, 10), quick=1, medium=1, smoke=1, thesis_value="1",
                       help="seeds (dictionary, initialisation, batch order) of the main rows"),
    "code_storage": Setting(("memory", "disk"), quick="memory", medium="disk",
                            thesis_value="GPU memory (re-encoded each epoch)",
                            help="where the codes live ('disk': memory-mapped temporary files)"),
    "cnn_width": Setting((int, 2, 1024), quick=32, medium=64, smoke=4, thesis_value="AlexNet (89.1 %)",
                         help="width of the end-to-end CNN baseline"),
    "ablations": Setting(_ABLATIONS, quick=["noise dictionary", "no whitening"], medium=[], thesis=list(ABLATIONS),
                         help="one-ingredient changes (table 5.3, section 5.3.1), on one seed"),
    "sweep_n_patches": Setting(_SIZES, quick=[64], medium=[], smoke=[16], thesis=[512, 1024, 4096, 16_384],
                               thesis_value="500 to 64,000", help="extra |D| values (fig. 5.3)"),
    "sweep_patch_size": Setting(_SIZES, quick=[], medium=[], smoke=[], thesis=[4, 5, 7, 8],
                                thesis_value="4 to 9 (the author's Q)", help="extra P values (fig. 5.3)"),
    "sweep_k_fraction": Setting(_FRACTIONS, quick=[], medium=[], thesis=[0.1, 0.2, 0.3, 0.5, 0.6],
                                thesis_value="0.1 to 0.9", help="extra K / |D| values (fig. 5.3)"),
    "sweep_reg": Setting(_REGS, quick=[], medium=[], smoke=[], thesis=[1e-5, 1e-4, 1e-2, 1e-1],
                         thesis_value="1e-5 to 1e-1 (the author's epsilon)", help="extra lambda values (fig. 5.3)"),
    "dim_patch_sizes": Setting([int, 1, 32], quick=[2, 3, 4, 5, 6, 7, 8], smoke=[2, 4],
                               thesis_value="2 to 8 (fig. 5.4), up to 20 (fig. 5.5)",
                               help="P of the dimension study"),
    "dim_n_patches": Setting((int, 50, 100_000), quick=2000, medium=8000, thesis=16_000, smoke=200,
                             help="distinct patches whose local d_int is averaged"),
    "dim_n_neighbors": Setting((int, 3, 20_000), quick=500, medium=2000, thesis=4000, smoke=20,
                               help="K of the Levina-Bickel estimate"),
    "photo_downsample": Setting((int, 1, 16), quick=2, smoke=4, thesis_value="-",
                                help="block averaging of the photographs before taking patches"),
}, check=_combination, work=_work, memory_gb=_memory_gb,
    reference_seconds=partial(quick_run_seconds, "06_patch_knn"))
