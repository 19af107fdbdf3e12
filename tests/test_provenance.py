"""Source hashes: which localbook modules a result depends on, and the cache recomputing after a code change."""
import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localbook import provenance

REPO = Path(__file__).resolve().parents[1]


def test_closure_follows_imports_and_parent_packages():
    closure = provenance.module_closure("localbook.scattering3d")
    assert {"localbook", "localbook.scattering3d", "localbook.scattering3d.frontend",
            "localbook.scattering3d.grid", "localbook.scattering3d.core", "localbook.device"} <= set(closure)
    assert not any(m.startswith(("localbook.atoms", "localbook.art", "localbook.images")) for m in closure)
    # ``from localbook.data import cache`` style imports pull in the submodule and the package's __init__
    assert {"localbook.data", "localbook.data.cache", "localbook.data.registry"} <= set(
        provenance.module_closure("localbook.data.kanjivg"))
    assert provenance.module_closure("localbook.data.cache") == tuple(sorted(set(
        provenance.module_closure("localbook.data.cache"))))


def test_hashes_are_stable_hex_and_distinct():
    a = provenance.source_hash("localbook.scattering3d")
    assert re.fullmatch(r"[0-9a-f]{64}", a) and a == provenance.source_hash("localbook.scattering3d")
    assert a != provenance.source_hash("localbook.atoms.eam") != provenance.package_hash()
    assert provenance.source_hash("localbook.scattering3d", "localbook.atoms.eam") == \
        provenance.source_hash("localbook.atoms.eam", "localbook.scattering3d")


def test_unknown_modules_are_refused_with_the_fix():
    for bad in ("scattering3d", "localbook.nope", "numpy", "localbook/atoms/eam.py"):
        with pytest.raises(ValueError, match="not a localbook module .* dotted name"):
            provenance.source_hash(bad)
    with pytest.raises(ValueError, match="at least one"):
        provenance.source_hash()


# Imports by computed name escape the closure. The known ones, and why each is fine: compute's command line loads
# the user's job module (a cache key of that job names the job's module in depends_on); the chapter registry looks
# up chapter modules by number (chapters are above everything the cache keys cover).
ALLOWED_DYNAMIC_IMPORTS = {"localbook/compute.py", "localbook/chapters/__init__.py"}


def test_localbook_imports_no_module_by_a_computed_name():
    """The closure is found by parsing import statements; importlib.import_module("...") would escape it."""
    offenders = set()
    for path in provenance.PACKAGE_ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name in ("import_module", "__import__"):
                    offenders.add(path.relative_to(REPO).as_posix())
    assert offenders <= ALLOWED_DYNAMIC_IMPORTS, sorted(offenders - ALLOWED_DYNAMIC_IMPORTS)


def test_dependency_versions_name_installed_distributions():
    versions = provenance.dependency_versions("localbook.scattering3d")
    assert versions["torch"].startswith("torch==") and versions["sklearn"].startswith("scikit-learn==")
    assert "dscribe" not in versions  # only what the scattering modules import


RUN = textwrap.dedent("""
    import sys
    import torch
    from ase.build import molecule
    import localbook
    from localbook.data.cache import ArrayCache
    from localbook.scattering3d import SolidHarmonicScattering

    assert localbook.__file__.startswith(sys.argv[2]), localbook.__file__   # the copy, not the checkout
    mols = [molecule("H2O"), molecule("CH4")]
    shs = SolidHarmonicScattering(J=1, L=1, qs=(1.0,), sigma=0.5, max_order=1, device="cpu")
    calls = []

    def compute():
        calls.append(1)
        return {"X": shs.fit_transform(mols)}

    depends_on = None if sys.argv[3] == "package" else ["localbook.scattering3d"]
    # a torch.device among the parameters, as in chapter 03: hashed by name, so a second run hits
    params = {**shs.get_params(), "device": torch.device("cpu")}
    ArrayCache(sys.argv[1]).get_or_compute("scattering", compute, inputs=mols, params=params, depends_on=depends_on)
    print("computed" if calls else "cached")
""")


def _edit_one_line(path: Path, pattern: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    i = next(k for k, line in enumerate(lines) if re.search(pattern, line))
    lines[i] = lines[i].rstrip("\n") + "  # edited\n"
    path.write_text("".join(lines))


@pytest.mark.slow
def test_changing_one_line_of_a_copy_of_scattering3d_makes_the_next_run_recompute(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO / "localbook", src / "localbook",
                    ignore=shutil.ignore_patterns("__pycache__", "*.npz", "*.pt", "*.gz"))
    script = tmp_path / "run.py"
    script.write_text(RUN)
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}

    def run(scope):
        out = subprocess.run([sys.executable, str(script), str(tmp_path / "cache"), str(src), scope],
                             capture_output=True, text=True, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        return out.stdout.strip().splitlines()[-1]

    assert [run("scattering3d"), run("scattering3d")] == ["computed", "cached"]
    _edit_one_line(src / "localbook" / "scattering3d" / "core.py", r"^def ")
    assert run("scattering3d") == "computed"
    _edit_one_line(src / "localbook" / "art" / "style.py", r"^def ")  # a module scattering does not import
    assert [run("scattering3d"), run("package")] == ["cached", "computed"]


# property: editing any one file changes package_hash, and source_hash(M) exactly when the file is in M's closure

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FILES = sorted(p.relative_to(provenance.PACKAGE_ROOT).as_posix() for p in provenance.PACKAGE_ROOT.rglob("*.py")
                if "__pycache__" not in p.parts)
_PROBES = ("localbook.scattering3d", "localbook.atoms.eam", "localbook.data.cache", "localbook.art.style",
           "localbook.images.patches")


def _module_name(rel: str) -> str:
    return ".".join(("localbook", *Path(rel).with_suffix("").parts)).removesuffix(".__init__")


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("src") / "localbook"
    shutil.copytree(provenance.PACKAGE_ROOT, root,
                    ignore=shutil.ignore_patterns("__pycache__", "*.npz", "*.pt", "*.gz"))
    return root


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_FILES))
def test_editing_any_file_changes_exactly_the_hashes_that_cover_it(package_copy, monkeypatch, rel):
    monkeypatch.setattr(provenance, "PACKAGE_ROOT", package_copy)
    provenance.clear()
    try:
        before = {m: provenance.source_hash(m) for m in _PROBES}
        package_before = provenance.package_hash()
        closures = {m: provenance.module_closure(m) for m in _PROBES}
        original = (package_copy / rel).read_bytes()
        (package_copy / rel).write_bytes(original + b"\n# one more line\n")
        provenance.clear()
        assert provenance.package_hash() != package_before
        for m in _PROBES:
            covered = _module_name(rel) in closures[m]
            assert (provenance.source_hash(m) != before[m]) == covered, (rel, m)
        (package_copy / rel).write_bytes(original)
    finally:
        provenance.clear()
