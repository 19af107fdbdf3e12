"""Recorded runs (runs/): provenance, rendering below their chapter, the stale-run banner."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from localbook import runs
from localbook.provenance import source_hash

ROOT = Path(__file__).resolve().parents[1]
RECORDED = sorted((ROOT / "runs").glob("*.ipynb"))


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_recorded_run_has_its_provenance(path):
    prov = runs.provenance_of(path)
    assert re.fullmatch(r"[0-9a-f]{40}", prov["commit"]), prov["commit"]
    assert re.fullmatch(r"[0-9a-f]{64}", prov["source_hash"])
    # a module renamed since makes the run stale (banner), not invalid: see test_a_run_whose_module_was_renamed...
    assert prov["modules"] and all(re.fullmatch(r"localbook(\.\w+)*", m) for m in prov["modules"]), prov["modules"]
    assert prov["scale"] in ("medium", "thesis") and path.name == f"{prov['chapter']}.{prov['scale']}.ipynb"
    assert prov["command"].startswith(f"make record NB={prov['chapter']} SCALE={prov['scale']}")
    assert prov["machine"]["cpu"] and prov["machine"]["cores"] >= 1
    assert prov["wall_seconds"] > 0 and prov["peak_memory_gb"] > 0
    text = str([c.get("outputs", []) for c in nbformat.read(path, as_version=4).cells])
    assert "Traceback" not in text, "a recorded run stores a traceback"


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_the_memory_model_predicts_the_recorded_peak(path):
    """A run is refused when its memory estimate exceeds the machine: an estimate far below what a recorded run
    used lets a user start a run that will be killed (chapter 01's model once said 2.1 GB for an 11.4 GB run)."""
    from localbook.chapters import chapter_module

    prov = runs.provenance_of(path)
    presets = chapter_module(prov["chapter"]).PRESETS
    values = presets.values(prov["scale"])
    values.update({k: v for k, v in prov["parameters"].items() if k in values})
    if values.get("code_storage") == "disk":
        # the recorded peak (the kernel's maximum resident set) counts the pages of the memory-mapped code files,
        # which the model leaves out (the kernel may evict them); compare with the model of the same run holding
        # its codes in memory
        values["code_storage"] = "memory"
    estimate, peak = presets.memory_gb(values), prov["peak_memory_gb"]
    assert 0.7 * peak <= estimate <= 4 * peak + 1.0, (
        f"{path.name}: the memory model of {prov['chapter']} says {estimate:.2f} GB for a run that peaked at "
        f"{peak:.2f} GB; measure the step that dominates and correct the model")


def test_every_recorded_run_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*book/runs/(\S+)", toc))
    assert listed == {p.stem for p in RECORDED}, "runs/*.ipynb and the book/runs/ entries of _toc.yml differ"


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_the_chapter_links_its_recorded_run_from_its_thesis_table(path):
    prov = runs.provenance_of(path)
    source = (ROOT / "notebooks" / f"{prov['chapter']}.py").read_text()
    section = source.partition("# ## Thesis versus this book")[2].partition("\n# ## ")[0]
    assert section, f"notebooks/{prov['chapter']}.py has no 'Thesis versus this book' section"
    label = runs.run_label(prov["chapter"], prov["scale"])
    assert f"{{ref}}`{label}`" in section, (
        f"the 'Thesis versus this book' section of {prov['chapter']} does not link its recorded run: add "
        f"{{ref}}`{label}` to it")


def _fake_run(folder: Path, source_hash_value: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Local methods\n\nThe chapter's opening."),
                nbformat.v4.new_code_cell("print(1)")]
    nb.metadata["localbook"] = {"provenance": {
        "chapter": "00_local_methods", "scale": "medium", "parameters": {},
        "command": "make record NB=00_local_methods SCALE=medium", "commit": "a" * 40, "dirty": False,
        "source_hash": source_hash_value, "modules": ["localbook.curse"],
        "machine": {"cpu": "a CPU", "cores": 2, "memory_gb": 24.0, "gpu": None}, "wall_seconds": 12.0,
        "peak_memory_gb": 0.5, "date": "2026-11-29 12:00 UTC", "localbook_version": "0.1.0"}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "00_local_methods.medium.ipynb"
    nbformat.write(nb, path)
    return path


def test_render_opens_with_the_provenance_and_flags_a_stale_run(tmp_path):
    _fake_run(tmp_path / "runs", source_hash("localbook.curse"))
    (page,) = runs.render(tmp_path / "runs", tmp_path / "book")
    cells = nbformat.read(page, as_version=4).cells
    assert cells[0].source.startswith("(run-00-local-methods-medium)=\n# Local methods — at medium scale")
    assert "make record NB=00_local_methods SCALE=medium" in cells[1].source and "older version" not in cells[1].source
    assert "The chapter's opening." in cells[1].source  # the rest of the opening cell is kept
    _fake_run(tmp_path / "runs", "0" * 64)  # the code it depends on has changed since
    (page,) = runs.render(tmp_path / "runs", tmp_path / "book")
    assert ":::{warning}" in nbformat.read(page, as_version=4).cells[1].source
    assert [r.stale for r in runs.recorded_runs(tmp_path / "runs")] == [True]


def test_a_run_whose_module_was_renamed_is_stale_not_an_error(tmp_path):
    path = _fake_run(tmp_path / "runs", "0" * 64)
    nb = nbformat.read(path, as_version=4)
    nb.metadata["localbook"]["provenance"]["modules"] = ["localbook.curse", "localbook.no_such_module"]
    nbformat.write(nb, path)
    (run,) = runs.recorded_runs(tmp_path / "runs")
    assert run.stale and run.gone == ("localbook.no_such_module",)
    (page,) = runs.render(tmp_path / "runs", tmp_path / "book")
    assert "renamed or removed since: `localbook.no_such_module`" in nbformat.read(page, as_version=4).cells[1].source


def test_incomplete_provenance_is_refused(tmp_path):
    path = _fake_run(tmp_path, "0" * 64)
    nb = nbformat.read(path, as_version=4)
    del nb.metadata["localbook"]["provenance"]["commit"]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="lacks commit"):
        runs.provenance_of(path)


@pytest.mark.slow
def test_record_runs_a_chapter_and_stores_its_provenance(tmp_path):
    path = runs.record("00_local_methods", "quick", {"smoke": True}, out_dir=tmp_path)
    prov = runs.provenance_of(path)
    assert prov["parameters"] == {"smoke": True} and "localbook.curse" in prov["modules"]
    assert prov["source_hash"] == source_hash(*prov["modules"]) and prov["wall_seconds"] > 0
    assert "-p smoke True" in prov["command"]
