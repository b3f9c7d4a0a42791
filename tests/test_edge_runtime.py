"""The device package: no heavy imports, the classifier API, and ``python -m edge_runtime classify``."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import edge_runtime
from edge_runtime import EmotionClassifier, ModelError
from edge_runtime.model_card import BUNDLED_DIR

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args, timeout=300):
    """Run ``python -m edge_runtime ARGS`` in a fresh interpreter; return the CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "edge_runtime", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_import_and_classify_load_no_training_stack(clip_path):
    code = f"""
import sys, edge_runtime
from edge_runtime.cli import main
clf = edge_runtime.EmotionClassifier()
clf.predict_file({str(clip_path)!r})
heavy = sorted(m for m in ("tensorflow", "librosa", "numba", "keras") if m in sys.modules)
print(",".join(heavy) or "none")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "none"


def test_predict_returns_label_confidence_and_all_scores(clip_path):
    clf = EmotionClassifier()
    audio, sr = sf.read(clip_path, dtype="float32")
    pred = clf.predict(audio, sr)
    assert set(pred.scores) == set(edge_runtime.EMOTIONS)
    assert pred.label == max(pred.scores, key=pred.scores.get)
    assert pred.confidence == pred.scores[pred.label]
    assert abs(sum(pred.scores.values()) - 1.0) < 0.02
    # Stereo at 48 kHz is the same recording: mixed down and resampled, the answer holds.
    hi = edge_runtime.resample(audio, sr, 48000)
    assert clf.predict(np.stack([hi, hi], axis=1), 48000).label == pred.label


def test_bundled_models_get_most_clips_right(data_root):
    """A sanity check of the shipped files on every corpus (chance is 0.125-0.17). The shipped model trained on
    every shared speaker, so this is not its accuracy on new voices: that is the speaker run's, in README."""
    import warnings

    from train.corpora import default_sources, resolve_ref

    refs = json.loads((ROOT / "runs" / "speaker" / "split.json").read_text())["files"]["test"][::10]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clips = [resolve_ref(r, default_sources()) for r in refs]
    for variant in ("int8", "float32"):
        clf = EmotionClassifier(variant)
        acc = np.mean([clf.predict_file(c.path).label == c.label for c in clips])
        assert acc > 0.6, f"{variant}: {acc:.2f}"


def test_mfcc_public_api_shape(clip_path):
    audio, sr = sf.read(clip_path, dtype="float32")
    m = edge_runtime.mfcc(audio, sr)
    assert m.shape == (1 + len(audio) // 256, 40) and m.dtype == np.float32
    with pytest.raises(ValueError, match="44100 Hz"):
        edge_runtime.mfcc(audio, 44100)


def test_classify_cli_json_matches_the_library(data_root):
    folder = data_root / "Actor_07"
    out = run_cli("classify", "--json", folder)
    assert out.returncode == 0, out.stderr
    rows = json_lines(out.stdout)
    files = sorted(folder.glob("*.flac"))
    assert [r["path"] for r in rows] == [str(f) for f in files]
    clf = EmotionClassifier()
    for row, path in list(zip(rows, files))[::10]:
        assert set(row) >= {"path", "label", "confidence", "scores", "ms"}
        assert row["label"] == clf.predict_file(path).label
        assert set(row["scores"]) == set(edge_runtime.EMOTIONS) and row["ms"] > 0


def test_classify_cli_table_and_float_model(clip_path):
    out = run_cli("classify", "--model", "float32", clip_path)
    assert out.returncode == 0, out.stderr
    header, row = out.stdout.splitlines()[:2]
    assert header.split()[:3] == ["file", "emotion", "conf"]
    assert row.split()[1] == EmotionClassifier("float32").predict_file(clip_path).label


def test_missing_or_incompatible_model_is_one_clear_line(tmp_path, clip_path):
    out = run_cli("classify", "--model", tmp_path / "nope.tflite", clip_path)
    assert out.returncode == 2 and "model file not found" in out.stderr
    assert "Traceback" not in out.stderr

    lonely = tmp_path / "lonely" / "model_int8.tflite"
    lonely.parent.mkdir()
    shutil.copy(BUNDLED_DIR / "model_int8.tflite", lonely)
    with pytest.raises(ModelError, match="no model.json"):
        EmotionClassifier(lonely)

    meta = json.loads((BUNDLED_DIR / "model.json").read_text())
    meta["feature_config"]["version"] = 99
    (lonely.parent / "model.json").write_text(json.dumps(meta))
    out = run_cli("classify", "--model", lonely, clip_path)
    assert out.returncode == 2 and "feature pipeline version 99" in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 2  # the interpreter's INFO line, then ours

    meta["feature_config"]["version"] = 1          # an old pipeline (no DC removal) is refused, not guessed at
    (lonely.parent / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="feature pipeline version 1, this runtime implements version 2"):
        EmotionClassifier(lonely)
    meta["feature_config"]["version"] = 2
    meta["feature_config"]["preemphasis"] = 0.97
    (lonely.parent / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="preemphasis"):
        EmotionClassifier(lonely)
    meta["format"] = 1
    (lonely.parent / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="model card format 1 is not the one this runtime reads"):
        EmotionClassifier(lonely)


@pytest.mark.parametrize("model", ["int8", "float32"])
def test_bundled_models_name_the_sample_clips(model):
    """Golden labels, no corpus needed: the two demo clips' emotions are in their RAVDESS names (EE field)."""
    clf = edge_runtime.EmotionClassifier(model)
    for clip in sorted((Path(__file__).resolve().parents[1] / "samples").glob("*.flac")):
        truth = edge_runtime.EMOTIONS[int(clip.name.split("-")[2]) - 1]
        assert clf.predict_file(clip).label == truth, clip.name
