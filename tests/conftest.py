"""Shared fixtures: the real RAVDESS clips beside the checkout (or $RAVDESS_DIR)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


#: Fixtures that read the shared corpora or train: a test using one is marked ``slow`` (see README, Tests).
SLOW_FIXTURES = {"data_root", "clip_path", "clips", "smoke_run", "real_clips", "all_clips", "test_split_features"}


def pytest_collection_modifyitems(config, items):
    """``pytest -m "not slow"`` is the fast loop: synthetic audio and samples/, no ../shared, no training."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


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
def clip_path(data_root) -> Path:
    """One real clip: Actor 05 (male), angry, strong intensity."""
    return data_root / "Actor_05" / "03-01-05-02-01-01-05.flac"


@pytest.fixture(scope="session")
def clips(data_root):
    """All clips found there."""
    from train.ravdess import scan

    return scan(data_root)


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory) -> Path:
    """A feature cache private to this test session."""
    return tmp_path_factory.mktemp("feature-cache")


#: A smoke training run: a stratified 64-clip subset, 3 epochs, one model.
SMOKE = dict(max_clips=64, epochs=3, patience=10, batch_size=16, members=1)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, data_root, cache_root):
    """(run folder, RunResult) of one smoke training run on real clips, shared by the suite."""
    from train.trainer import TrainConfig, train_run

    out = tmp_path_factory.mktemp("run")
    result = train_run(out, data_root, train_config=TrainConfig(**SMOKE), cache_root=cache_root,
                       workers=2, verbose=0)
    return out, result
