"""The design, checked against the tree: docs/DESIGN.md's chapter map, and dependencies that point one way."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from localbook.provenance import PACKAGE_ROOT, module_closure, module_file

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "DESIGN.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))

# docs/DESIGN.md, "The package, in layers": a module may import its own layer and those below, never above.
LAYERS = {
    "base": ["localbook", "localbook._compat", "localbook.device", "localbook.params", "localbook.provenance",
             "localbook.checks", "localbook.tables"],
    "data": ["localbook.data"],
    "domain": ["localbook.scattering3d", "localbook.regression", "localbook.atoms", "localbook.images",
               "localbook.art", "localbook.local_methods", "localbook.compute"],
    "top": ["localbook.plotting", "localbook.widgets", "localbook.webfigures", "localbook.chapters",
            "localbook.runs"],
}
ORDER = list(LAYERS)
# Modules that import upward today and are being fixed (issue 14): the iron database loader imports the EAM code
# that verifies it, the KanjiVG loader imports the stroke formats of the sketch model. Each must still import
# upward (so the set only shrinks); it is empty when the issue is done.
KNOWN_UPWARD: set[str] = set()


def all_modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        rel = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def layer_of(module: str) -> str:
    best = None
    for layer, prefixes in LAYERS.items():
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > len(best[1])):
                best = (layer, p)
    if best is None:
        raise AssertionError(f"{module} is in no layer of docs/DESIGN.md: add its package to LAYERS and the doc")
    return best[0]


def imports_of(module: str) -> set[str]:
    """The localbook modules ``module`` imports, directly or not (itself and its parent packages left out)."""
    parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return set(module_closure(module)) - {module} - parents


def test_every_module_is_in_a_layer():
    for m in all_modules():
        layer_of(m)


def test_dependencies_point_down():
    upward = set()
    for m in all_modules():
        for dep in imports_of(m):
            if ORDER.index(layer_of(dep)) > ORDER.index(layer_of(m)):
                upward.add((m, dep))
    new = sorted((a, b) for a, b in upward if a not in KNOWN_UPWARD)
    assert not new, "upward imports (a lower layer importing a higher one): " + ", ".join(f"{a} -> {b}"
                                                                                          for a, b in new)
    fixed = KNOWN_UPWARD - {a for a, _ in upward}
    assert not fixed, f"these no longer import upward, remove them from KNOWN_UPWARD: {sorted(fixed)}"


def test_no_circular_imports_between_packages():
    # a package's own modules may import each other; two different top-level packages (or modules) of localbook
    # must not depend on each other both ways
    def unit(m):
        parts = m.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 else m

    deps = {}
    for m in all_modules():
        if m not in KNOWN_UPWARD:  # being fixed: see test_dependencies_point_down
            deps.setdefault(unit(m), set()).update(unit(d) for d in imports_of(m))
    cycles = sorted({tuple(sorted((a, b))) for a, ds in deps.items() for b in ds
                     if a != b and b != "localbook" and a in deps.get(b, set())})
    assert not cycles, f"circular imports between packages: {cycles}"


def chapter_rows() -> dict[str, list[str]]:
    """``{chapter: modules named in its row}`` (the settings and the modules-it-calls columns)."""
    rows = {}
    for line in DESIGN.read_text().splitlines():
        m = re.match(r"\|\s*(\d\d_\w+)\s*\|[^|]*\|([^|]*)\|([^|]*)\|", line)
        if m:
            rows[m.group(1)] = [s.strip() for s in (m.group(2) + "," + m.group(3)).split(",")
                                if s.strip() and s.strip() != "—"]
    return rows


def test_design_maps_every_chapter():
    assert set(chapter_rows()) == {p.stem for p in NOTEBOOKS}, "docs/DESIGN.md's chapter table must list every chapter"


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_design_names_the_modules_each_chapter_calls(py):
    from localbook.runs import notebook_modules

    listed = chapter_rows()[py.stem]
    missing_files = [m for m in listed if module_file(m) is None]
    assert not missing_files, f"docs/DESIGN.md names modules that do not exist: {missing_files}"
    unlisted = sorted(set(notebook_modules(py)) - set(listed) - {"localbook", "localbook.chapters"})
    assert not unlisted, f"{py.name} imports {unlisted}: name them in its row of docs/DESIGN.md"
