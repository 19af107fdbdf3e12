"""The one SGD training loop of the image chapters, on one process or under ``torchrun``.

Both chapters train classifiers the same way (thesis sections 4.3 and 5.3): cross-entropy, mini-batch SGD with
momentum 0.9, a learning rate divided by 10 at fixed points of the schedule. :class:`TrainConfig` holds the
numbers -- the milestones are *fractions* of the epochs, so that a shortened run keeps the thesis' schedule
shape -- and :func:`train_classifier` runs them on in-memory tensors (images, precomputed scattering or patch
k-NN features, any dtype: batches are cast to float32 on the device) or on a ``torch.utils.data.Dataset``
(an ImageNet folder, with the scattering computed batch by batch on the device after augmentation).

The two thesis recipes:

* :data:`PATCH_CNN_RECIPE` (section 4.3, ImageNet): learning rate 0.1, weight decay 1e-5, divided by 10 every
  30 of 100 epochs;
* :data:`PATCH_KNN_RECIPE` (section 5.3.1, CIFAR-10): learning rate 0.003, no weight decay, divided by 10 at
  epochs 100 and 150 of 175.

Each epoch records the training loss and accuracy (on the fly, in training mode) and, when ``val`` data is
given, the validation top-1 accuracy: the curve that says whether the training has converged. The test set is
evaluated once, at the end, after the batch-norm statistics are recomputed exactly
(:func:`recalibrate_batchnorm`).

Distributed training: when ``torch.distributed`` is initialised (``torchrun`` does it in
:mod:`localbook.images.train_patch_cnn`), the model is wrapped in ``DistributedDataParallel``, each rank takes
its shard of every epoch (``DistributedSampler``, seeded, so the shards partition the same permutation), the
global batch ``batch_size`` is split evenly over the ranks, gradients are averaged by DDP, batch-norm running
statistics are averaged over the ranks at the end of each epoch (so every rank ends with identical weights
*and* buffers), and accuracies are summed over the ranks' shards. Backend: NCCL on GPUs, gloo on CPUs.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from collections.abc import Callable, Sequence

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

__all__ = ["TrainConfig", "PATCH_CNN_RECIPE", "PATCH_KNN_RECIPE", "History", "train_classifier", "evaluate",
           "recalibrate_batchnorm", "topk_accuracy", "count_parameters"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of :func:`train_classifier`.

    ``milestones``: fractions of ``epochs`` after which the learning rate is multiplied by ``lr_gamma``
    (rounded to whole epochs, at least 1); ``batch_size`` is the global batch, split over the ranks of a
    distributed run. ``recalibrate_bn`` recomputes the batch-norm statistics exactly before each validation
    (on the first ``calibration_size`` training samples) and before the final test (on all of them): the
    running averages lag far behind the weights in a short training, enough to put the validation accuracy of
    an eval-mode network at chance level (measured at the quick scale), while the weights are fine.
    """

    epochs: int = 100
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-5
    milestones: tuple[float, ...] = (0.3, 0.6, 0.9)
    lr_gamma: float = 0.1
    batch_size: int = 256
    seed: int = 0
    recalibrate_bn: bool = True
    calibration_size: int = 2048

    def __post_init__(self):
        for name in ("epochs", "batch_size", "calibration_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be positive, got {self.lr}")
        if not all(0 < m < 1 for m in self.milestones):
            raise ValueError(f"TrainConfig.milestones are fractions of the epochs, each in (0, 1); got "
                             f"{self.milestones}")
        object.__setattr__(self, "milestones", tuple(sorted(self.milestones)))

    def milestone_epochs(self) -> list[int]:
        """The epochs after which the learning rate drops (distinct, in [1, epochs - 1] when possible)."""
        return sorted({max(1, round(m * self.epochs)) for m in self.milestones})

    def with_(self, **changes) -> TrainConfig:
        """A copy with some fields changed (``dataclasses.replace``)."""
        return replace(self, **changes)


#: Thesis section 4.3: SGD, momentum 0.9, weight decay 1e-5, lr 0.1 divided by 10 every 30 of 100 epochs.
PATCH_CNN_RECIPE = TrainConfig(epochs=100, lr=0.1, weight_decay=1e-5, milestones=(0.3, 0.6, 0.9), batch_size=256)
#: Thesis section 5.3.1: SGD, momentum 0.9, no weight decay, lr 0.003 divided by 10 at epochs 100 and 150 of 175.
PATCH_KNN_RECIPE = TrainConfig(epochs=175, lr=0.003, weight_decay=0.0, milestones=(100 / 175, 150 / 175),
                               batch_size=128)


@dataclass
class History:
    """Per-epoch training curves and the final test accuracies. Accuracies are fractions in [0, 1]; loss is
    the mean cross-entropy (nats) over the epoch's batches."""

    epoch: list[int] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_top1: list[float] = field(default_factory=list)
    val_top1: list[float] = field(default_factory=list)
    test_top1: float | None = None
    test_top5: float | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def final(self) -> dict[str, float]:
        """Final accuracies: ``test_top1``/``test_top5`` (NaN when no test set was given), the last epoch's
        training and validation top-1."""
        nan = float("nan")
        return {"top1": nan if self.test_top1 is None else self.test_top1,
                "top5": nan if self.test_top5 is None else self.test_top5,
                "train_top1": self.train_top1[-1] if self.train_top1 else nan,
                "val_top1": self.val_top1[-1] if self.val_top1 else nan}


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
    raise TypeError("training / validation / test data must be a tuple (x, y) of tensors or a "
                    f"torch.utils.data.Dataset, got {type(data).__name__}")


def _shard(ds: Dataset, rank: int, world: int) -> Dataset:
    """Rank ``r`` takes samples r, r + world, ...: a partition, so that summed counts are exact."""
    if world == 1:
        return ds
    if isinstance(ds, TensorDataset):
        return TensorDataset(*(t[rank::world] for t in ds.tensors))
    return Subset(ds, range(rank, len(ds), world))


def _head(ds: Dataset, n: int) -> Dataset:
    """The first ``n`` samples of ``ds`` (all when it has fewer)."""
    if len(ds) <= n:
        return ds
    if isinstance(ds, TensorDataset):
        return TensorDataset(*(t[:n] for t in ds.tensors))
    return Subset(ds, range(n))


def _loader(ds: Dataset, batch_size: int, sampler, workers: int) -> DataLoader:
    if isinstance(ds, TensorDataset):  # index the tensors by whole batches: no per-item collation
        return DataLoader(ds, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=workers,
                      persistent_workers=workers > 0)


def _to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Move a batch to ``device`` as float32 when it is stored more compactly (float16 or uint8 features)."""
    x = x.to(device, non_blocking=True)
    return x.float() if x.dtype != torch.float32 and not x.dtype.is_complex else x


@torch.no_grad()
def evaluate(model: nn.Module, data, transform: Callable | None = None, batch_size: int = 512, device="cpu",
             workers: int = 0) -> dict[int, float]:
    """Top-1 and top-5 accuracy (fractions; top-5 capped at the number of classes) of ``model`` on ``data``
    ((x, y) tensors or a Dataset), in eval mode; ``transform`` (e.g. a scattering) is applied to each batch
    first. In a distributed run each rank evaluates its shard and the counts are summed."""
    device = torch.device(device)
    rank, world = _dist()
    shard = _shard(_as_dataset(data), rank, world)
    was_training = model.training
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64, device=device)  # top-1 hits, top-5 hits, n
    for x, y in _loader(shard, batch_size, torch.utils.data.SequentialSampler(shard), workers):
        x, y = _to_device(x, device), y.to(device, non_blocking=True)
        if transform is not None:
            x = transform(x)
        logits = model(x)
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices
        hits = top == y[:, None]
        counts += torch.stack([hits[:, :1].any(1).sum(), hits.any(1).sum(), torch.tensor(len(y), device=device)])
    if world > 1:
        dist.all_reduce(counts)
    model.train(was_training)
    return {1: (counts[0] / counts[2]).item(), 5: (counts[1] / counts[2]).item()}


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
    shard = _shard(_as_dataset(data), rank, world)
    was_training = model.training
    model.train()
    for x, _ in _loader(shard, batch_size, torch.utils.data.SequentialSampler(shard), workers):
        x = _to_device(x, device)
        model(transform(x) if transform is not None else x)
    for m, mom in zip(norms, saved):
        m.momentum = mom
    if world > 1:
        _average_buffers(model, world)
    model.train(was_training)


def train_classifier(model: nn.Module, train, config: TrainConfig | None = None, *, val=None, test=None,
                     transform: Callable | None = None, augment: Callable | None = None, device="cpu",
                     progress: bool | None = None, workers: int = 0, eval_batch_size: int = 512) -> History:
    """Train ``model`` with cross-entropy and SGD (momentum, weight decay, multi-step schedule); returns a
    :class:`History`.

    ``train`` / ``val`` / ``test``: (x, y) tensors (x: images or precomputed features, any dtype) or Datasets
    yielding (x, y). Per batch: ``augment(x, generator)`` (training only), then ``transform(x)`` without
    gradient (a fixed front end such as the scattering), then the model. ``val`` is evaluated after every
    epoch (the convergence curve), ``test`` once at the end (after the batch-norm recalibration when
    ``config.recalibrate_bn``). ``model`` is trained in place on ``device`` and left in eval mode; under an
    initialised ``torch.distributed`` it is wrapped in DDP (see the module docstring). ``progress=None`` shows
    a bar only in interactive terminals; False silences it.
    """
    import time

    from tqdm.auto import tqdm

    config = config or TrainConfig()
    device = torch.device(device)
    rank, world = _dist()
    if config.batch_size % world:
        raise ValueError(f"batch_size={config.batch_size} must be divisible by the number of ranks ({world})")
    start = time.perf_counter()
    model = model.to(device)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    ds = _as_dataset(train)
    sampler = DistributedSampler(ds, num_replicas=world, rank=rank, shuffle=True, seed=config.seed)
    loader = _loader(ds, config.batch_size // world, sampler, workers)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=config.milestone_epochs(), gamma=config.lr_gamma)
    gen_device = device if device.type == "cuda" else torch.device("cpu")
    gen = torch.Generator(device=gen_device).manual_seed(config.seed + 7919 * rank)
    hist = History()
    disable = True if rank != 0 else (None if progress is None else not progress)
    bar = tqdm(range(config.epochs), desc=type(model).__name__, disable=disable, leave=False)
    for epoch in bar:
        sampler.set_epoch(epoch)
        net.train()
        stats = torch.zeros(3, dtype=torch.float64, device=device)  # loss sum, hits, n
        for x, y in loader:
            x, y = _to_device(x, device), y.to(device, non_blocking=True)
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
        if val is not None:
            if config.recalibrate_bn:
                recalibrate_batchnorm(model, _head(ds, config.calibration_size), transform, eval_batch_size, device,
                                      workers)
            hist.val_top1.append(evaluate(model, val, transform, eval_batch_size, device, workers)[1])
            bar.set_postfix(loss=f"{hist.train_loss[-1]:.3f}", val=f"{hist.val_top1[-1]:.3f}")
    if config.recalibrate_bn:
        recalibrate_batchnorm(model, train, transform, eval_batch_size, device, workers)
    if test is not None:
        acc = evaluate(model, test, transform, eval_batch_size, device, workers)
        hist.test_top1, hist.test_top5 = acc[1], acc[5]
    model.eval()
    hist.seconds = time.perf_counter() - start
    return hist


def topk_accuracy(logits: torch.Tensor, y: torch.Tensor, ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    """Fraction of samples whose label is among the ``k`` largest logits, for each k (k capped at the
    number of classes)."""
    top = logits.topk(min(max(ks), logits.shape[1]), dim=1).indices
    hits = top == y[:, None]
    return {k: hits[:, :k].any(dim=1).float().mean().item() for k in ks}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
