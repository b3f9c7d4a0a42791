"""Train / validation / test splits of RAVDESS clips.

Two protocols:

* ``random`` — the seed project's: stratified (by emotion) random split over
  clips, 80 % train+val / 20 % test, fixed seed. Actors appear on both sides.
* ``speaker`` — speaker-independent: whole actors are held out for test (and
  others for validation), so no voice in the test set was heard in training.

Validation (for early stopping) is always carved out of the training side,
never out of test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .ravdess import Clip, DatasetError

PROTOCOLS = ("random", "speaker")
DEFAULT_TEST_ACTORS = (21, 22)
DEFAULT_VAL_ACTORS = (19, 20)


@dataclass(frozen=True)
class Split:
    """Clip lists of one split, plus how they were made."""

    train: list[Clip]
    val: list[Clip]
    test: list[Clip]
    protocol: str
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts and actors per part, for the run folder."""
        def part(clips: list[Clip]) -> dict:
            return {"clips": len(clips), "actors": sorted({c.actor for c in clips})}
        return {"protocol": self.protocol, **self.info,
                "train": part(self.train), "val": part(self.val), "test": part(self.test)}


def _stratified(clips: Sequence[Clip], fraction: float, rng: np.random.Generator) -> tuple[list[Clip], list[Clip]]:
    """Split off ``fraction`` of every emotion class (rounded), shuffled by ``rng``."""
    keep, take = [], []
    for emotion in sorted({c.emotion for c in clips}):
        group = [c for c in clips if c.emotion == emotion]
        order = rng.permutation(len(group))
        n_take = max(1, int(round(fraction * len(group)))) if fraction > 0 and len(group) > 1 else 0
        take += [group[i] for i in order[:n_take]]
        keep += [group[i] for i in order[n_take:]]
    return sorted(keep, key=lambda c: c.path), sorted(take, key=lambda c: c.path)


def random_split(clips: Sequence[Clip], test_fraction: float = 0.2, val_fraction: float = 0.1,
                 seed: int = 42) -> Split:
    """The seed protocol: stratified random split over clips."""
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise DatasetError("test and validation fractions must be between 0 and 1")
    rng = np.random.default_rng(seed)
    rest, test = _stratified(clips, test_fraction, rng)
    train, val = _stratified(rest, val_fraction, rng)
    return Split(train, val, test, "random",
                 {"seed": seed, "test_fraction": test_fraction, "val_fraction": val_fraction})


def speaker_split(clips: Sequence[Clip], test_actors: Sequence[int] = DEFAULT_TEST_ACTORS,
                  val_actors: Sequence[int] = DEFAULT_VAL_ACTORS) -> Split:
    """Speaker-independent split: the named actors are held out entirely."""
    test_set, val_set = set(test_actors), set(val_actors)
    if test_set & val_set:
        raise DatasetError(f"actors {sorted(test_set & val_set)} are in both test and validation")
    present = {c.actor for c in clips}
    missing = sorted((test_set | val_set) - present)
    if missing:
        raise DatasetError(f"held-out actor(s) {missing} have no clips in the dataset")
    train = [c for c in clips if c.actor not in test_set | val_set]
    if not train:
        raise DatasetError("no actors left for training")
    return Split(train, [c for c in clips if c.actor in val_set], [c for c in clips if c.actor in test_set],
                 "speaker", {"test_actors": sorted(test_set), "val_actors": sorted(val_set)})


def make_split(clips: Sequence[Clip], protocol: str, *, seed: int = 42, test_fraction: float = 0.2,
               val_fraction: float = 0.1, test_actors: Sequence[int] = DEFAULT_TEST_ACTORS,
               val_actors: Sequence[int] = DEFAULT_VAL_ACTORS) -> Split:
    """Dispatch on ``protocol`` (one of :data:`PROTOCOLS`)."""
    if protocol == "random":
        return random_split(clips, test_fraction, val_fraction, seed)
    if protocol == "speaker":
        return speaker_split(clips, test_actors, val_actors)
    raise DatasetError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
