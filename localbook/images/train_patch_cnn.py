"""Training of the scattering patch network and its baselines, on one process or under ``torchrun``.

The thesis' recipe (section 4.3): cross-entropy, SGD with momentum 0.9 and weight decay 1e-5, initial learning
rate 0.1 divided by 10 every 30 epochs, 100 epochs, random rescaling / cropping / flipping for augmentation.
:class:`TrainConfig` holds these numbers; :func:`train_classifier` runs them on in-memory tensors (a notebook's
quick scale, with scattering precomputed once) or on a ``torch.utils.data.Dataset`` (an ImageNet folder, with
the scattering computed batch by batch on the device, after augmentation).

Distributed training: when ``torch.distributed`` is initialised (``torchrun`` does it through :func:`main`),
the model is wrapped in ``DistributedDataParallel``, each rank takes its shard of every epoch
(``DistributedSampler``, seeded, so the shards partition the same permutation), the global batch
``batch_size`` is split evenly over the ranks, gradients are averaged by DDP, batch-norm running statistics
are averaged over the ranks at the end of each epoch (so every rank ends with identical weights *and*
buffers), and test accuracies are summed over the ranks' shards. Backend: NCCL on GPUs, gloo on CPUs.

The ImageNet-scale run of the thesis, on a node with 8 GPUs (the ``train/`` and ``val/`` folders of ImageNet
2012, one subfolder per class)::

    torchrun --standalone --nproc_per_node=8 -m localbook.images.train_patch_cnn \\
        --dataset imagenet --data-dir /data/imagenet --J 4 --oversampling 1 --max-order 2 \\
        --width 2048 --depth 8 --patch 3 --epochs 100 --lr-step 30 --batch-size 256 --workers 8 \\
        --out runs/scattering_patch_net

and on this laptop, 2 CPU processes on a Fashion-MNIST subset::

    torchrun --standalone --nproc_per_node=2 -m localbook.images.train_patch_cnn \\
        --dataset fashion-mnist --n-train 2000 --n-test 500 --width 32 --depth 2 --epochs 2 --out /tmp/run
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

__all__ = ["TrainConfig", "History", "train_classifier", "evaluate", "recalibrate_batchnorm", "Variant",
           "train_variants", "build_parser", "main"]


@dataclass
class TrainConfig:
    """Optimisation settings; the defaults are the thesis' ImageNet values (section 4.3).

    ``batch_size`` is the global batch, split over the ranks of a distributed run. The learning rate is
    multiplied by ``lr_gamma`` every ``lr_step`` epochs.
    """

    epochs: int = 100
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-5
    lr_step: int = 30
    lr_gamma: float = 0.1
    batch_size: int = 256
    seed: int = 0
    recalibrate_bn: bool = True

    def __post_init__(self):
        for name in ("epochs", "lr_step", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be positive, got {self.lr}")


@dataclass
class History:
    """Per-epoch training curves. Accuracies are fractions in [0, 1]; loss is the mean cross-entropy (nats)."""

    epoch: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_top1: list[float] = field(default_factory=list)
    test_top1: list[float] = field(default_factory=list)
    test_top5: list[float] = field(default_factory=list)
    final_top1: float | None = None  # after the batch-norm recalibration, see :func:`recalibrate_batchnorm`
    final_top5: float | None = None

    def as_dict(self) -> dict[str, list]:
        return asdict(self)

    @property
    def final(self) -> dict[str, float]:
        """Test top-1 / top-5 accuracies of the trained model (after the batch-norm recalibration when done,
        else the last epoch's)."""
        if self.final_top1 is not None:
            return {"top1": self.final_top1, "top5": self.final_top5}
        return {"top1": self.test_top1[-1] if self.test_top1 else float("nan"),
                "top5": self.test_top5[-1] if self.test_top5 else float("nan")}


def _dist() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(torch.is_tensor(t) for t in data):
        if len(data[0]) != len(data[1]):
            raise ValueError(f"inputs and labels differ in length: {len(data[0])} vs {len(data[1])}")
        return TensorDataset(*data)
    raise TypeError("training / test data must be a tuple (x, y) of tensors or a torch.utils.data.Dataset, got "
                    f"{type(data).__name__}")


def _loader(ds: Dataset, batch_size: int, sampler, workers: int) -> DataLoader:
    if isinstance(ds, TensorDataset):  # index the tensors by whole batches: no per-item collation
        return DataLoader(ds, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      persistent_workers=workers > 0)


@torch.no_grad()
def evaluate(model: nn.Module, data, transform: Callable | None = None, batch_size: int = 512, device="cpu",
             workers: int = 0) -> dict[int, float]:
    """Top-1 and top-5 accuracy (fractions) of ``model`` on ``data`` ((x, y) tensors or a Dataset), in eval
    mode; ``transform`` (e.g. a :class:`~localbook.images.scattering_cnn.ScatteringFrontEnd`) is applied to
    each batch first. In a distributed run each rank evaluates its shard and the counts are summed."""
    device = torch.device(device)
    rank, world = _dist()
    ds = _as_dataset(data)
    shard = ds
    if world > 1:  # rank r takes samples r, r + world, ...: a partition, so the summed counts are exact
        shard = (TensorDataset(*(t[rank::world] for t in ds.tensors)) if isinstance(ds, TensorDataset)
                 else Subset(ds, range(rank, len(ds), world)))
    sampler = torch.utils.data.SequentialSampler(shard)
    was_training = model.training
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64, device=device)  # top-1 hits, top-5 hits, n
    for x, y in _loader(shard, batch_size, sampler, workers):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if transform is not None:
            x = transform(x)
        top = model(x).topk(min(5, _n_classes(model, x)), dim=1).indices
        hits = top == y[:, None]
        counts += torch.stack([hits[:, :1].any(1).sum(), hits.any(1).sum(), torch.tensor(len(y), device=device)])
    if world > 1:
        dist.all_reduce(counts)
    model.train(was_training)
    return {1: (counts[0] / counts[2]).item(), 5: (counts[1] / counts[2]).item()}


def _n_classes(model: nn.Module, x: torch.Tensor) -> int:
    m = model.module if hasattr(model, "module") else model
    clf = getattr(m, "classifier", None)
    return clf.out_features if isinstance(clf, nn.Linear) else 5


def _average_buffers(model: nn.Module, world: int) -> None:
    """Average floating-point buffers (batch-norm running statistics) over the ranks; integer buffers (batch
    counters) are taken from rank 0."""
    for buf in model.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf /= world
        else:
            dist.broadcast(buf, 0)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, data, transform: Callable | None = None, batch_size: int = 512,
                          device="cpu", workers: int = 0) -> None:
    """Replace the batch-norm running statistics by their exact averages over ``data`` (no augmentation).

    Running statistics are exponential averages (momentum 0.1) taken while the weights move; after a short
    training at a large learning rate they lag behind the final weights, and the eval-mode network can be far
    worse than the train-mode one (measured: chance level on the test of a toy task, 100 % after this).
    One forward pass in train mode with a cumulative average (``momentum=None``) fixes it. In a distributed
    run each rank averages over its shard and the statistics are then averaged over the ranks.
    """
    device = torch.device(device)
    rank, world = _dist()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    ds = _as_dataset(data)
    shard = ds
    if world > 1:
        shard = (TensorDataset(*(t[rank::world] for t in ds.tensors)) if isinstance(ds, TensorDataset)
                 else Subset(ds, range(rank, len(ds), world)))
    was_training = model.training
    model.train()
    for x, _ in _loader(shard, batch_size, torch.utils.data.SequentialSampler(shard), workers):
        x = x.to(device, non_blocking=True)
        model(transform(x) if transform is not None else x)
    for m, mom in zip(norms, saved):
        m.momentum = mom
    if world > 1:
        _average_buffers(model, world)
    model.train(was_training)


def train_classifier(model: nn.Module, train, test=None, config: TrainConfig | None = None, *,
                     transform: Callable | None = None, augment: Callable | None = None, device="cpu",
                     progress: bool | None = None, workers: int = 0, eval_batch_size: int = 512) -> History:
    """Train ``model`` with cross-entropy and SGD (momentum, weight decay, step schedule); returns a :class:`History`.

    ``train`` / ``test``: (x, y) tensors (x: images or precomputed features) or Datasets yielding (x, y).
    Per batch: ``augment(x, generator)`` (training only), then ``transform(x)`` without gradient (a fixed
    front end such as the scattering), then the model. ``model`` is trained in place on ``device``; under
    an initialised ``torch.distributed`` it is wrapped in DDP (see the module docstring).
    ``progress=None`` shows a bar only in interactive terminals; False silences it.
    """
    from tqdm.auto import tqdm

    config = config or TrainConfig()
    device = torch.device(device)
    rank, world = _dist()
    if config.batch_size % world:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the number of ranks ({world})")
    model = model.to(device)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    ds = _as_dataset(train)
    sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    loader = _loader(ds, config.batch_size // world, sampler, workers)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=config.lr_step, gamma=config.lr_gamma)
    gen_device = device if device.type == "cuda" else torch.device("cpu")
    gen = torch.Generator(device=gen_device).manual_seed(config.seed + 7919 * rank)
    hist = History()
    disable = True if rank != 0 else (None if progress is None else not progress)
    bar = tqdm(range(config.epochs), desc=type(model).__name__, disable=disable)
    for epoch in bar:
        sampler.set_epoch(epoch)
        net.train()
        stats = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, hits, n
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if augment is not None:
                x = augment(x, gen)
            if transform is not None:
                with torch.no_grad():
                    x = transform(x)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            stats += torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                                  torch.tensor(len(y), dtype=torch.float64, device=device)])
        hist.lr.append(opt.param_groups[0]["lr"])
        sched.step()
        if world > 1:
            dist.all_reduce(stats)
            _average_buffers(model, world)
        hist.epoch.append(epoch + 1)
        hist.train_loss.append((stats[0] / stats[2]).item())
        hist.train_top1.append((stats[1] / stats[2]).item())
        if test is not None:
            acc = evaluate(model, test, transform, eval_batch_size, device, workers)
            hist.test_top1.append(acc[1])
            hist.test_top5.append(acc[5])
            bar.set_postfix(loss=f"{hist.train_loss[-1]:.3f}", test=f"{acc[1]:.3f}")
    if config.recalibrate_bn:
        recalibrate_batchnorm(model, train, transform, eval_batch_size, device, workers)
        if test is not None:
            acc = evaluate(model, test, transform, eval_batch_size, device, workers)
            hist.final_top1, hist.final_top5 = acc[1], acc[5]
    model.eval()
    return hist


@dataclass
class Variant:
    """One model of a comparison: ``build()`` makes a fresh model (called right after seeding), trained on
    ``train`` and tested on ``test`` ((x, y) tensors), with an optional per-batch ``augment``."""

    build: Callable[[], nn.Module]
    train: tuple
    test: tuple
    augment: Callable | None = None


def train_variants(variants: dict[str, Variant], config: TrainConfig, device="cpu", seed: int = 0,
                   progress: bool | None = None) -> dict[str, tuple[nn.Module, History]]:
    """Train each variant with the same recipe, re-seeding torch before building each model so that every
    result is reproducible on its own. Returns ``{name: (trained model, history)}`` in the given order."""
    from localbook.device import seed_everything

    out = {}
    for name, v in variants.items():
        seed_everything(seed)
        model = v.build()
        hist = train_classifier(model, v.train, v.test, config, augment=v.augment, device=device,
                                progress=progress)
        out[name] = (model, hist)
    return out


# ---------------------------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m localbook.images.train_patch_cnn",
        description="Train a scattering patch network (thesis ch. 4). Run under torchrun for several processes.")
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar-10", "imagenet"])
    p.add_argument("--data-dir", default=None, help="ImageNet root holding train/ and val/ class folders")
    p.add_argument("--image-size", type=int, default=224, help="ImageNet crop size (px)")
    p.add_argument("--n-train", type=int, default=None, help="class-balanced training subset (in-memory data)")
    p.add_argument("--n-test", type=int, default=None, help="class-balanced test subset (in-memory data)")
    p.add_argument("--model", default="patch", choices=["patch", "linear", "cnn"])
    p.add_argument("--J", type=int, default=2)
    p.add_argument("--L", type=int, default=8)
    p.add_argument("--max-order", type=int, default=2, choices=[1, 2])
    p.add_argument("--oversampling", type=int, default=1)
    p.add_argument("--width", type=int, default=2048, help="n_c, the width of the 1x1 convolutions")
    p.add_argument("--depth", type=int, default=8, help="N, the number of encoding layers")
    p.add_argument("--patch", type=int, default=3, choices=[1, 3])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--lr-step", type=int, default=30)
    p.add_argument("--weight-decay", type=float, default=1e-5)
    p.add_argument("--batch-size", type=int, default=256, help="global batch, split over the ranks")
    p.add_argument("--max-shift", type=int, default=2, help="augmentation: random translation (px), in-memory data")
    p.add_argument("--workers", type=int, default=4, help="data-loading processes per rank (folder data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", type=Path, required=True, help="output folder: model.pt, history.json")
    p.add_argument("--save-every-rank", action="store_true", help="also write rank<r>.pt from every rank")
    p.add_argument("--progress", action="store_true")
    return p


def _load_data(args):
    """(train, test, in_channels, shape, classes): tensors for the in-memory datasets, Datasets for ImageNet."""
    if args.dataset == "imagenet":
        from localbook.data.image_folder import ImageFolderDataset

        train = ImageFolderDataset(args.data_dir, "train", size=args.image_size, augment=True)
        test = ImageFolderDataset(args.data_dir, "val", size=args.image_size, augment=False)
        return train, test, 3, (args.image_size, args.image_size), train.classes
    from localbook.data.images import load_images

    tr = load_images(args.dataset, "train", n=args.n_train, seed=args.seed)
    te = load_images(args.dataset, "test", n=args.n_test, seed=args.seed)
    return (tr.x, tr.y), (te.x, te.y), tr.x.shape[1], tuple(tr.x.shape[-2:]), tr.classes


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring for torchrun examples)."""
    import localbook  # noqa: F401  (SciPy shim before kymatio)
    from localbook.device import pick_device, seed_everything
    from localbook.images.scattering_cnn import (EndToEndCNN, PatchNet, RandomTranslate, ScatteringFrontEnd,
                                                 ScatteringLinear)

    args = build_parser().parse_args(argv)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(args.device)
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if distributed:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    rank, world = _dist()
    try:
        seed_everything(args.seed)
        train, test, in_channels, shape, classes = _load_data(args)
        n_classes = len(classes)
        frontend = None
        if args.model == "cnn":
            model = EndToEndCNN(in_channels, n_classes, args.width)
        else:
            frontend = ScatteringFrontEnd(args.J, shape, args.L, args.max_order, args.oversampling).to(device)
            c, mh, mw = frontend.output_shape(in_channels)
            model = (PatchNet(c, n_classes, args.width, args.depth, args.patch) if args.model == "patch"
                     else ScatteringLinear(c, (mh, mw), n_classes))
        # folder datasets augment while decoding; in-memory tensors are translated and flipped per batch
        augment = None if args.dataset == "imagenet" else RandomTranslate(args.max_shift, flip=True)
        config = TrainConfig(epochs=args.epochs, lr=args.lr, lr_step=args.lr_step, weight_decay=args.weight_decay,
                             batch_size=args.batch_size, seed=args.seed)
        hist = train_classifier(model, train, test, config, transform=frontend, augment=augment, device=device,
                                progress=args.progress, workers=args.workers)
        args.out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        if args.save_every_rank:
            torch.save(state, args.out / f"rank{rank}.pt")
        if rank == 0:
            torch.save({"state_dict": state, "args": {k: str(v) for k, v in vars(args).items()},
                        "world_size": world}, args.out / "model.pt")
            (args.out / "history.json").write_text(json.dumps(hist.as_dict(), indent=1))
            print(f"[train_patch_cnn] {args.model} on {args.dataset}, {world} rank(s): test top-1 "
                  f"{hist.final['top1']:.4f}, top-5 {hist.final['top5']:.4f}; wrote {args.out}")
    finally:
        if distributed:
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
