"""Command line: train the scattering patch network (thesis ch. 4) or a baseline, on one process or under ``torchrun``.

The training loop is :func:`localbook.images.training.train_classifier` (see its module for the distributed
details); this module parses arguments, loads the data and saves the model and its history.

The ImageNet-scale run of the thesis, on a node with 8 GPUs (the ``train/`` and ``val/`` folders of ImageNet
2012, one subfolder per class)::

    torchrun --standalone --nproc_per_node=8 -m localbook.images.train_patch_cnn \\
        --dataset imagenet --data-dir /data/imagenet --J 4 --oversampling 1 --max-order 2 \\
        --width 2048 --depth 8 --patch 3 --epochs 100 --batch-size 256 --workers 8 \\
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
from pathlib import Path

import torch
import torch.distributed as dist

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m localbook.images.train_patch_cnn",
        description="Train a scattering patch network (thesis ch. 4). Run under torchrun for several processes.")
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "cifar-10", "imagenet"])
    p.add_argument("--data-dir", default=None, help="ImageNet root holding train/ and val/ class folders")
    p.add_argument("--image-size", type=int, default=224, help="ImageNet crop size (px)")
    p.add_argument("--n-train", type=int, default=None, help="class-balanced training subset (in-memory data)")
    p.add_argument("--n-test", type=int, default=None, help="class-balanced test subset (in-memory data)")
    p.add_argument("--model", default="patch", choices=["patch", "linear", "patch-linear", "cnn"])
    p.add_argument("--J", type=int, default=2)
    p.add_argument("--L", type=int, default=8)
    p.add_argument("--max-order", type=int, default=2, choices=[1, 2])
    p.add_argument("--oversampling", type=int, default=1)
    p.add_argument("--width", type=int, default=2048, help="n_c, the width of the 1x1 convolutions")
    p.add_argument("--depth", type=int, default=8, help="N, the number of encoding layers")
    p.add_argument("--patch", type=int, default=3, choices=[1, 3])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--milestones", type=float, nargs="*", default=[0.3, 0.6, 0.9],
                   help="fractions of the epochs after which the learning rate is divided by 10 (thesis: 30, "
                        "60, 90 of 100)")
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
    from localbook.device import pick_device, seed_everything
    from localbook.images.augment import RandomTranslate
    from localbook.images.patch_cnn import EndToEndCNN, PatchNet, ScatteringLinear, ScatteringPatchLinear
    from localbook.images.scattering2d import OversampledScattering2D
    from localbook.images.training import TrainConfig, _dist, train_classifier

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
        scattering = None
        if args.model == "cnn":
            model = EndToEndCNN(in_channels, n_classes, args.width)
        else:
            scattering = OversampledScattering2D(args.J, shape, args.L, args.max_order, args.oversampling).to(device)
            c, mh, mw = scattering.output_shape(in_channels)
            model = {"patch": lambda: PatchNet(c, n_classes, args.width, args.depth, args.patch),
                     "linear": lambda: ScatteringLinear(c, (mh, mw), n_classes),
                     "patch-linear": lambda: ScatteringPatchLinear(c, n_classes)}[args.model]()
        # folder datasets augment while decoding; in-memory tensors are translated and flipped per batch
        augment = None if args.dataset == "imagenet" else RandomTranslate(args.max_shift, flip=True)
        config = TrainConfig(epochs=args.epochs, lr=args.lr, milestones=tuple(args.milestones),
                             weight_decay=args.weight_decay, batch_size=args.batch_size, seed=args.seed)
        hist = train_classifier(model, train, config, test=test, transform=scattering, augment=augment,
                                device=device, progress=args.progress, workers=args.workers)
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
