"""Accuracy of Keras float, TFLite float32 and TFLite int8 on a run's held-out test split."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np


def test_files(run_dir: Path, limit: Optional[int] = None) -> list[str]:
    """``run_dir``'s test-split file names (relative to the data root); every k-th one when ``limit`` is set."""
    files = json.loads((run_dir / "split.json").read_text())["files"]["test"]
    return files[:: max(1, len(files) // limit)][:limit] if limit else files


def test_features(run_dir: Path, data_root: Path, limit: Optional[int] = None, cache_root=None):
    """Raw MFCC windows ``x``, labels ``y`` and file names of ``run_dir``'s test split (feature cache)."""
    from edge_runtime import FeatureConfig
    from train.dataset import Job, extract_features
    from train.ravdess import parse_name

    files = test_files(run_dir, limit)
    config = FeatureConfig.load(run_dir / "feature_config.json")
    feats = extract_features([Job(parse_name(data_root / f)) for f in files], config, cache_root=cache_root,
                             progress=False)
    return feats.x, feats.y, files


def evaluate(run_dir: Path, models_dir: Path, data_root: Path, limit: Optional[int] = None, cache_root=None) -> dict:
    """Accuracy, drop vs Keras (percentage points), agreement, per-class F1 and confusion of each model."""
    from sklearn.metrics import confusion_matrix, f1_score

    from edge_runtime import EmotionClassifier
    from train.model import load_model

    x, y, files = test_features(run_dir, data_root, limit, cache_root)
    keras_pred = load_model(run_dir / "model.keras").predict(x, batch_size=64, verbose=0).argmax(1)
    predictions = {"keras float32": keras_pred}
    for variant in ("float32", "int8"):
        clf = EmotionClassifier(models_dir / f"model_{variant}.tflite")
        predictions[f"tflite {variant}"] = np.array([int(np.argmax(clf.scores(xi))) for xi in x])
    labels = EmotionClassifier(models_dir / "model_int8.tflite").labels
    base = float(np.mean(keras_pred == y))
    rows = {}
    for name, pred in predictions.items():
        acc = float(np.mean(pred == y))
        rows[name] = {"accuracy": acc, "drop_pp": 100 * (base - acc), "agreement": float(np.mean(pred == keras_pred)),
                      "per_class_f1": dict(zip(labels, map(float, f1_score(y, pred, labels=range(len(labels)),
                                                                            average=None, zero_division=0)))),
                      "confusion": confusion_matrix(y, pred, labels=range(len(labels))).tolist()}
    return {"run": str(run_dir), "models": str(models_dir), "n_test": int(len(y)), "labels": list(labels),
            "rows": rows}


def converted_models(run_dir: Path, out_dir: Path, data_root: Path, cache_root=None) -> Path:
    """``out_dir`` holding the run's float32/int8 files, converted (and verified) if missing or made
    from another ``model.keras`` (its SHA-256 is kept in ``out_dir/source.sha256``)."""
    import hashlib

    source = hashlib.sha256((run_dir / "model.keras").read_bytes()).hexdigest()
    stamp = out_dir / "source.sha256"
    if not (out_dir / "model_int8.tflite").is_file() or not stamp.is_file() or stamp.read_text() != source:
        from convert.converter import convert_run

        convert_run(run_dir, out_dir, data_root=data_root, cache_root=cache_root, log=lambda *a: None)
        stamp.write_text(source)
    return out_dir
