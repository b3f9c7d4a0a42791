"""Several corpora in one run: readers, the silent CREMA-D clip, balancing, speaker-disjoint splits, the CLI."""
import json
import shutil
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edge_runtime.config import EMOTIONS
from train import cremad
from train.clips import DatasetError
from train.corpora import Source, corpus_counts, resolve_ref, scan_folder, scan_sources, shared_data_dir
from train.sampling import balanced_weights, corpus_shares
from train.splits import DEFAULT_TEST_SPEAKERS, make_split

SHARED = shared_data_dir()
CREMAD = SHARED / "crema-d"
SONG = SHARED / "ravdess-song"
needs_all = pytest.mark.skipif(not (CREMAD.is_dir() and SONG.is_dir()), reason="needs ../shared/data/crema-d and "
                                                                                "ravdess-song")


@pytest.fixture(scope="module")
def all_clips():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scan_sources([Source("ravdess", SHARED / "ravdess"), Source("ravdess-song", SONG),
                             Source("crema-d", CREMAD)])


@needs_all
def test_opus_clip_is_read_at_16k():
    from edge_runtime.audio import read_audio

    audio, sr = read_audio(CREMAD / "1001_DFA_ANG_XX.opus")
    assert sr == 16000 and audio.dtype == np.float32 and 1.5 < len(audio) / sr < 5
    assert np.all(np.isfinite(audio)) and 0.05 < np.abs(audio).max() <= 1.0


@needs_all
def test_cremad_scan_skips_and_names_the_silent_clip():
    with pytest.warns(UserWarning, match="1076_MTI_SAD_XX"):
        clips = cremad.scan(CREMAD)
    assert len(clips) == 5965 and not any(c.stem == "1076_MTI_SAD_XX" for c in clips)
    assert len({c.speaker for c in clips}) == 73


@needs_all
def test_silent_clip_is_skipped_by_feature_extraction_not_fatal(tmp_path):
    from edge_runtime.config import FeatureConfig
    from train.dataset import Job, extract_features

    good, silent = cremad.parse_name(CREMAD / "1001_DFA_ANG_XX.opus"), cremad.parse_name(CREMAD / "1076_MTI_SAD_XX.opus")
    with pytest.warns(UserWarning, match="skipped 1 clip"):
        feats = extract_features([Job(silent), Job(good)], FeatureConfig(), cache_root=tmp_path, workers=1,
                                 progress=False)
    assert feats.x.shape == (1, 200, 40) and feats.y.tolist() == [EMOTIONS.index("angry")]
    assert "1076_MTI_SAD_XX" in feats.skipped[0] and "silent" in feats.skipped[0]


@needs_all
def test_corpora_missing_classes_have_none_of_them(all_clips):
    counts = corpus_counts(all_clips)
    assert set(counts) == {"ravdess", "ravdess-song", "crema-d"}
    assert set(counts["ravdess"]) == set(EMOTIONS)
    assert set(counts["crema-d"]) == set(EMOTIONS) - {"calm", "surprised"}
    assert set(counts["ravdess-song"]) == set(EMOTIONS) - {"disgust", "surprised"}


def test_balanced_weights_split_corpora_by_power_and_classes_equally():
    corpus = np.array(["big"] * 90 + ["small"] * 10)
    y = np.array([0] * 60 + [1] * 30 + [0] * 5 + [2] * 5)
    for power, big_share in ((1.0, 0.9), (0.5, 3 / 4), (0.0, 0.5)):
        w = balanced_weights(corpus, y, power)
        assert corpus_shares(corpus, w)["big"] == pytest.approx(big_share)
        class_mass = Counter()
        for c, k, wi in zip(corpus, y, w):
            class_mass[c, k] += wi
        assert class_mass["big", 0] == pytest.approx(class_mass["big", 1])       # classes equal within a corpus
        assert class_mass["small", 0] == pytest.approx(class_mass["small", 2])
        assert w.mean() == pytest.approx(1.0)


@needs_all
def test_speaker_split_is_speaker_disjoint_across_corpora(all_clips):
    split = make_split(all_clips, "speaker")
    parts = [{c.speaker for c in p} for p in (split.train, split.val, split.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert parts[2] == set(DEFAULT_TEST_SPEAKERS)
    # RAVDESS actors 21 and 22 are held out with their speech and their song.
    test_corpora = Counter(c.corpus for c in split.test)
    assert test_corpora["ravdess"] == 120 and test_corpora["ravdess-song"] == 88 and test_corpora["crema-d"] > 900
    assert len(split.train) + len(split.val) + len(split.test) == len(all_clips)
    other = make_split(all_clips, "speaker", fold=1)
    assert {c.speaker for c in other.test} != parts[2]
    assert not {c.speaker for c in other.train} & {c.speaker for c in other.test}


@needs_all
def test_corpus_split_drops_the_left_out_speakers_everywhere(all_clips):
    split = make_split(all_clips, "corpus", test_corpus="ravdess")
    assert Counter(c.corpus for c in split.test) == {"ravdess": 1320, "ravdess-song": 924}   # same actors
    assert {c.corpus for c in split.train + split.val} == {"crema-d"}
    assert split.info["also_tested"] == ["ravdess-song"]
    split = make_split(all_clips, "corpus", test_corpus="crema-d")
    assert {c.corpus for c in split.train} == {"ravdess", "ravdess-song"} and len(split.test) == 5965


def _folder_corpus(root: Path, data_root: Path) -> Path:
    """A user's own recordings: RAVDESS clips copied into <emotion>/<speaker>_<n>.flac, plus a stray folder."""
    picks = {"angry": "03-01-05-02-01-01-05.flac", "sad": "03-01-04-01-01-01-05.flac",
             "happy": "03-01-03-02-02-01-06.flac"}
    for k, (emotion, name) in enumerate(picks.items()):
        (root / emotion).mkdir(parents=True)
        actor = name[-7:-5]
        shutil.copy(data_root / f"Actor_{actor}" / name, root / emotion / f"anna_{k}.flac")
        shutil.copy(data_root / f"Actor_{actor}" / name, root / emotion / f"ben_{k}.flac")
    (root / "notes").mkdir()
    return root


def test_generic_folder_layout(tmp_path, data_root):
    root = _folder_corpus(tmp_path / "mydata", data_root)
    with pytest.warns(UserWarning, match="notes"):
        clips = scan_folder(root)
    assert Counter(c.label for c in clips) == {"angry": 2, "sad": 2, "happy": 2}
    assert {c.corpus for c in clips} == {"mydata"} and {c.speaker for c in clips} == {"mydata/anna", "mydata/ben"}
    ref = f"folder:{clips[0].path.relative_to(root)}"
    assert resolve_ref(ref, [Source("folder", root)]) == clips[0]
    with pytest.raises(DatasetError, match="no clips"):
        scan_folder(tmp_path / "mydata" / "notes")


def test_cli_data_flag_mixes_a_folder_with_ravdess(tmp_path, data_root, cache_root):
    root = _folder_corpus(tmp_path / "mydata", data_root)
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "train", "--out", str(out), "--data", f"ravdess={data_root}",
                           "--data", f"folder={root}", "--set", "test_speakers=ravdess/21,mydata/ben", "--set", "val_speakers=",
                           "--max-clips", "24", "--epochs", "1", "--members", "1", "--cache-dir", str(cache_root),
                           "--workers", "2", "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mydata" in proc.stdout and "ravdess" in proc.stdout
    run_config = json.loads((out / "run_config.json").read_text())
    assert [s.split("=")[0] for s in run_config["sources"]] == ["ravdess", "folder"]
    assert run_config["train"]["val_speakers"] == [] and "mydata/ben" in run_config["train"]["test_speakers"]
    split = json.loads((out / "split.json").read_text())
    assert split["test"]["speakers"] == ["mydata/ben", "ravdess/21"]
    assert set(split["train"]["per_corpus"]) == {"ravdess", "mydata"}
    assert all(f.startswith(("ravdess:", "mydata:")) for f in split["files"]["train"])
    report = json.loads((out / "report.json").read_text())
    assert set(report["per_corpus"]) == {"ravdess", "mydata", "all"}
