"""Per-item work of a chapter — descriptors of molecules, cells or images — run once, in chunks, cached on disk,
resumable, and sharded across processes, GPUs or nodes with ``torchrun``.

:func:`cached_transform` is the one way the book computes a descriptor matrix: ``transformer.fit_transform`` on
consecutive chunks of ``chunk_size`` items, each chunk stored in the :class:`~localbook.data.cache.ArrayCache`
under a key of the items' content, the transformer's class and parameters. Hence:

* a second run with the same items and parameters reads the chunks back, until the localbook source the
  transformer depends on changes (the key holds its hash: :func:`localbook.provenance.source_hash`);
* a stopped run (killed, out of time) resumes where it stopped: finished chunks are never recomputed;
* under ``torchrun`` (``torch.distributed`` initialised), rank ``r`` of ``W`` computes chunks ``r, r + W, ...``
  into the shared cache, waits for the others, then every rank reads the whole matrix — equal, bit for bit, to the
  single-process result, since every chunk is computed by the same code on the same items;
* the first computed chunk gives the cost per item, from which a progress bar shows the time left, and a line
  reports the cost per item, the estimated total and the peak memory of the process.

The transformer is fitted once on all the items (the scattering sizes its box there), then ``transform`` runs chunk
by chunk: the result does not depend on the chunk size or on the number of processes, provided ``transform``
treats items independently (every descriptor of the book does).

Command line, for a job function ``f(**settings) -> (transformer, items, name)``::

    python -m localbook.compute localbook.chapters.ch02_qm9:descriptor_job --set scale=medium
    torchrun --standalone --nproc_per_node 2 -m localbook.compute MODULE:FUNCTION --set ...    # 2 processes
    torchrun --nproc_per_node 8 --nnodes 4 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        -m localbook.compute MODULE:FUNCTION --set device=cuda                                    # 4 nodes x 8 GPUs
"""
from __future__ import annotations

import argparse
import ast
import importlib
import os
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["cached_transform", "estimate_transform", "distributed_context", "DEFAULT_CHUNK_SIZE", "main"]

DEFAULT_CHUNK_SIZE = 256
"""Items per cached chunk: small enough that a stopped run loses little, large enough to batch well."""


def distributed_context() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` unless ``torch.distributed`` is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _peak_memory_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB on Linux


def _format_seconds(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def cached_transform(transformer, items: Sequence, name: str, *, cache=None, chunk_size: int | None = None,
                     ignore_params: Sequence[str] = ("device", "progress", "batch_size"),
                     progress: bool | None = None) -> tuple[np.ndarray, float]:
    """``clone(transformer).fit(items).transform(items)``, chunked, cached, resumable and sharded (module
    docstring).

    ``items``: a sequence of structures (``ase.Atoms``) or arrays; ``name``: a label of the cached entries;
    ``cache``: an :class:`~localbook.data.cache.ArrayCache` (default ``$LOCALBOOK_CACHE``); ``chunk_size``: items
    per cached chunk (default :data:`DEFAULT_CHUNK_SIZE`); ``ignore_params``: parameters of the transformer that
    change how, not what, it computes (left out of the key); ``progress``: a progress bar with the time left
    (default: unless ``LOCALBOOK_HEADLESS`` is set, as in ``make`` runs; the cost line after the first computed
    chunk is printed either way). Returns ``(X, seconds_per_item)``: the matrix
    ``(n_items, n_features)`` in float64 and the measured wall-clock cost per item when the chunks were computed
    (stored with them, so a cached run still reports it).
    """
    from sklearn.base import clone
    from tqdm.auto import tqdm

    from localbook.data.cache import cache_key, default_cache, fingerprint
    from localbook.params import headless
    from localbook.provenance import module_file

    cache = default_cache() if cache is None else cache
    items = list(items)
    if not items:
        raise ValueError(f"cached_transform({name!r}) needs at least one item, got none")
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else int(chunk_size)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    params = {k: v for k, v in transformer.get_params(deep=False).items() if k not in ignore_params}
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
    params["class"] = f"{type(transformer).__module__}.{type(transformer).__qualname__}"
    starts = list(range(0, len(items), chunk_size))
    whole = fingerprint(items)  # the fit sees every item, so every chunk's key depends on all of them
    # the source the values depend on: the transformer's module and its imports (a transformer defined outside
    # localbook falls back on the whole package)
    module = type(transformer).__module__
    depends_on = (module,) if module_file(module) is not None else None
    keys = [cache_key(name, {"items": whole, "start": s, "stop": min(s + chunk_size, len(items))}, params,
                      depends_on) for s in starts]
    rank, world = distributed_context()
    if world > 1 and not cache.enabled:
        raise RuntimeError(f"cached_transform({name!r}) under torchrun ({world} processes) shares its results "
                           "through the cache, which is disabled (LOCALBOOK_CACHE=off): set LOCALBOOK_CACHE to a "
                           "folder every process can read and write")

    mine = [c for c in range(len(starts)) if c % world == rank]
    results: dict[int, dict[str, np.ndarray]] = {}
    todo = []
    for c in mine:
        hit = cache.load(keys[c])
        if hit is None:
            todo.append(c)
        else:
            results[c] = hit
    n_todo = sum(len(items[starts[c]:starts[c] + chunk_size]) for c in todo)
    fitted = clone(transformer).fit(items) if todo else None
    where = f" (rank {rank} of {world})" if world > 1 else ""
    progress = not headless() if progress is None else progress
    bar = tqdm(total=n_todo, disable=not progress or n_todo == 0, unit="item", desc=f"{name}{where}")
    spent, done = 0.0, 0
    for c in todo:
        chunk = items[starts[c]:starts[c] + chunk_size]
        start = time.perf_counter()
        X = np.asarray(fitted.transform(chunk), dtype=np.float64)
        seconds = time.perf_counter() - start
        if X.ndim != 2 or len(X) != len(chunk):
            raise ValueError(f"{type(transformer).__name__}.transform returned shape {X.shape} for "
                             f"{len(chunk)} items: expected (n_items, n_features)")
        arrays = {"X": X, "seconds_per_item": np.array(seconds / len(chunk))}
        cache.try_save(keys[c], arrays, description=name)  # a full disk warns; the chunk is not lost
        results[c] = arrays
        spent, done = spent + seconds, done + len(chunk)
        bar.update(len(chunk))
        if done == len(chunk):  # after the first computed chunk: the cost estimate
            per_item = spent / done
            bar.write(f"[{name}{where}] {1e3 * per_item:.1f} ms per item; {n_todo} items to compute here, "
                      f"about {_format_seconds(per_item * n_todo)} in all; peak memory {_peak_memory_gb():.2f} GB",
                      file=sys.stdout)
    bar.close()
    _barrier()
    for c in range(len(starts)):
        if c not in results:
            hit = cache.load(keys[c])
            if hit is None:
                raise RuntimeError(f"chunk {c} of {name!r} is missing from the cache after every process finished: "
                                   "another rank failed, or the cache folder is not shared between processes")
            results[c] = hit
    X = np.concatenate([results[c]["X"] for c in range(len(starts))])
    sizes = np.array([min(chunk_size, len(items) - s) for s in starts])
    seconds_per_item = float(np.sum([float(results[c]["seconds_per_item"]) * sizes[c] for c in range(len(starts))])
                             / len(items))
    return X, seconds_per_item


def estimate_transform(transformer, items: Sequence, n_probe: int = 8) -> dict[str, float]:
    """The cost of ``transformer`` on ``items`` measured on the first ``n_probe`` items only (fitted on all of
    them, as :func:`cached_transform` does): ``{"seconds_per_item", "total_seconds", "peak_memory_gb",
    "n_items", "n_features"}``. Nothing is cached: a dry run of a large job before committing hours to it."""
    from sklearn.base import clone

    items = list(items)
    if not items or n_probe < 1:
        raise ValueError(f"estimate_transform needs items and n_probe >= 1, got {len(items)} items, n_probe={n_probe}")
    fitted = clone(transformer).fit(items)
    probe = items[:n_probe]
    start = time.perf_counter()
    X = np.asarray(fitted.transform(probe))
    per_item = (time.perf_counter() - start) / len(probe)
    return {"seconds_per_item": per_item, "total_seconds": per_item * len(items), "peak_memory_gb": _peak_memory_gb(),
            "n_items": len(items), "n_features": X.shape[1]}


def _parse_settings(pairs: Sequence[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"--set takes name=value, got {pair!r}")
        key, value = pair.split("=", 1)
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run a job ``MODULE:FUNCTION`` (returning ``(transformer, items, name)``) through :func:`cached_transform`,
    in one process or under ``torchrun``; rank 0 optionally saves the matrix to ``--out`` (``.npy``)."""
    parser = argparse.ArgumentParser(prog="python -m localbook.compute", description=main.__doc__)
    parser.add_argument("job", help="MODULE:FUNCTION, e.g. localbook.chapters.ch02_qm9:descriptor_job")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="keyword arguments of the job")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--out", default=None, help="save the matrix here (.npy), from rank 0")
    parser.add_argument("--estimate", type=int, default=None, metavar="N",
                        help="only time the first N items and print the estimated total (nothing is cached)")
    args = parser.parse_args(argv)
    module_name, _, function_name = args.job.partition(":")
    if not function_name:
        raise SystemExit(f"job must be MODULE:FUNCTION, got {args.job!r}")
    job = getattr(importlib.import_module(module_name), function_name)

    import torch
    import torch.distributed as dist

    settings = _parse_settings(args.set)
    if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1 and not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and str(settings.get("device", "auto")).startswith(("cuda", "auto"))
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            settings["device"] = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        dist.init_process_group("nccl" if use_cuda else "gloo")
    transformer, items, name = job(**settings)
    if args.estimate:
        cost = estimate_transform(transformer, items, args.estimate)
        print(f"[compute] {name}: {cost['n_items']} items x {cost['n_features']} features; "
              f"{1e3 * cost['seconds_per_item']:.1f} ms per item on the first {args.estimate} -> about "
              f"{_format_seconds(cost['total_seconds'])} for all in one process; peak memory "
              f"{cost['peak_memory_gb']:.2f} GB")
        return 0
    X, per_item = cached_transform(transformer, items, name, chunk_size=args.chunk_size)
    rank, world = distributed_context()
    if rank == 0:
        print(f"[compute] {name}: {X.shape[0]} items x {X.shape[1]} features, {1e3 * per_item:.1f} ms per item, "
              f"{world} process(es)")
        if args.out:
            np.save(args.out, X)
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
