"""The shipped weights of the sketch RNN: where they live, how they are saved, verified and loaded."""
from __future__ import annotations

import csv
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from localbook.art.sketch.model import SketchConfig, SketchRNN
from localbook.device import pick_device

#: The shipped weights and their training curve: entries of :data:`localbook.data.artefacts.ARTEFACTS`, whose
#: SHA-256 digests are written in that module (one convention for every shipped file, no sidecar manifest).
WEIGHTS_ARTEFACT, CURVE_ARTEFACT = "sketch_rnn_kanjivg", "sketch_rnn_kanjivg_curve"
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "data"
WEIGHTS_FILE = "sketch_rnn_kanjivg.pt"
CURVE_FILE = "sketch_rnn_kanjivg_curve.csv"


# ----------------------------------------------------------------------------------------------- I/O
def save_model(model: SketchRNN, path: str | Path, half: bool = False) -> str:
    """Save config, scale and weights (float16 when ``half``) to ``path``; returns the file's SHA-256."""
    from localbook.data.cache import file_sha256

    sd = {k: (v.half() if half and v.is_floating_point() and k != "scale" else v).cpu()
          for k, v in model.state_dict().items()}
    torch.save({"config": asdict(model.config), "state_dict": sd}, path)
    return file_sha256(path)


def load_model(path: str | Path, device="auto", sha256: str | None = None) -> SketchRNN:
    """Load a file written by :func:`save_model` (checked against ``sha256`` when given)."""
    if sha256 is not None:
        from localbook.data import verify_checksum

        verify_checksum(path, sha256)
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = SketchRNN(SketchConfig(**blob["config"]))
    model.load_state_dict({k: v.float() for k, v in blob["state_dict"].items()})
    return model.to(pick_device(device)).eval()


def load_pretrained(device="auto") -> SketchRNN:
    """The shipped KanjiVG model, after checking its SHA-256 against the digest in
    :mod:`localbook.data.artefacts` (``FileNotFoundError`` or ``ChecksumError`` naming the rebuild command)."""
    from localbook.data.artefacts import verified_path

    return load_model(verified_path(WEIGHTS_ARTEFACT), device)


def read_curve(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The training curve CSV (columns step, split, L_R, KL, ...) as {column: array}; ``split`` is a str array.
    ``path=None``: the shipped model's curve, checked against its digest."""
    if path is None:
        from localbook.data.artefacts import verified_path

        path = verified_path(CURVE_ARTEFACT)
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([r[k] for r in rows], dtype=str if k == "split" else float) for k in rows[0]}


