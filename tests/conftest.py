"""Shared test setup: a private cache directory, headless widgets, no data-directory leakage."""
import os

import pytest

os.environ.setdefault("LOCALBOOK_HEADLESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LOCALBOOK_DATA", raising=False)
