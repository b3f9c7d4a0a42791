import warnings
from collections import Counter

import pytest

from edge_runtime.config import EMOTIONS
from train.ravdess import DatasetError, parse_fields, parse_name, scan


def test_parse_name_fields():
    name = parse_fields("Actor_07/03-01-08-02-02-01-07.flac")
    assert EMOTIONS[name.emotion] == "surprised" and name.emotion == 7
    assert (name.actor, name.intensity, name.statement, name.repetition) == (7, 2, 2, 1)
    assert name.is_male and name.vocal_channel == 1
    clip = parse_name("Actor_07/03-01-08-02-02-01-07.flac")
    assert (clip.label, clip.corpus, clip.speaker, clip.intensity) == ("surprised", "ravdess", "ravdess/07", 2)


def test_parse_name_song_and_wav_suffix():
    clip = parse_name("03-02-01-01-01-02-24.WAV")
    assert clip.corpus == "ravdess-song" and clip.label == "neutral" and clip.speaker == "ravdess/24"


@pytest.mark.parametrize("name, message", [
    ("03-01-09-01-01-01-01.wav", "unknown emotion code 09"),
    ("03-01-00-01-01-01-01.wav", "unknown emotion code 00"),
    ("03-03-01-01-01-01-01.wav", "unknown vocal channel"),
    ("hello.wav", "not a RAVDESS"),
    ("03-01-01-01-01-01-01.mp3", "not a RAVDESS"),
])
def test_parse_name_rejects(name, message):
    with pytest.raises(DatasetError, match=message):
        parse_name(name)


def test_scan_shared_corpus(clips):
    assert len(clips) == 1320
    per_actor = Counter(c.speaker for c in clips)
    assert len(per_actor) == 22 and set(per_actor.values()) == {60}
    per_emotion = Counter(c.label for c in clips)
    assert set(per_emotion) == set(EMOTIONS)
    assert per_emotion["neutral"] == 22 * 4 and per_emotion["angry"] == 22 * 8


def test_scan_filters_actors(data_root):
    clips = scan(data_root, actors=[1, 2])
    assert {c.speaker for c in clips} == {"ravdess/01", "ravdess/02"} and len(clips) == 120


def test_scan_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        scan(tmp_path / "nope")


def test_scan_folder_without_ravdess_names(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    with pytest.warns(UserWarning, match="skipped 1 file"), pytest.raises(DatasetError, match="no RAVDESS clips"):
        scan(tmp_path)


def test_scan_warns_and_counts_stray_names(tmp_path, data_root):
    src = next((data_root / "Actor_01").glob("*.flac"))
    (tmp_path / "Actor_01").mkdir()
    (tmp_path / "Actor_01" / src.name).write_bytes(src.read_bytes())
    (tmp_path / "Actor_01" / "notes.wav").write_bytes(b"")
    (tmp_path / "readme.txt").write_text("not audio, not counted")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clips = scan(tmp_path)
    assert len(clips) == 1
    assert any("skipped 1 file" in str(w.message) for w in caught)
