"""Gather the benchmark records into ``book/bench/records.json`` and write the book page ``book/how_fast.md``.

    python benchmarks/report.py [--records _build/bench] [--page book/how_fast.md]

Records of this run (``_build/bench/*.json``, written by ``benchmarks/common.record``) replace the committed ones
kernel by kernel; kernels not re-run keep their committed record (and its date and machine). The page is generated:
edit this script, not the page.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = [  # (title, kernel-name prefix, what the section shows)
    ("3-D solid harmonic scattering", "scattering3d_",
     "8 densities on a 64³ grid, J = 2, L = 3, against kymatio's `HarmonicScattering3D` on the same densities. "
     "The multi-resolution rows carry their difference from the exact mode and, beside it, the exact mode's own "
     "grid-invariance error (how much the coefficients move when every atom is shifted by a fraction of a grid "
     "step): an error below that one is below what the grid already costs."),
    ("QM9 scattering throughput (chapter 02)", "qm9_scattering_",
     "Molecules per second of the chapter-02 descriptor (3 channels, orders 0-2), against kymatio's pipeline on "
     "the same densities and grid; 48 molecules timed in a box fitted on 2,000."),
    ("EAM Hessian (chapter 04)", "eam_hessian_",
     "The closed-form Hessian against central differences of ASE's EAM forces (the same splines; ASE times "
     "extrapolated from a few columns where noted) and LAMMPS' `dynamical_matrix` (its own splines)."),
    ("Other kernels", "",
     "Chapter 00's k-NN and kernel ridge against scikit-learn, chapter 07's optimal transport against POT."),
]


def load(records_dir: Path, committed: Path) -> dict:
    out = json.loads(committed.read_text()) if committed.exists() else {}
    for path in sorted(records_dir.glob("*.json")):
        rec = json.loads(path.read_text())
        out[rec["kernel"]] = rec
    return dict(sorted(out.items()))


def _seconds(t: float) -> str:
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def _cell(text) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def _sizes(sizes: dict) -> str:
    return ", ".join(f"{k} {v if not isinstance(v, list) else '/'.join(map(str, v))}" for k, v in sizes.items())


def _checks(checks: dict) -> str:
    return "; ".join(f"{k.replace('_', ' ')} {v:.2g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                     for k, v in checks.items())


def page(records: dict) -> str:
    machines = {}
    for rec in records.values():
        m = rec["machine"]
        key = (m["cpu"], m["cores"], m["torch_threads"], m["device"], m.get("gpu"))
        machines.setdefault(key, len(machines) + 1)
    lines = [
        "# How fast",
        "",
        "Every speed claim of this book, measured against the library a reader would otherwise use, on the same "
        "inputs, in the same run, after checking that both give the same numbers. Each benchmark runs its "
        "contenders in alternating rounds (one call of each per round, the order rotated) and reports the median "
        "time of each and the median of the per-round ratios, because the machine is shared and its load moves.",
        "",
        "**Ratio** = peer time / localbook time: above 1, localbook is faster. Re-run everything with `make bench` "
        "(it rewrites `book/bench/records.json` and this page); one benchmark with "
        "`python benchmarks/bench_<name>.py`.",
        "",
    ]
    used = set()
    for title, prefix, blurb in SECTIONS:
        rows = [r for k, r in records.items() if k.startswith(prefix) and k not in used]
        if not rows:
            continue
        used.update(r["kernel"] for r in rows)
        header = "| kernel | sizes | peer | peer time | localbook | localbook time | ratio | checked | machine, date |"
        lines += [f"## {title}", "", blurb, "", header, "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            m = r["machine"]
            key = (m["cpu"], m["cores"], m["torch_threads"], m["device"], m.get("gpu"))
            lines.append("| " + " | ".join(_cell(c) for c in (
                r["title"], _sizes(r["sizes"]), r["peer"], _seconds(r["peer_s"]), r["localbook"],
                _seconds(r["localbook_s"]), f"**{r['ratio']:.3g}x** ({r['rounds']} round{'s' * (r['rounds'] > 1)}, "
                f"{r['ratio_range'][0]:.3g}-{r['ratio_range'][1]:.3g})", _checks(r["checks"]),
                f"M{machines[key]}, {r['date'][:10]}")) + " |")
        notes = [f"- {r['title']}: {r['notes']}" for r in rows if r.get("notes")]
        lines += [""] + notes + [""] if notes else [""]
    lines += ["## Machines", "", "| | CPU | cores | torch threads | device | load (1 min) when measured |",
              "|---|---|---|---|---|---|"]
    for (cpu, cores, threads, device, gpu), i in machines.items():
        loads = sorted({r["machine"].get("load_average_1min") for r in records.values()
                        if (r["machine"]["cpu"], r["machine"]["cores"], r["machine"]["torch_threads"],
                            r["machine"]["device"], r["machine"].get("gpu")) == (cpu, cores, threads, device, gpu)
                        and r["machine"].get("load_average_1min") is not None})
        load = f"{loads[0]:.3g}-{loads[-1]:.3g}" if loads else "?"
        lines.append(f"| M{i} | {_cell(cpu)} | {cores} | {threads} | {device}{' (' + gpu + ')' if gpu else ''} "
                     f"| {load} |")
    lines += ["", "Times are wall-clock seconds on the machine as it was, shared with other jobs (the load column); "
              "the ratios of alternating rounds are steadier than the times.", "",
              "The records themselves (with the commands, versions and every round's ratio range) are in "
              "`book/bench/records.json`.", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=Path, default=ROOT / "_build" / "bench")
    ap.add_argument("--committed", type=Path, default=ROOT / "book" / "bench" / "records.json")
    ap.add_argument("--page", type=Path, default=ROOT / "book" / "how_fast.md")
    args = ap.parse_args()
    records = load(args.records, args.committed)
    if not records:
        raise SystemExit(f"no records in {args.records} or {args.committed}: run the benchmarks first (make bench)")
    args.committed.parent.mkdir(parents=True, exist_ok=True)
    args.committed.write_text(json.dumps(records, indent=1) + "\n")
    args.page.write_text(page(records))
    print(f"[report] {len(records)} records -> {args.committed}, {args.page}")


if __name__ == "__main__":
    main()
