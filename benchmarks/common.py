"""What every benchmark shares: timing in alternating rounds, the machine, and one JSON record per kernel.

Timings on a shared machine are noisy, so each benchmark runs its contenders in rounds, one call of each per round
in a rotating order, and reports the median time of each and the median of the per-round ratios (peer time over
localbook time: above 1 means localbook is faster). ``record`` writes ``_build/bench/<kernel>.json`` (or
``$LOCALBOOK_BENCH_DIR``), which ``benchmarks/report.py`` gathers into ``book/bench/records.json`` and the book page
``book/how_fast.md``.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from localbook.device import cpu_model

__all__ = ["timed", "alternating_rounds", "machine", "record", "bench_dir"]


def bench_dir() -> Path:
    return Path(os.environ.get("LOCALBOOK_BENCH_DIR", Path(__file__).resolve().parents[1] / "_build" / "bench"))


def timed(fn, device=None) -> float:
    """Wall-clock seconds of one call of ``fn()``, synchronising CUDA before and after."""
    cuda = device is not None and torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start


def alternating_rounds(fns: dict, rounds: int, device=None) -> dict:
    """``{name: [seconds per round]}``: each round calls every function once, the order rotated by one each round
    so that none always runs first (after a change of load, or with a cold cache)."""
    names = list(fns)
    times = {n: [] for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            times[n].append(timed(fns[n], device))
    return times


def machine(device=None) -> dict:
    """The machine a record was measured on (CPU, cores, threads, GPU, versions, load when measured)."""
    dev = torch.device(device) if device is not None else torch.device("cpu")
    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "device": str(dev), "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
    }


def record(kernel: str, *, title: str, peer: str, ours: str, sizes: dict, peer_times, ours_times,
           checks: dict | None = None, notes: str = "", device=None) -> dict:
    """Write and print one record: median times, the median of the per-round ratios ``peer / ours``, what was
    checked equal before timing (``checks``), the machine and the date."""
    peer_times, ours_times = list(map(float, peer_times)), list(map(float, ours_times))
    ratios = [p / o for p, o in zip(peer_times, ours_times, strict=True)]
    rec = {
        "kernel": kernel, "title": title, "peer": peer, "localbook": ours, "sizes": sizes,
        "peer_s": statistics.median(peer_times), "localbook_s": statistics.median(ours_times),
        "ratio": statistics.median(ratios), "ratio_range": [min(ratios), max(ratios)], "rounds": len(ratios),
        "checks": checks or {}, "notes": notes, "machine": machine(device),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    }
    out = bench_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{kernel}.json").write_text(json.dumps(rec, indent=1) + "\n")
    print(f"[{kernel}] {title}: {peer} {rec['peer_s']:.4g} s, localbook {rec['localbook_s']:.4g} s, "
          f"ratio {rec['ratio']:.3g}x (median of {rec['rounds']} rounds, range {min(ratios):.3g}-{max(ratios):.3g})"
          + (f"; checks {checks}" if checks else ""), flush=True)
    return rec
