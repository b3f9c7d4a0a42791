"""Accuracy of Keras float, TFLite float32 and TFLite int8 on a run's held-out test split, overall and per
corpus; the leave-one-corpus-out figures."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np


def test_files(run_dir: Path, limit: Optional[int] = None) -> list[str]:
    """``run_dir``'s test-split clip references (see ``train.trainer.clip_ref``); every k-th one when ``limit``."""
    files = json.loads((run_dir / "split.json").read_text())["files"]["test"]
    return files[:: max(1, len(files) // limit)][:limit] if limit else files


def test_clips(run_dir: Path, sources, limit: Optional[int] = None) -> list:
    """The :class:`train.clips.Clip` of each of ``run_dir``'s test files, found under ``sources``."""
    from train.corpora import resolve_ref

    return [resolve_ref(f, sources) for f in test_files(run_dir, limit)]


def evaluate(run_dir: Path, models_dir: Path, sources, limit: Optional[int] = None, cache_root=None,
             files_from: Optional[Path] = None) -> dict:
    """Accuracy, drop vs Keras (percentage points), agreement, per-class F1 and confusion of each model, overall
    and per corpus, on the test clips of ``files_from`` (default ``run_dir``)."""
    from sklearn.metrics import confusion_matrix, f1_score

    from edge_runtime import EmotionClassifier, FeatureConfig
    from train.dataset import ref_features
    from train.model import load_model
    from train.report import corpus_reports

    config = FeatureConfig.load(run_dir / "feature_config.json")
    feats = ref_features(test_files(files_from or run_dir, limit), sources, config, cache_root)
    x, y, corpus = feats.x, feats.y, feats.corpus
    keras_pred = load_model(run_dir / "model.keras").predict(x, batch_size=64, verbose=0).argmax(1)
    predictions = {"keras float32": keras_pred}
    for variant in ("float32", "int8"):
        clf = EmotionClassifier(models_dir / f"model_{variant}.tflite")
        predictions[f"tflite {variant}"] = np.array([int(np.argmax(clf.scores(xi))) for xi in x])
    labels = EmotionClassifier(models_dir / "model_int8.tflite").labels
    base = float(np.mean(keras_pred == y))
    rows, per_corpus = {}, {}
    for name, pred in predictions.items():
        acc = float(np.mean(pred == y))
        rows[name] = {"accuracy": acc, "drop_pp": 100 * (base - acc), "agreement": float(np.mean(pred == keras_pred)),
                      "per_class_f1": dict(zip(labels, map(float, f1_score(y, pred, labels=range(len(labels)),
                                                                            average=None, zero_division=0)))),
                      "confusion": confusion_matrix(y, pred, labels=range(len(labels))).tolist()}
        for c, r in corpus_reports(y, pred, corpus, labels).items():
            per_corpus.setdefault(c, {"n": r["n"], "chance": r["chance"]})[name] = {
                "accuracy": r["accuracy"], "uar": r["uar"], "recall": r["recall"]}
    return {"run": str(run_dir), "models": str(models_dir), "n_test": int(len(y)), "labels": list(labels),
            "rows": rows, "per_corpus": per_corpus}


def corpus_protocol(run_dirs) -> dict:
    """Leave-one-corpus-out figures of the ``corpus`` runs (Keras float, from each run's ``report.json``)."""
    out = {}
    for run_dir in run_dirs:
        run_config = json.loads((run_dir / "run_config.json").read_text())
        report = json.loads((run_dir / "report.json").read_text())["per_corpus"]
        split = json.loads((run_dir / "split.json").read_text())
        left_out = run_config["train"]["test_corpus"]
        out[left_out] = {"run": str(run_dir), "trained_on": sorted(split["train"]["per_corpus"]),
                         "test": {c: {k: r[k] for k in ("n", "accuracy", "uar", "chance", "majority", "recall",
                                                        "confusion")} for c, r in report.items() if c != "all"}}
    return out


def converted_models(run_dir: Path, out_dir: Path, sources, cache_root=None) -> Path:
    """``out_dir`` holding the run's float32/int8 files, converted (and verified) if missing or made
    from another ``model.keras`` (its SHA-256 is kept in ``out_dir/source.sha256``)."""
    import hashlib

    source = hashlib.sha256((run_dir / "model.keras").read_bytes()).hexdigest()
    stamp = out_dir / "source.sha256"
    if not (out_dir / "model_int8.tflite").is_file() or not stamp.is_file() or stamp.read_text() != source:
        from convert.converter import convert_run

        convert_run(run_dir, out_dir, data=sources, cache_root=cache_root, log=lambda *a: None)
        stamp.write_text(source)
    return out_dir
