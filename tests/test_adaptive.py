"""The bundled speaker-adapted companion: ``AdaptiveClassifier``, ``classify --same-speaker``, ``listen`` adapting."""
import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from edge_runtime.adaptive import AdaptiveClassifier, bundled_companion
from edge_runtime.audio import load_audio
from edge_runtime.classifier import EmotionClassifier
from edge_runtime.model_card import ModelError, load_card


def run_cli(*args, timeout=300):
    """``python -m edge_runtime ARGS``: the completed process."""
    return subprocess.run([sys.executable, "-m", "edge_runtime", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def actor_clips(data_root):
    """Twelve clips of RAVDESS actor 3 (one voice, several emotions)."""
    return sorted((data_root / "Actor_03").glob("03-01-*.flac"))[::5][:12]


def test_the_bundled_companion_reads_the_default_models_features():
    card = load_card(bundled_companion())
    assert card.speaker_norm["columns"] == card.feature_config.n_mfcc
    assert card.feature_config == load_card().feature_config and card.labels == load_card().labels
    assert card.speaker_norm["enrol_windows"] >= 3 and 0.5 <= card.speaker_norm["weight"] <= 1.0
    with pytest.raises(ModelError, match="not a speaker-adapted model"):
        AdaptiveClassifier(companion="int8")


def test_classify_same_speaker_hears_every_file_first(actor_clips, tmp_path):
    stats = tmp_path / "actor03.json"
    proc = run_cli("classify", "--json", "--same-speaker", "--speaker-stats", stats, *actor_clips)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert f"speaker: {len(actor_clips)} of {len(actor_clips)} files heard" in proc.stderr

    clf = AdaptiveClassifier()
    windows = [clf.features(load_audio(p, 16000), 16000) for p in actor_clips]
    for w in windows:
        clf.enrol(w)
    assert clf.adapted
    plain = EmotionClassifier()
    for row, w in zip(rows, windows):
        expected = clf.predict_features(w)
        assert row["label"] == expected.label
        assert row["scores"] == pytest.approx(expected.scores, abs=1e-5)
        assert not np.allclose(list(row["scores"].values()), plain.scores(w), atol=1e-3)   # the companion joined

    # The saved statistics carry the speaker to a later call that hears one file only.
    assert json.loads(stats.read_text())["n_windows"] == len(actor_clips)
    one = run_cli("classify", "--json", "--speaker-stats", stats, actor_clips[0])
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["scores"] == pytest.approx(rows[0]["scores"], abs=1e-5)


def test_listen_enrols_each_utterance_and_adapts_after_enough_of_them(actor_clips, tmp_path):
    audio = np.concatenate([np.pad(load_audio(p, 16000), (8000, 8000)) for p in actor_clips])
    sf.write(tmp_path / "talk.wav", audio, 16000)
    adapted = run_cli("listen", "--input", tmp_path / "talk.wav", "--fast", "--json", "--hop", "1")
    plain = run_cli("listen", "--input", tmp_path / "talk.wav", "--fast", "--json", "--hop", "1", "--no-adapt")
    assert adapted.returncode == plain.returncode == 0, adapted.stderr + plain.stderr
    a = [json.loads(line) for line in adapted.stdout.splitlines()]
    b = [json.loads(line) for line in plain.stdout.splitlines()]
    assert len(a) == len(b) and all(r["speaker_windows"] is None for r in b)
    enrol = load_card(bundled_companion()).speaker_norm["enrol_windows"]
    heard = [r["speaker_windows"] for r in a]
    # One enrolment per utterance (the clips, 1 s apart), not one per window every second.
    assert heard == sorted(heard) and heard[-1] == len(actor_clips) > enrol
    for r, q in zip(a, b):     # identical answers until the speaker is enrolled, different after
        assert r["adapted"] == (r["speaker_windows"] >= enrol)
        if r["scores"]:
            assert (r["scores"] == q["scores"]) == (not r["adapted"]), r
    assert f"speaker: {heard[-1]} utterances heard, adapted" in adapted.stderr
    assert "speaker:" not in plain.stderr


def test_bad_speaker_statistics_and_companions_are_one_line_errors(clip_path, tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    for args in (("--speaker-stats", tmp_path / "broken.json"), ("--same-speaker", "--companion", "float32")):
        proc = run_cli("classify", *args, clip_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")


def test_a_talker_who_never_pauses_is_cut_into_window_sized_utterances():
    from edge_runtime.preprocess import frame_rms
    from edge_runtime.utterances import UtteranceCutter

    sr = 16000
    cutter = UtteranceCutter(sr, frame=512, hop=256, max_seconds=2.0)
    t = np.arange(10 * sr) / sr
    audio = 0.3 * np.sin(2 * np.pi * 180 * t) * (1.2 + np.sin(2 * np.pi * 3 * t))   # 10 s, never below -40 dB
    done = []
    for block in np.split(audio, 20):
        levels = 20 * np.log10(np.maximum(frame_rms(block, 512, 256), 1e-5))
        done += cutter.push(block, levels, threshold_db=-40.0)
    lengths = [len(u) / sr for u, _ in done]
    assert len(done) == 4 and all(abs(n - 2.0) < 0.05 for n in lengths), lengths   # the fifth is still open
    joined = np.concatenate([u for u, _ in done])      # back to back: no sample lost or repeated
    np.testing.assert_array_equal(joined, audio[:len(joined)].astype(np.float32))
