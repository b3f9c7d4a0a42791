"""Train / validation / test splits over one or several corpora.

Three protocols:

* ``speaker`` — the one to tune on: whole speakers of every corpus are held
  out for test (fold 0: RAVDESS actors 21 and 22, twelve CREMA-D actors, about
  15 % of every other corpus's speakers) and others for validation, so no voice
  in the test part was heard in training. A speaker's clips never cross parts,
  across corpora too (RAVDESS speech and song share their actors). ``fold`` > 0
  holds out other speakers (see :func:`fold_speakers`).
* ``corpus`` — leave one corpus out: train on the others, test on every clip
  of the left-out one (the honest cross-corpus figure). Speakers of the
  left-out corpus leave the others too, and their clips there are tested as well.
* ``all`` — every clip trains, nothing is held out (the shipped model; its
  epoch count comes from a ``speaker`` run, since nothing can stop it early).
* ``random`` — the seed project's: stratified (by corpus and emotion) random
  80/20 over clips; actors appear on both sides. For comparison only.

Validation (for early stopping) is always carved out of the training side,
never out of test.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

from .clips import Clip, DatasetError

PROTOCOLS = ("speaker", "corpus", "random", "all")
_CREMAD_IDS = [a for a in range(1001, 1092) if a % 5]   # the shared copy lacks every fifth actor
#: Fold 0 of the speaker protocol: RAVDESS actors 21+22 and every sixth CREMA-D actor for test ...
DEFAULT_TEST_SPEAKERS: tuple[str, ...] = ("ravdess/21", "ravdess/22",
                                          *(f"crema-d/{a}" for a in _CREMAD_IDS[3::6][:12]))
#: ... RAVDESS actors 19+20 and six other CREMA-D actors for validation.
DEFAULT_VAL_SPEAKERS: tuple[str, ...] = ("ravdess/19", "ravdess/20",
                                         *(f"crema-d/{a}" for a in _CREMAD_IDS[0::12][:6]))


@dataclass(frozen=True)
class Split:
    """Clip lists of one split, plus how they were made."""

    train: list[Clip]
    val: list[Clip]
    test: list[Clip]
    protocol: str
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Counts per corpus and the speakers of each part, for the run folder."""
        def part(clips: list[Clip]) -> dict:
            per_corpus: dict[str, int] = defaultdict(int)
            for c in clips:
                per_corpus[c.corpus] += 1
            return {"clips": len(clips), "per_corpus": dict(sorted(per_corpus.items())),
                    "speakers": sorted({c.speaker for c in clips})}
        return {"protocol": self.protocol, **self.info,
                "train": part(self.train), "val": part(self.val), "test": part(self.test)}


def speaker_ids(text: str) -> tuple[str, ...]:
    """Parse ``"ravdess/21,crema-d/1004"``; a bare number is a RAVDESS actor.

    >>> speaker_ids("21, 22,crema-d/1004")
    ('ravdess/21', 'ravdess/22', 'crema-d/1004')
    """
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        out.append(f"ravdess/{int(item):02d}" if item.isdigit() else item)
    return tuple(out)


#: The corpus families whose folds follow the lists and seeded draws of the two-corpus project (kept, so that
#: their held-out speakers stay comparable with earlier runs).
LEGACY_FAMILIES = ("ravdess", "crema-d")


def fold_speakers(clips: Sequence[Clip], fold: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(test, validation) speakers of speaker-protocol fold ``fold``.

    About 15 % of each corpus family's speakers (at least one) are tested and half as many (at least one)
    validate. RAVDESS and CREMA-D keep the lists of fold 0 (:data:`DEFAULT_TEST_SPEAKERS`) and a seeded draw
    per fold above it; every other family (four or more speakers) is shuffled once and fold ``k`` tests its
    ``k``-th block, so the folds hold out different voices (a family of six: one test and one validation
    speaker a fold, each speaker tested once in six folds).
    """
    by_family: dict[str, list[str]] = defaultdict(list)
    for s in sorted({c.speaker for c in clips}):
        by_family[s.split("/", 1)[0]].append(s)
    test, val = [], []
    if fold == 0:
        test, val = list(DEFAULT_TEST_SPEAKERS), list(DEFAULT_VAL_SPEAKERS)
    for family, speakers in by_family.items():
        n = len(speakers)
        if n < 4 or (fold == 0 and family in LEGACY_FAMILIES):
            continue              # too few voices to hold any out, or the fixed lists above
        n_test = max(1, round(n * 0.15))
        n_val = max(1, n_test // 2)
        if family in LEGACY_FAMILIES:
            order = np.random.default_rng(1000 + fold).permutation(n)
            test += [speakers[i] for i in order[:n_test]]
            val += [speakers[i] for i in order[n_test:n_test + n_val]]
        else:
            order = np.random.default_rng(1000).permutation(n)
            start = fold * n_test
            test += [speakers[order[(start + i) % n]] for i in range(n_test)]
            val += [speakers[order[(start + n_test + i) % n]] for i in range(n_val)]
    return tuple(test), tuple(val)


def _stratified(clips: Sequence[Clip], fraction: float, rng: np.random.Generator) -> tuple[list[Clip], list[Clip]]:
    """Split off ``fraction`` of every (corpus, emotion) group (rounded), shuffled by ``rng``."""
    keep, take = [], []
    for key in sorted({(c.corpus, c.emotion) for c in clips}):
        group = [c for c in clips if (c.corpus, c.emotion) == key]
        order = rng.permutation(len(group))
        n_take = max(1, int(round(fraction * len(group)))) if fraction > 0 and len(group) > 1 else 0
        take += [group[i] for i in order[:n_take]]
        keep += [group[i] for i in order[n_take:]]
    return sorted(keep, key=lambda c: str(c.path)), sorted(take, key=lambda c: str(c.path))


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


def _present(clips: Iterable[Clip]) -> set[str]:
    return {c.speaker for c in clips}


def speaker_split(clips: Sequence[Clip], test_speakers: Sequence[str] = DEFAULT_TEST_SPEAKERS,
                  val_speakers: Sequence[str] = DEFAULT_VAL_SPEAKERS) -> Split:
    """Speaker-independent split: the named speakers are held out entirely.

    Named speakers of a corpus that is not in ``clips`` are ignored (a
    RAVDESS-only run holds out just its RAVDESS speakers); a named speaker of a
    corpus that is present but who has no clips is an error.
    """
    test_set, val_set = set(test_speakers), set(val_speakers)
    if test_set & val_set:
        raise DatasetError(f"speakers {sorted(test_set & val_set)} are in both test and validation")
    present, families = _present(clips), {c.family for c in clips}
    missing = sorted(s for s in (test_set | val_set) - present if s.split("/", 1)[0] in families)
    if missing:
        raise DatasetError(f"held-out speaker(s) {missing} have no clips in the dataset")
    train = [c for c in clips if c.speaker not in test_set | val_set]
    test = [c for c in clips if c.speaker in test_set]
    if not train or not test:
        raise DatasetError("no speakers left for training" if not train else "no clips of the test speakers")
    return Split(train, [c for c in clips if c.speaker in val_set], test, "speaker",
                 {"test_speakers": sorted(test_set & present), "val_speakers": sorted(val_set & present)})


def corpus_split(clips: Sequence[Clip], test_corpus: str,
                 val_speakers: Sequence[str] = DEFAULT_VAL_SPEAKERS) -> Split:
    """Leave ``test_corpus`` out: test on all of it, train on the other corpora's other speakers.

    The left-out corpus's speakers leave training everywhere; their clips in other corpora (RAVDESS song
    when RAVDESS speech is left out) are tested too, and reported under their own corpus.
    """
    corpora = sorted({c.corpus for c in clips})
    if test_corpus not in corpora:
        raise DatasetError(f"test corpus {test_corpus!r} is not among the corpora read ({', '.join(corpora)})")
    held = _present(c for c in clips if c.corpus == test_corpus)
    test = [c for c in clips if c.speaker in held]
    rest = [c for c in clips if c.speaker not in held]
    if not rest:
        raise DatasetError(f"nothing left to train on without {test_corpus} and its speakers")
    val_set = set(val_speakers) & _present(rest)
    train = [c for c in rest if c.speaker not in val_set]
    return Split(train, [c for c in rest if c.speaker in val_set], test, "corpus",
                 {"test_corpus": test_corpus, "val_speakers": sorted(val_set),
                  "also_tested": sorted({c.corpus for c in test} - {test_corpus})})


def make_split(clips: Sequence[Clip], protocol: str, *, seed: int = 42, test_fraction: float = 0.2,
               val_fraction: float = 0.1, test_speakers: Optional[Sequence[str]] = None,
               val_speakers: Optional[Sequence[str]] = None, fold: int = 0,
               test_corpus: Optional[str] = None) -> Split:
    """Dispatch on ``protocol`` (one of :data:`PROTOCOLS`)."""
    if protocol == "random":
        return random_split(clips, test_fraction, val_fraction, seed)
    if protocol == "all":
        return Split(sorted(clips, key=lambda c: str(c.path)), [], [], "all")
    default_test, default_val = fold_speakers(clips, fold)
    val = default_val if val_speakers is None else val_speakers
    if protocol == "speaker":
        return speaker_split(clips, default_test if test_speakers is None else test_speakers, val)
    if protocol == "corpus":
        if not test_corpus:
            raise DatasetError("the corpus protocol needs --test-corpus NAME")
        return corpus_split(clips, test_corpus, val)
    raise DatasetError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
