"""A confidence that means what it says: temperature scaling fitted on held-out speakers.

The shipped model's scores are the mean of its members' softmax outputs; on speakers it never heard they are
over- or under-confident. :func:`fit_temperature` finds the ``T`` that makes ``p ** (1 / T)`` (renormalised)
most likely on the held-out clips of the speaker run (same recipe, converted to int8);
:func:`expected_calibration_error` measures the gap between confidence and accuracy in 10 bins. The
after-figures are cross-fitted: ``T`` fitted on half of the held-out speakers, measured on the other half, and
the other way round. ``python -m benchmarks.calibration --write-card edge_runtime/models/model.json`` stores the
``T`` fitted on all of them in the model card (the runtime applies it, :meth:`ModelCard.calibrate`) and writes
the report's section and ``calibration.png``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BINS = 10


def temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of class probabilities raised to ``1 / temperature`` and renormalised."""
    logp = np.log(np.maximum(probs, 1e-12)) / temperature
    e = np.exp(logp - logp.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature (0.25-8, log grid then refined) of the lowest mean negative log-likelihood of ``y``."""
    def nll(t: float) -> float:
        return float(-np.mean(np.log(temper(probs, t)[np.arange(len(y)), y] + 1e-12)))
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))
    best = grid[int(np.argmin([nll(t) for t in grid]))]
    fine = np.linspace(best / 1.06, best * 1.06, 25)
    return float(fine[int(np.argmin([nll(t) for t in fine]))])


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = BINS) -> tuple[float, list]:
    """ECE over ``bins`` equal-width confidence bins, and per bin ``(mean confidence, accuracy, count)``."""
    conf, right = probs.max(axis=1), probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs(conf[m].mean() - right[m].mean())
            table.append((float(conf[m].mean()), float(right[m].mean()), int(m.sum())))
        else:
            table.append((float((lo + hi) / 2), float("nan"), 0))
    return float(ece), table


def held_out_scores(run_dir: Path, models_dir: Path, sources) -> tuple[np.ndarray, np.ndarray, list]:
    """Uncalibrated int8 probabilities, true labels and clips of the speaker run's held-out test part."""
    import dataclasses

    from edge_runtime import EmotionClassifier
    from edge_runtime.audio import load_audio

    from .accuracy import test_clips

    clf = EmotionClassifier(Path(models_dir) / "model_int8.tflite")
    clf.card = dataclasses.replace(clf.card, temperature=1.0)
    clips = test_clips(run_dir, sources)
    sr = clf.config.sample_rate
    probs = np.array([clf.scores(clf.features(load_audio(c.path, sr), sr)) for c in clips])
    return probs, np.array([c.emotion for c in clips]), clips


def evaluate(probs: np.ndarray, y: np.ndarray, clips: list) -> dict:
    """``T`` on all clips; ECE per corpus before and after, the after-figures cross-fitted over two halves of the
    speakers; the reliability tables of all clips."""
    speakers = sorted({c.speaker for c in clips})
    half = np.array([speakers.index(c.speaker) % 2 for c in clips])
    after = np.zeros_like(probs)
    for k in (0, 1):
        t = fit_temperature(probs[half != k], y[half != k])
        after[half == k] = temper(probs[half == k], t)
    temperature = fit_temperature(probs, y)
    corpora = np.array([c.corpus for c in clips])
    rows = {}
    for corpus in [*sorted(set(corpora)), "all"]:
        m = np.ones(len(y), bool) if corpus == "all" else corpora == corpus
        rows[corpus] = {"n": int(m.sum()), "accuracy": float(np.mean(probs[m].argmax(1) == y[m])),
                        "mean_confidence_before": float(probs[m].max(1).mean()),
                        "mean_confidence_after": float(after[m].max(1).mean()),
                        "ece_before": expected_calibration_error(probs[m], y[m])[0],
                        "ece_after": expected_calibration_error(after[m], y[m])[0]}
    return {"temperature": round(temperature, 3), "rows": rows,
            "reliability_before": expected_calibration_error(probs, y)[1],
            "reliability_after": expected_calibration_error(after, y)[1]}


def plot(result: dict, path: Path) -> None:
    """Reliability diagram: accuracy against confidence per bin, before and after, with the diagonal."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect")
    every = result["rows"]["all"]
    for key, name, ece in (("reliability_before", "as trained", every["ece_before"]),
                           ("reliability_after", f"T = {result['temperature']:.2f}", every["ece_after"])):
        pts = [(c, a) for c, a, n in result[key] if n >= 5]
        ax.plot(*zip(*pts), marker="o", label=f"{name} (ECE {ece:.3f})")
    ax.set(xlabel="confidence (mean per bin)", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
           title="Held-out speakers, int8")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report_lines(result: dict) -> list[str]:
    """The benchmark report's calibration section."""
    lines = ["## Calibration (benchmarks/calibration.py)", "",
             f"Temperature {result['temperature']:.2f} fitted on the held-out speakers of the speaker run (int8), "
             "stored in the model card and applied by the runtime (`p ** (1 / T)`, renormalised; labels unchanged). "
             "ECE: expected calibration error over 10 confidence bins; the after-figures are cross-fitted (T from "
             "one half of the speakers, measured on the other).", "",
             "| corpus | clips | accuracy | mean confidence before | after | ECE before | ECE after |",
             "|---|---|---|---|---|---|---|"]
    for corpus, r in result["rows"].items():
        lines.append(f"| {corpus} | {r['n']} | {r['accuracy']:.3f} | {r['mean_confidence_before']:.3f} | "
                     f"{r['mean_confidence_after']:.3f} | {r['ece_before']:.3f} | {r['ece_after']:.3f} |")
    return lines + ["", "![reliability](calibration.png)", ""]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.calibration", description=__doc__)
    p.add_argument("--write-card", type=Path, default=None, metavar="MODEL_JSON",
                   help="store the fitted temperature in this model card (its 'calibration' block)")
    args = p.parse_args(argv)
    from train.corpora import default_sources

    from .accuracy import converted_models
    from .report import update_results

    run = ROOT / "runs" / "speaker"
    card = json.loads(args.write_card.read_text()) if args.write_card else None
    if card is not None:    # an ensemble's confidences differ from one model's: fit on a run of the card's size
        members = json.loads((run / "run_config.json").read_text())["train"]["members"]
        card_members = card.get("members", 1)
        if members != card_members:
            print(f"error: {run} has {members} member(s) and {args.write_card} {card_members}: a temperature "
                  "fitted on one does not hold for the other (train the speaker run with the card's members)",
                  file=sys.stderr)
            return 2
    sources = default_sources()
    models = converted_models(run, ROOT / "cache" / "benchmarks" / "speaker-models", sources)
    result = evaluate(*held_out_scores(run, models, sources))
    print("\n".join(report_lines(result)))
    update_results(ROOT / "benchmarks" / "results", {"calibration": result})
    if card is not None:
        card["calibration"] = {"temperature": result["temperature"], "method": "temperature scaling, p ** (1 / T)",
                               "fitted_on": f"{result['rows']['all']['n']} held-out clips of runs/speaker (int8)",
                               "ece_before": round(result["rows"]["all"]["ece_before"], 4),
                               "ece_after_cross_fitted": round(result["rows"]["all"]["ece_after"], 4)}
        args.write_card.write_text(json.dumps(card, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
