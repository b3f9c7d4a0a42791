from collections import Counter

import pytest

from train.augment import VARIANTS
from train.ravdess import DatasetError
from train.splits import make_split, speaker_ids
from train.trainer import build_jobs


def _paths(clips):
    return {c.path for c in clips}


def test_random_split_is_disjoint_complete_and_stratified(clips):
    split = make_split(clips, "random", seed=42)
    train, val, test = _paths(split.train), _paths(split.val), _paths(split.test)
    assert not (train & val or train & test or val & test)
    assert train | val | test == _paths(clips)
    assert abs(len(test) / len(clips) - 0.2) < 0.01
    total, held = Counter(c.label for c in clips), Counter(c.label for c in split.test)
    for label, n in total.items():
        assert abs(held[label] / n - 0.2) < 0.02, label


def test_random_split_is_repeatable_and_seeded(clips):
    a, b = make_split(clips, "random", seed=1), make_split(clips, "random", seed=1)
    c = make_split(clips, "random", seed=2)
    assert _paths(a.test) == _paths(b.test)
    assert _paths(a.test) != _paths(c.test)


def test_speaker_split_holds_out_whole_actors(clips):
    split = make_split(clips, "speaker")    # RAVDESS only: the CREMA-D speakers of the default lists are ignored
    actors = [{c.speaker for c in part} for part in (split.train, split.val, split.test)]
    assert actors[2] == {"ravdess/21", "ravdess/22"} and actors[1] == {"ravdess/19", "ravdess/20"}
    assert not (actors[0] & actors[1] or actors[0] & actors[2])
    assert len(split.train) + len(split.val) + len(split.test) == len(clips)


def test_speaker_split_rejects_overlap_and_missing(clips):
    with pytest.raises(DatasetError, match="both test and validation"):
        make_split(clips, "speaker", test_speakers=speaker_ids("1,2"), val_speakers=speaker_ids("2,3"))
    with pytest.raises(DatasetError, match="no clips"):
        make_split(clips, "speaker", test_speakers=speaker_ids("23,24"))


@pytest.mark.parametrize("protocol", ["random", "speaker", "all"])
def test_augmentation_only_touches_training_clips(clips, protocol):
    split = make_split(clips, protocol)
    jobs, where = build_jobs(split, augment=True)
    train_jobs, val_jobs, test_jobs = jobs[where["train"]], jobs[where["val"]], jobs[where["test"]]
    assert {j.variant for j in test_jobs} <= {"clean"} and {j.variant for j in val_jobs} <= {"clean"}
    assert len(train_jobs) == len(VARIANTS) * len(split.train)
    augmented = {j.clip.path for j in train_jobs if j.variant != "clean"}
    assert augmented == _paths(split.train)
    assert not augmented & (_paths(split.test) | _paths(split.val))
