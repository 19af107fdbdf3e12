"""Recorded runs: a chapter executed on purpose at a larger scale, committed with its provenance, rendered below
its chapter in the book, and flagged when the code it ran has changed since.

* :func:`record` executes ``notebooks/<chapter>.ipynb`` with papermill at a scale (and any other parameters) into
  ``runs/<chapter>.<scale>.ipynb``, and stores in the notebook's metadata where it came from: the command that
  re-runs it, the commit (and whether the tree was dirty), the hash of the localbook source the chapter depends
  on (:func:`localbook.provenance.source_hash` of the localbook modules the notebook imports, with their own
  imports), the machine (CPU model and cores, memory, GPU name if any), the wall time and the peak memory of
  the kernel.
* :func:`render` writes ``book/runs/<chapter>.<scale>.ipynb`` (not committed) for the book: the recorded
  notebook with its provenance as the opening of the page, and a visible banner when the localbook code it
  depends on has changed since it was recorded (it stays in the book, marked stale: an older result is still
  worth reading, as long as the reader is told).
* :func:`recorded_runs` lists the runs and whether each is stale (``make runs``).

Command line: ``python -m localbook.runs record 02_qm9_regression medium [-p name value ...]``,
``python -m localbook.runs render``, ``python -m localbook.runs list``.
"""
from __future__ import annotations

import argparse
import ast
import copy
import datetime
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "RunStatus", "run_label", "notebook_modules", "machine_description", "record", "provenance_of",
           "recorded_runs", "render", "main"]

ROOT = Path(__file__).resolve().parents[1]
"""The repository (the folder above the localbook package)."""

PROVENANCE_KEYS = ("chapter", "scale", "parameters", "command", "commit", "dirty", "source_hash", "modules",
                   "machine", "wall_seconds", "peak_memory_gb", "date", "localbook_version")


def run_label(chapter: str, scale: str) -> str:
    """The MyST target of a recorded run's page (e.g. ``run-04-entropy-surrogate-medium``): the chapter's
    "Thesis versus this book" section links to it with ``{ref}`run-04-entropy-surrogate-medium```."""
    return f"run-{chapter.replace('_', '-')}-{scale}"


def notebook_modules(source: str | Path) -> list[str]:
    """The localbook modules a chapter imports (``import localbook.x``, ``from localbook.x import y`` and
    ``from localbook import y`` with ``y`` a module), read from its jupytext ``.py`` source with :mod:`ast`."""
    from localbook.provenance import module_file

    tree = ast.parse(Path(source).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "localbook")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "localbook":
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names
                         if module_file(f"{node.module}.{a.name}") is not None)
    return sorted(found)


def machine_description() -> dict[str, Any]:
    """CPU model and cores, memory (GB), GPU name (when torch sees one), OS and Python."""
    from localbook.device import cpu_model

    cpu = cpu_model()
    memory_gb = None
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1)
    except (ValueError, OSError, AttributeError):
        pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": memory_gb, "gpu": gpu,
            "os": f"{platform.system()} {platform.release()}", "python": platform.python_version()}


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _command(chapter: str, scale: str, parameters: dict[str, Any]) -> str:
    extra = " ".join(f"-p {k} {shlex.quote(repr(v) if not isinstance(v, str) else v)}" for k, v in parameters.items())
    return f"make record NB={chapter} SCALE={scale}" + (f" PARAMS={shlex.quote(extra)}" if extra else "")


def record(chapter: str, scale: str, parameters: dict[str, Any] | None = None, out_dir: str | Path | None = None,
           timeout: int = 24 * 3600) -> Path:
    """Execute ``notebooks/<chapter>.ipynb`` at ``scale`` into ``<out_dir>/<chapter>.<scale>.ipynb`` (default
    ``runs/``) with its provenance in ``metadata["localbook"]["provenance"]``; returns the path."""
    import nbformat
    import papermill

    from localbook import __version__
    from localbook.provenance import source_hash

    source = ROOT / "notebooks" / f"{chapter}.py"
    if not source.is_file():
        choices = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
        raise FileNotFoundError(f"no chapter {chapter!r}; choose one of: {', '.join(choices)}")
    parameters = dict(parameters or {})
    out = Path(out_dir or ROOT / "runs") / f"{chapter}.{scale}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    modules = notebook_modules(source)
    # what the run executes, taken before it starts (the tree may change while a long run goes on)
    commit, dirty = _git("rev-parse", "HEAD"), bool(_git("status", "--porcelain", "localbook", "notebooks"))
    hashed = source_hash(*modules)
    start = time.perf_counter()
    papermill.execute_notebook(str(source.with_suffix(".ipynb")), str(out), kernel_name="python3",
                               parameters={**parameters, "scale": scale, "interactive": False},
                               cwd=str(source.parent), execution_timeout=timeout, progress_bar=False)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB -> GiB, the largest child
    nb = nbformat.read(out, as_version=4)
    nb.metadata.setdefault("localbook", {})["provenance"] = {
        "chapter": chapter, "scale": scale, "parameters": parameters,
        "command": _command(chapter, scale, parameters),
        "commit": commit, "dirty": dirty, "source_hash": hashed, "modules": modules, "machine": machine_description(),
        "wall_seconds": round(wall, 1), "peak_memory_gb": round(peak, 2),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"), "localbook_version": __version__,
    }
    nbformat.write(nb, out)
    return out


def provenance_of(path: str | Path) -> dict[str, Any]:
    """The provenance stored in a recorded run; ``ValueError`` naming what is missing when it is incomplete."""
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    prov = nb.metadata.get("localbook", {}).get("provenance")
    if not prov:
        raise ValueError(f"{path} has no provenance: record runs with `make record NB=... SCALE=...`")
    missing = [k for k in PROVENANCE_KEYS if k not in prov]
    if missing:
        raise ValueError(f"{path}: provenance lacks {', '.join(missing)}; re-record it with `{prov.get('command')}`")
    return prov


@dataclass
class RunStatus:
    """A recorded run: its path, provenance, and whether the localbook code it depends on changed since."""

    path: Path
    provenance: dict[str, Any]
    current_hash: str
    gone: tuple[str, ...] = ()  # modules of its provenance that no longer exist (renamed or deleted): stale

    @property
    def stale(self) -> bool:
        return bool(self.gone) or self.current_hash != self.provenance["source_hash"]


def recorded_runs(runs_dir: str | Path | None = None) -> list[RunStatus]:
    """Every ``runs/*.ipynb`` with its staleness, sorted by name."""
    from localbook.provenance import module_file, source_hash

    out = []
    for path in sorted(Path(runs_dir or ROOT / "runs").glob("*.ipynb")):
        prov = provenance_of(path)
        gone, present = [], []
        for m in prov["modules"]:
            (present if module_file(m) is not None else gone).append(m)
        current = source_hash(*present) if present and not gone else ""
        out.append(RunStatus(path, prov, current, tuple(gone)))
    return out


def _hours(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 \
        else f"{seconds / 3600:.1f} h"


def _provenance_markdown(run: RunStatus) -> str:
    p, m = run.provenance, run.provenance["machine"]
    machine = f"{m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB" + (f", GPU {m['gpu']}" if m.get("gpu") else "")
    lines = [
        f"This page is chapter {p['chapter'][:2]} executed at the **{p['scale']}** scale: the same notebook, with "
        "the settings printed below its parameters. It was run on purpose and committed with its provenance.", "",
        "| provenance | |", "|---|---|",
        f"| command | `{p['command']}` |",
        f"| commit | `{p['commit'][:12]}`{' (with uncommitted changes)' if p['dirty'] else ''} |",
        f"| localbook source it depends on | `{p['source_hash'][:16]}` ({len(p['modules'])} modules and their "
        "imports) |",
        f"| machine | {machine} |",
        f"| wall time | {_hours(p['wall_seconds'])} |",
        f"| peak memory | {p['peak_memory_gb']} GB |",
        f"| date | {p['date']} |",
    ]
    if run.stale:
        lines = [":::{warning}",
                 f"**Recorded with an older version.** The localbook code this run depends on has changed since it "
                 f"was recorded (commit `{p['commit'][:12]}`"
                 + (f"; renamed or removed since: {', '.join(f'`{m}`' for m in run.gone)}" if run.gone else "")
                 + f"): its numbers may differ from what the chapter's code gives now. Re-run it with "
                 f"`{p['command']}`.", ":::", "", *lines]
    return "\n".join(lines)


def render(runs_dir: str | Path | None = None, out_dir: str | Path | None = None) -> list[Path]:
    """Write the book's page of every recorded run (see the module docstring); returns the written paths."""
    import nbformat

    out_dir = Path(out_dir or ROOT / "book" / "runs")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for run in recorded_runs(runs_dir):
        nb = copy.deepcopy(nbformat.read(run.path, as_version=4))
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown")
        title, _, rest = nb.cells[first].source.partition("\n")
        label = run_label(run.provenance["chapter"], run.provenance["scale"])
        nb.cells[first].source = f"({label})=\n{title} — at {run.provenance['scale']} scale\n"
        nb.cells.insert(first + 1, nbformat.v4.new_markdown_cell(_provenance_markdown(run) + "\n" + rest))
        path = out_dir / run.path.name
        nbformat.write(nb, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localbook.runs", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="execute a chapter at a scale into runs/, with its provenance")
    rec.add_argument("chapter")
    rec.add_argument("scale", choices=("quick", "medium", "thesis"))
    rec.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                     help="a parameter, as with papermill (values are read as Python literals when they parse)")
    sub.add_parser("render", help="write book/runs/ pages from runs/")
    sub.add_parser("list", help="list the recorded runs and whether each is stale")
    args = parser.parse_args(argv)
    if args.command == "record":
        params = {}
        for name, value in args.p:
            try:
                params[name] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                params[name] = value
        print(f"[runs] wrote {record(args.chapter, args.scale, params)}")
    elif args.command == "render":
        for path in render():
            print(f"[runs] rendered {path.relative_to(ROOT)}")
    else:
        for run in recorded_runs():
            p = run.provenance
            print(f"{run.path.name:45s} {'STALE' if run.stale else 'current':8s} commit {p['commit'][:10]}  "
                  f"{p['date']}  {_hours(p['wall_seconds'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
