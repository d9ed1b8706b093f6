"""Shared test set-up: quiet TensorFlow, a private cache and run directory per session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path_factory, monkeypatch):
    """No test writes into ~/.cache or ./runs."""
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("RBDM_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("RBDM_RUN_DIR", str(base / "runs"))
