"""Device selection and seeding, shared by every chapter."""
from __future__ import annotations

import os
import platform
import random
from pathlib import Path

import numpy as np
import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """Return a :class:`torch.device`.

    ``"auto"`` takes CUDA when available, then Apple's MPS, then the CPU. Asking explicitly for a device
    that is not available is an error (a full-scale run silently falling back to the CPU would take days).
    ``"cuda:1"`` style indices are accepted.
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as {DEVICE_CHOICES}, got {type(device).__name__}")
    kind = device.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise ValueError(f"device={device!r} is not one of {DEVICE_CHOICES} (optionally 'cuda:N')")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device={device!r} was requested but torch {torch.__version__} sees no CUDA device; "
            "use device='auto' or 'cpu', or install a CUDA build of torch on a GPU machine"
        )
    if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError(f"device={device!r} was requested but MPS is not available; use 'auto' or 'cpu'")
    return torch.device(device)


def best_of(fn, repeat: int = 3):
    """``(seconds, result)`` of the fastest of ``repeat`` calls of ``fn()``, synchronising CUDA so that the time
    covers the device work (for benchmarks)."""
    import time

    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), out


def seed_everything(seed: int, deterministic: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and torch (all devices); return a NumPy ``Generator`` seeded likewise.

    With ``deterministic=True`` torch is asked for deterministic kernels where they exist (``warn_only``,
    so that an op without one still runs); CPU results then reproduce bit for bit across runs.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
    return np.random.default_rng(seed)


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform`` elsewhere): for provenance and benchmark records."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
