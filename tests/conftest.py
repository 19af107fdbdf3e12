"""Shared test setup: a private cache directory, headless widgets, no data-directory leakage."""
import os

import pytest

os.environ.setdefault("LOCALBOOK_HEADLESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LOCALBOOK_DATA", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (``item.rep_call``), so that a fixture's teardown can tell
    whether the test failed (tests/test_browser.py saves a screenshot then)."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())
