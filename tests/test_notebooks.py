"""Checks of the chapter notebooks as files: pairing, conventions, and that nbval really checks outputs."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from localbook.chapters import chapter_modules

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
CHECK_TAG = "nbval-check-output"  # nbval compares the stored outputs of cells with this tag
# Chapters whose checked cells still carry the '# NBVAL_CHECK_OUTPUT' comment instead of the tag: each leaves this
# set once `tools/nbval_tags.py` has converted it (then the comment is refused, so that it never shows in the book).
COMMENT_MARKER_CHAPTERS: set[str] = set()


def cells(nb):
    """(type, source, tags) of each cell, leaving out what papermill adds."""
    out = []
    for c in nb.cells:
        tags = [t for t in c.metadata.get("tags", []) if t not in PAPERMILL_TAGS]
        if "injected-parameters" in c.metadata.get("tags", []):
            continue
        out.append((c.cell_type, c.source.strip(), tuple(tags)))
    return out


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks/NN_name.py found"


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_pair_is_in_sync(py):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `jupytext --sync {py}` and execute it"
    from_py, from_ipynb = cells(jupytext.read(py)), cells(jupytext.read(ipynb))
    for i, (a, b) in enumerate(zip(from_py, from_ipynb)):
        assert a == b, f"cell {i} differs between {py.name} and {ipynb.name}: run `make sync` then re-execute"
    assert len(from_py) == len(from_ipynb), f"{py.name} and {ipynb.name} have different cell counts"


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(py):
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [0], "the first code cell, and only it, must be tagged 'parameters'"
    for name in ("device", "interactive", "smoke", "seed"):
        assert f"\n{name} = " in "\n" + code[0].source, f"the parameters cell must define {name!r}"
    nxt = [c for c in code[1:] if "injected-parameters" not in c.metadata.get("tags", [])][0]
    assert "params.check(globals()" in nxt.source, "the cell after the parameters must call params.check"
    trailing = [c.source for c in code if re.search(r"\S.*#\s*NBVAL_CHECK_OUTPUT", c.source)]
    assert not trailing, f"nbval only reads '# NBVAL_CHECK_OUTPUT' on a line of its own: {trailing[0][:80]!r}"
    comments = [c for c in code if re.search(r"^\s*#\s*NBVAL_CHECK_OUTPUT\s*$", c.source, re.M)]
    assert not comments or py.stem[:2] in COMMENT_MARKER_CHAPTERS, (
        f"checked cells carry the cell tag {CHECK_TAG!r} (hidden in the book), not a '# NBVAL_CHECK_OUTPUT' "
        f"comment: run `python tools/nbval_tags.py {py.relative_to(ROOT)}` then `jupytext --sync` on it")
    checked = comments + [c for c in code if CHECK_TAG in c.metadata.get("tags", [])]
    assert checked, f"no cell carries the {CHECK_TAG!r} tag: nbval would check nothing in this chapter"
    assert all(c.outputs for c in checked), "a checked cell has no stored output: execute the notebook"
    figures = [c.source[:60] for c in checked
               if any(o.get("output_type") == "display_data" and "image/png" in o.get("data", {}) for o in c.outputs)]
    assert not figures, ("a checked cell also shows a figure, which headless runs (MPLBACKEND=Agg, as CI) do not "
                         f"redisplay: print the checked numbers in a cell of their own: {figures[0]!r}")
    text = str([c.outputs for c in code])
    assert "Traceback" not in text and "DeprecationWarning" not in text


def run_nbval(path):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           str(path)], capture_output=True, text=True, timeout=300, cwd=path.parent)


def test_nbval_lax_fails_when_a_checked_output_changes(tmp_path):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    checked = nbformat.v4.new_code_cell("print(6 * 7)", metadata={"tags": [CHECK_TAG]})
    unchecked = nbformat.v4.new_code_cell("print('free text')")
    checked.execution_count, unchecked.execution_count = 1, 2
    checked.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    unchecked.outputs = [nbformat.v4.new_output("stream", name="stdout", text="anything\n")]
    nb.cells = [checked, unchecked]
    good = tmp_path / "good.ipynb"
    nbformat.write(nb, good)
    result = run_nbval(good)
    assert result.returncode == 0, result.stdout + result.stderr
    checked.outputs[0]["text"] = "43\n"
    bad = tmp_path / "bad.ipynb"
    nbformat.write(nb, bad)
    result = run_nbval(bad)
    assert result.returncode != 0 and "43" in result.stdout


def _smoke_run(chapter: str, tmp_path, *parameter):
    """papermill on ``notebooks/<chapter>.ipynb`` at smoke scale, widgets off, with one more ``name value``."""
    nb = ROOT / "notebooks" / f"{chapter}.ipynb"
    return subprocess.run(
        [sys.executable, "-m", "papermill", str(nb), str(tmp_path / "out.ipynb"), "-k", "python3",
         "--cwd", str(nb.parent), "-p", "smoke", "True", "-p", "interactive", "False", "-p", *parameter],
        capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name, value, message", [
    ("dimz", "3", "unknown parameter 'dimz' (did you mean 'dims'?)"),
    ("plt", "3", "-p plt ... was ignored: the notebook rebinds 'plt'"),  # imported after papermill's cell
])
def test_a_bad_papermill_parameter_stops_the_chapter(tmp_path, name, value, message):
    result = _smoke_run("00_local_methods", tmp_path, name, value)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_nbval_checks_a_displayed_table_as_text_and_html(tmp_path):
    from localbook.plotting import text_table

    table = text_table([("MAE", "1.5")], header=("quantity", "value"))
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    cell = nbformat.v4.new_code_cell('from localbook.plotting import text_table\n'
                                     'text_table([("MAE", "1.5")], header=("quantity", "value"))',
                                     metadata={"tags": [CHECK_TAG]})
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("execute_result", execution_count=1,
                                           data={"text/plain": str(table), "text/html": table._repr_html_()})]
    nb.cells = [cell]
    good = tmp_path / "table.ipynb"
    nbformat.write(nb, good)
    result = run_nbval(good)
    assert result.returncode == 0, result.stdout + result.stderr
    cell.outputs[0]["data"]["text/plain"] = str(table).replace("1.5", "1.6")
    nbformat.write(nb, good)
    assert run_nbval(good).returncode != 0


# ----------------------------------------------------------------------------------------------------------------
# the house shape of a chapter (docs/DESIGN.md, issue 14)

MAX_CELL_LINES = 15
CLOSING_SECTIONS = ["Thesis versus this book", "What this shows"]
# Chapters still being rewritten into the house shape. Each must still fail the check (so the set only shrinks);
# it is empty when every chapter is done.
HOUSE_SHAPE_PENDING: set[str] = set()


def house_shape_problems(py: Path) -> list[str]:
    """What keeps a chapter from the house shape: definitions or long cells in the notebook, closing sections,
    scale presets in the parameters cell."""
    from localbook.chapters import chapter_module

    nb = jupytext.read(py)
    code = [c for c in nb.cells if c.cell_type == "code"]
    problems = []
    for i, c in enumerate(code[1:], start=1):
        source = "\n".join(line for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        defined = [type(n).__name__ for n in ast.walk(ast.parse(source))
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))]
        if defined:
            problems.append(f"code cell {i} defines {', '.join(sorted(set(defined)))}: move it to localbook")
        n_lines = sum(1 for line in c.source.splitlines() if line.strip() and not line.lstrip().startswith("#"))
        if n_lines > MAX_CELL_LINES:
            problems.append(f"code cell {i} has {n_lines} lines (at most {MAX_CELL_LINES}): "
                            f"{c.source.strip().splitlines()[0][:60]!r}")
    headings = [line[3:].strip() for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    if headings[-2:] != CLOSING_SECTIONS:
        problems.append(f"the last sections are {headings[-2:]}, not {CLOSING_SECTIONS}")
    try:
        presets = chapter_module(py.stem).PRESETS
    except KeyError:
        return problems + ["no chapter module with scale presets in localbook.chapters"]
    assigned = {t.id: n.value for n in ast.parse(code[0].source).body if isinstance(n, ast.Assign)
                for t in n.targets if isinstance(t, ast.Name)}
    if not (isinstance(assigned.get("scale"), ast.Constant) and assigned["scale"].value == "quick"):
        problems.append('the parameters cell must set scale = "quick"')
    not_none = [name for name in presets.settings
                if not (isinstance(assigned.get(name), ast.Constant) and assigned[name].value is None)]
    if not_none:
        problems.append(f"preset settings must be None in the parameters cell (the scale fills them): {not_none}")
    if "params.check(globals(), chapter.PRESETS" not in code[1].source:
        problems.append("the cell after the parameters must call params.check(globals(), chapter.PRESETS)")
    return problems


@pytest.mark.parametrize("py", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_is_in_house_shape(py):
    problems = house_shape_problems(py)
    if py.stem in HOUSE_SHAPE_PENDING:
        assert problems, f"{py.stem} is now in the house shape: remove it from HOUSE_SHAPE_PENDING"
    else:
        assert not problems, f"{py.name}:\n- " + "\n- ".join(problems)


@pytest.mark.parametrize("module", sorted(chapter_modules().values()))
def test_thesis_preset_of_every_chapter_validates(module):
    import importlib

    presets = importlib.import_module(module).PRESETS
    for scale in ("quick", "medium", "thesis", "smoke"):
        assert presets.problems(presets.values(scale)) == [], f"{module}: the {scale} preset does not validate"
    # issue 16: each preset states what it will cost before it runs, the thesis' more than the quick run's
    assert presets.work is not None and presets.memory_gb is not None, f"{module} declares no cost model"
    thesis, quick = presets.values("thesis"), presets.values("quick")
    cost = presets.cost(thesis)
    assert cost.startswith("cost: ") and "peak memory about" in cost
    assert float(cost.split()[1]) > 1.0  # "cost: N x the quick run"
    assert presets.work(thesis) > presets.work(quick) and presets.memory_gb(thesis) >= presets.memory_gb(quick)


def test_chapter_05_runs_with_the_medium_presets_float16_features(tmp_path):
    """The medium preset stores the scattering in float16 (``feature_dtype``); the evidence cells once fed those
    features to the float32 network and the first medium run stopped there, after 55 minutes of training."""
    result = _smoke_run("05_patch_cnn", tmp_path, "feature_dtype", "float16")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
