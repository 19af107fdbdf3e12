"""The chapters' widgets in a real JupyterLab, and the book's kernel-free figures, driven by headless Chromium.

What a workshop participant and an online reader do, done by Playwright with the system's Chromium (Debian's
``chromium``; browsers cannot be downloaded here, so Playwright is pointed at it with ``executable_path``):

* JupyterLab is started by ``tools/lab.sh`` (what ``make lab`` runs) on 127.0.0.1, serving copies of the
  chapters prepared at their smoke scale with ``interactive = True``; each chapter is opened, run with
  "Run All Cells", and one control is moved (chapter 08: a stroke drawn with the mouse on the canvas, then the
  machine's button); the output must change. A chapter's ``.py`` must open as a notebook (jupytext).
* the built book (``_build/html``, from ``make html``) is opened from disk: each kernel-free figure's slider is
  moved and the figure must change.

A failing test leaves a screenshot in ``_build/browser/``. Without Chromium (or Playwright) the module is
skipped with the command that installs it; without a built book the book tests are skipped.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "browser"
BOOK = ROOT / "_build" / "html"
CHROMIUM = os.environ.get("LOCALBOOK_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
WIDGET_CHAPTERS = ["00_local_methods", "01_scattering_aliasing", "02_qm9_regression", "03_graphite_regression",
                   "04_entropy_surrogate", "05_patch_cnn", "06_patch_knn", "07_style_transfer", "08_sketch_dialog"]
RUN_TIMEOUT_S = 420  # one chapter at smoke scale, run in the browser's kernel

if CHROMIUM is None:
    pytest.skip("no Chromium: the browser tests need Debian's chromium (as root: apt-get install chromium); "
                "set LOCALBOOK_CHROMIUM to use another build", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is missing: make setup installs it")


# ------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, request):
    """A fresh page at a laptop's screen size; a screenshot in _build/browser/ if the test fails."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    pg = context.new_page()
    yield pg
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:  # tests/conftest.py
        SHOTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(name: str, folder: Path) -> None:
    """A copy of the chapter without outputs, at smoke scale with widgets on (papermill's parameter cell)."""
    import nbformat
    import papermill

    papermill.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(folder / f"{name}.ipynb"),
                               parameters={"smoke": True, "interactive": True}, prepare_only=True,
                               kernel_name="python3", progress_bar=False)
    nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("jupytext", None)  # the copy is not paired: saving it writes nothing else
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started by tools/lab.sh on 127.0.0.1, serving prepared copies; yields (base url, token)."""
    root = tmp_path_factory.mktemp("lab")
    for name in WIDGET_CHAPTERS:
        _prepare(name, root)
    (root / "py").mkdir()
    shutil.copy(ROOT / "notebooks" / "00_local_methods.py", root / "py" / "00_local_methods.py")
    settings = root.parent / (root.name + "-settings") / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # every cell in the page (JupyterLab 4 renders only the visible ones by default), no autosave
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    (settings.parent / "docmanager-extension").mkdir()
    (settings.parent / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autosave": False}))
    (settings.parent / "apputils-extension").mkdir()  # no "news" pop-up over the notebook
    (settings.parent / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false"}))
    port, token = _free_port(), "localbook-browser-test"
    env = {k: v for k, v in os.environ.items() if k not in ("LOCALBOOK_HEADLESS", "MPLBACKEND")}
    env.update(LAB_ROOT=str(root), VENV=str(Path(sys.executable).parent.parent),
               LOCALBOOK_CACHE=env.get("LOCALBOOK_CACHE", str(root / "cache")), OMP_NUM_THREADS="1")
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen(
        ["bash", str(ROOT / "tools" / "lab.sh"), "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--LabApp.user_settings_dir={settings.parent.parent}",
         f"--LabApp.workspaces_dir={root.parent / (root.name + '-workspaces')}",
         "--ServerApp.open_browser=False"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(root / 'lab.log').read_text()[-2000:]}")
            time.sleep(1)
        else:
            pytest.fail(f"JupyterLab did not answer in 120 s: {(root / 'lab.log').read_text()[-2000:]}")
        yield url, token
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


# ------------------------------------------------------------------------------------------------- helpers
def _run_all(page, lab, path: str):
    """Open ``path`` in JupyterLab, run every cell, wait until the last one has run; return the notebook."""
    url, token = lab
    # a workspace of its own: no tab restored from another test, so "Run All Cells" acts on this notebook
    page.goto(f"{url}/lab/workspaces/{Path(path).stem}/tree/{path}?token={token}")
    notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
    notebook.wait_for(timeout=60_000)
    select = page.locator(".jp-Dialog", has_text="Select Kernel")
    with contextlib.suppress(playwright.TimeoutError):  # asked when a kernel is not started on its own
        select.wait_for(timeout=5_000)
        select.locator(".jp-mod-accept").click()
    page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
        timeout=60_000)
    notebook.locator(".jp-Cell").first.click()  # the notebook is the current widget
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) '
                                                           + '.jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""", timeout=RUN_TIMEOUT_S * 1000, polling=1000)
    errors = page.locator(".jp-NotebookPanel:visible [data-mime-type='application/vnd.jupyter.stderr']",
                          has_text="Traceback")
    assert errors.count() == 0, errors.first.inner_text()[-3000:]
    return notebook


def _wait_for_change(locator, before: str, timeout_s: float = 120) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        now = locator.inner_text()
        if now != before and now.strip():
            return now
        time.sleep(0.5)
    raise AssertionError(f"the output did not change within {timeout_s:.0f} s: still {before[-300:]!r}")


def _slider_right(page, slider, steps: int = 1) -> None:
    """Move an ipywidgets slider by keyboard, as a person would after clicking its handle."""
    handle = slider.locator(".noUi-handle")
    handle.click()
    for _ in range(steps):
        handle.press("ArrowRight")


# ---------------------------------------------------------------------------------------------- JupyterLab
def test_chapter_py_opens_as_a_notebook(page, lab):
    url, token = lab
    page.goto(f"{url}/lab/workspaces/py/tree/py/00_local_methods.py?token={token}")
    markdown = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-MarkdownCell")
    markdown.nth(3).wait_for(timeout=60_000)  # a notebook, not a text editor: rendered markdown cells
    assert page.locator(".jp-NotebookPanel:visible .jp-CodeCell").count() > 5


def test_chapter_00_curse_explorer(page, lab):
    nb = _run_all(page, lab, "00_local_methods.ipynb")
    explorer = nb.locator(".localbook-explorer")
    out = explorer.locator(".jp-OutputArea").first
    before = _wait_for_change(out, "")
    assert "D = 4, n = 1024" in before
    _slider_right(page, explorer.locator(".widget-slider").first)
    assert "D = 5, n = 1024" in _wait_for_change(out, before)


def test_chapter_01_aliasing_explorer(page, lab):
    nb = _run_all(page, lab, "01_scattering_aliasing.ipynb")
    assert nb.locator(".js-plotly-plot").count() >= 1  # the kernel-free figure, drawn by jupyterlab-plotly
    explorer = nb.locator(".localbook-explorer")
    out = explorer.locator(".jp-OutputArea").first
    before = _wait_for_change(out, "")
    assert "l = 3," in before
    _slider_right(page, explorer.locator(".widget-slider").first)
    assert "l = 4," in _wait_for_change(out, before)


def test_chapter_02_learning_curve_explorer(page, lab):
    nb = _run_all(page, lab, "02_qm9_regression.ipynb")
    explorer = nb.locator(".localbook-explorer")
    out = explorer.locator(".jp-OutputArea").first
    before = _wait_for_change(out, "")
    assert before.startswith("n = ") and "kcal/mol" in before
    slider = explorer.locator(".widget-slider").first
    handle = slider.locator(".noUi-handle")
    handle.click()
    handle.press("ArrowLeft")  # the largest training size, one step down
    after = _wait_for_change(out, before)
    assert after.startswith("n = ") and float(after[4:].split(":")[0]) < float(before[4:].split(":")[0])


def _parity_explorer(page, lab, path: str, unit: str):
    """Run a chapter with a parity explorer; return the explorer, its output area and its first summary line."""
    nb = _run_all(page, lab, path)
    explorer = nb.locator(".localbook-explorer")
    out = explorer.locator(".jp-OutputArea").first
    before = _wait_for_change(out, "")
    assert ", all: MAE" in before and unit in before
    return explorer, out, before


def test_chapter_03_parity_explorer(page, lab):
    explorer, out, before = _parity_explorer(page, lab, "03_graphite_regression.ipynb", "eV")
    models = explorer.locator("select").first  # the first dropdown: the model
    names = models.locator("option").all_inner_texts()
    models.select_option(names[-1])
    other_model = _wait_for_change(out, before)
    model = names[-1].replace("\xa0", " ")  # the browser shows an option's spaces as no-break spaces
    assert other_model.startswith(f"{model}, all: MAE")
    density = explorer.locator("select").nth(1)  # the second dropdown: the density
    labels = [o for o in density.locator("option").all_inner_texts() if o != "all"]
    density.select_option(labels[0])
    assert _wait_for_change(out, other_model).startswith(f"{model}, {labels[0]}: MAE")


def test_chapter_04_parity_explorer(page, lab):
    explorer, out, before = _parity_explorer(page, lab, "04_entropy_surrogate.ipynb", "k_B")
    group = explorer.locator("select").nth(1)  # the second dropdown: the defect kind
    options = [o for o in group.locator("option").all_inner_texts() if o != "all"]
    group.select_option(options[0])
    assert f", {options[0]}: MAE" in _wait_for_change(out, before)


def test_chapter_05_evidence_browser(page, lab):
    nb = _run_all(page, lab, "05_patch_cnn.ipynb")
    slider = nb.locator(".widget-interact .widget-slider").first
    slider.wait_for(timeout=60_000)
    out = nb.locator(".widget-interact .jp-OutputArea").first
    out.locator("img").first.wait_for(timeout=60_000)
    before = out.locator("img").first.get_attribute("src")
    _slider_right(page, slider)
    deadline = time.time() + 120
    while out.locator("img").first.get_attribute("src") == before:  # the evidence maps of the next image
        assert time.time() < deadline, "the evidence maps did not change when the slider moved"
        time.sleep(0.5)


def test_chapter_06_nearest_atoms_explorer(page, lab):
    nb = _run_all(page, lab, "06_patch_knn.ipynb")
    explorer = nb.locator(".localbook-explorer")
    out = explorer.locator(".jp-OutputArea").first
    before = _wait_for_change(out, "")
    assert before.startswith("image 0, patch at row")
    _slider_right(page, explorer.locator(".widget-slider").nth(1))  # the row
    row = int(before.split("row ")[1].split(",")[0])
    assert f"image 0, patch at row {row + 1}," in _wait_for_change(out, before)


def test_chapter_07_portrait_upload(page, lab, tmp_path):
    import torch

    from localbook.art.images import to_png_bytes

    nb = _run_all(page, lab, "07_style_transfer.ipynb")
    photo = tmp_path / "canvas.png"
    photo.write_bytes(to_png_bytes(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))))
    status = nb.locator(".widget-label", has_text="Upload a photograph")
    status.wait_for(timeout=30_000)
    with page.expect_file_chooser() as chooser:  # what a participant does: click, pick a photograph
        nb.locator(".widget-upload", has_text="canvas photo").first.click()
    chooser.value.set_files(str(photo))
    nb.locator(".widget-label", has_text="projection 1").wait_for(timeout=180_000)
    image = nb.locator("img.widget-image").first
    box = image.bounding_box()
    assert image.get_attribute("src") and box["width"] <= 260  # shown at its size, not the page width


def test_chapter_08_canvas_dialog(page, lab):
    nb = _run_all(page, lab, "08_sketch_dialog.ipynb")
    dialog = nb.locator(".localbook-canvas-dialog")
    dialog.wait_for(timeout=60_000)
    canvas = dialog.locator("canvas").first
    dialog.scroll_into_view_if_needed()
    box, whole = canvas.bounding_box(), dialog.bounding_box()
    clear = dialog.locator("button", has_text="clear").bounding_box()
    # the canvas at its own size, the controls beside it: the whole dialog fits a 1366 x 768 screen
    assert 355 <= box["width"] <= 365 and whole["height"] <= 420 and clear["x"] + clear["width"] - box["x"] <= 700
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(x0 + 4 * k, y0 + 2 * k)
    page.mouse.up()
    status = dialog.locator(".widget-html")
    status.filter(has_text="1 stroke(s) in this turn").wait_for(timeout=30_000)
    dialog.locator("button", has_text="machine's turn").click()
    answer = _wait_for_change(status, status.inner_text(), timeout_s=60)
    assert "turn 2: the machine" in answer


# -------------------------------------------------------------------------------------------- rendered book
# (chapter, number of kernel-free figures): chapter 00's webfigures.curse_figure, chapter 02's learning_curve_figure
BOOK_FIGURES = [("00_local_methods", 1), ("01_scattering_aliasing", 1), ("02_qm9_regression", 1),
                ("07_style_transfer", 1)]


@pytest.mark.parametrize("chapter, n_figures", BOOK_FIGURES, ids=[c for c, _ in BOOK_FIGURES])
def test_book_slider_figures_work_without_a_kernel(page, chapter, n_figures):
    html = BOOK / "notebooks" / f"{chapter}.html"
    if not html.exists():
        pytest.skip(f"{html.relative_to(ROOT)} is not built: run `make html` first")
    page.goto(html.as_uri())
    figures = page.locator(".localbook-webfigure .js-plotly-plot")
    figures.first.wait_for(timeout=30_000)
    assert figures.count() >= n_figures
    for k in range(figures.count()):
        fig = figures.nth(k)
        fig.scroll_into_view_if_needed()
        state = "el => JSON.stringify([el.data.map(t => t.visible), el.layout.title && el.layout.title.text])"
        before = fig.evaluate(state)
        labels = fig.locator(".slider-container .slider-label")
        assert labels.count() >= 2, "the figure has no slider"
        target = labels.nth(labels.count() - 1) if fig.evaluate("el => el.layout.sliders[0].active") == 0 \
            else labels.first
        rail = fig.locator(".slider-container .slider-rail-touch-rect").bounding_box()
        page.mouse.click(target.bounding_box()["x"] + target.bounding_box()["width"] / 2,
                         rail["y"] + rail["height"] / 2)
        page.wait_for_timeout(500)
        assert fig.evaluate(state) != before, f"moving the slider of figure {k} did not change it"
