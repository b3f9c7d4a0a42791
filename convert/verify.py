"""Run converted files on held-out features and compare them with Keras."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_runtime.interpreter import load_interpreter, run_model


def tflite_scores(path: Path, x: np.ndarray, backend: str | None = None) -> np.ndarray:
    """Scores ``(n, classes)`` of a .tflite file on features ``x`` ``(n, frames, n_mfcc)``, batch 1."""
    interpreter = load_interpreter(path, backend=backend)
    return np.stack([run_model(interpreter, xi[None]) for xi in x])


def compare(reference: np.ndarray, scores: np.ndarray, y_true: np.ndarray) -> dict:
    """Top-1 agreement with ``reference``, largest score difference, and accuracy."""
    return {
        "agreement": float(np.mean(reference.argmax(1) == scores.argmax(1))),
        "max_abs_diff": float(np.max(np.abs(reference - scores))),
        "accuracy": float(np.mean(scores.argmax(1) == y_true)),
    }


def table(rows: dict[str, dict], reference_accuracy: float) -> str:
    """A plain-text table of :func:`compare` results, one row per model."""
    lines = [f"{'model':<22}{'accuracy':>10}{'drop (pp)':>11}{'top-1 agree':>13}{'max |dp|':>10}{'size KB':>9}",
             f"{'keras float32':<22}{reference_accuracy:>10.4f}{0.0:>11.2f}{1.0:>13.4f}{0.0:>10.4f}{'':>9}"]
    for name, r in rows.items():
        lines.append(f"{name:<22}{r['accuracy']:>10.4f}{100 * (reference_accuracy - r['accuracy']):>11.2f}"
                     f"{r['agreement']:>13.4f}{r['max_abs_diff']:>10.4f}{r.get('bytes', 0) / 1024:>9.1f}")
    return "\n".join(lines)
