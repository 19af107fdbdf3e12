"""``python -m localbook.art.sketch train``: train on KanjiVG and write weights and learning curve."""
from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

import torch

from localbook.art.sketch.model import SketchConfig, SketchRNN
from localbook.art.sketch.training import train, write_curve
from localbook.art.sketch.weights import CURVE_FILE, WEIGHTS_DIR, WEIGHTS_FILE, save_model
from localbook.data.strokes import normalise
from localbook.device import pick_device


def _cmd_train(args) -> None:
    from localbook.data.kanjivg import load_kanjivg

    data = load_kanjivg(max_len=args.max_len, epsilon=args.epsilon, seed=args.seed,
                        folder=Path(args.kanjivg_dir) if args.kanjivg_dir else None)
    print(data.summary(), flush=True)
    config = SketchConfig(enc_hidden=args.enc_hidden, dec_hidden=args.dec_hidden, z_dim=args.z_dim,
                          n_mixtures=args.mixtures, max_len=args.max_len, kl_weight=args.kl_weight,
                          kl_decay=args.kl_decay)
    torch.manual_seed(args.seed)
    model = SketchRNN(config, scale=data.scale).to(pick_device(args.device))
    tr = [normalise(s, data.scale) for s in data.train]
    va = [normalise(s, data.scale) for s in data.val]
    if args.n_train:
        tr = tr[:args.n_train]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{len(tr)} training sequences, {sum(p.numel() for p in model.parameters())} parameters, "
          f"config {asdict(config)}", flush=True)

    def log(rows):
        print("  ".join(f"{r['split']} step {r['step']} L_R {r['L_R']:.3f} KL {r['KL']:.3f} "
                        f"nll/pt {r['nll_per_point']:.3f}" for r in rows) + f"  {rows[0]['seconds']:.0f}s",
              flush=True)

    def checkpoint(m, rows):
        save_model(m, out / WEIGHTS_FILE, half=args.half)
        write_curve(rows, out / CURVE_FILE)

    train(model, tr, va, args.steps, batch_size=args.batch_size, lr=args.lr, eval_every=args.eval_every,
          seed=args.seed, max_minutes=args.max_minutes, checkpoint=checkpoint, progress=False, log=log)
    from localbook.data.cache import file_sha256

    print(f"saved {out / WEIGHTS_FILE} (SHA-256 {file_sha256(out / WEIGHTS_FILE)}) and {out / CURVE_FILE} "
          f"(SHA-256 {file_sha256(out / CURVE_FILE)}); to ship them, write these digests into "
          "localbook/data/artefacts.py (python -m localbook.data.artefacts lists what differs)", flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localbook.art.sketch", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a Sketch-RNN on KanjiVG and write its weights and learning curve")
    t.add_argument("--out", default=str(WEIGHTS_DIR))
    t.add_argument("--steps", type=int, default=6000)
    t.add_argument("--max-minutes", type=float, default=40.0)
    t.add_argument("--batch-size", type=int, default=100)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--enc-hidden", type=int, default=128)
    t.add_argument("--dec-hidden", type=int, default=256)
    t.add_argument("--z-dim", type=int, default=32)
    t.add_argument("--mixtures", type=int, default=20)
    t.add_argument("--max-len", type=int, default=100)
    t.add_argument("--epsilon", type=float, default=0.85)
    t.add_argument("--kl-weight", type=float, default=0.5)
    t.add_argument("--kl-decay", type=float, default=0.9995)
    t.add_argument("--n-train", type=int, default=0, help="use only the first N training sequences (0: all)")
    t.add_argument("--eval-every", type=int, default=100)
    t.add_argument("--half", action="store_true", help="store the weights in float16")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu")
    t.add_argument("--kanjivg-dir", default="", help="a folder of KanjiVG SVGs (default: the kanjivg package's)")
    args = parser.parse_args(argv)
    if args.command == "train":
        _cmd_train(args)

