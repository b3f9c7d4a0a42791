"""Shared fixtures: the real RAVDESS clips beside the checkout (or $RAVDESS_DIR)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _data_root() -> Path:
    from train.ravdess import default_root

    root = default_root()
    if not root.is_dir():
        raise RuntimeError(f"the tests need the RAVDESS clips at {root} (or set $RAVDESS_DIR)")
    return root


@pytest.fixture(scope="session")
def data_root() -> Path:
    """Folder of the real RAVDESS speech clips."""
    return _data_root()


@pytest.fixture(scope="session")
def clips(data_root):
    """All clips found there."""
    from train.ravdess import scan

    return scan(data_root)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> Path:
    """A feature cache private to this test session."""
    return tmp_path_factory.mktemp("feature-cache")
