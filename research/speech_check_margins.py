"""How many clean clips of each shared corpus the speech check refuses, and by which of its four numbers.

    python research/speech_check_margins.py                      # the shipped thresholds
    python research/speech_check_margins.py 0.25 20 1.5 12       # other thresholds: active, change, modulation, peak

Reads every clip through the feature cache (train.dataset), so a second run takes seconds. ``train`` never
imports this folder; docs/experiments.md quotes its output.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge_runtime.config import FeatureConfig  # noqa: E402
from edge_runtime.speech import SpeechCheck, speech_evidence  # noqa: E402
from train.corpora import default_sources, scan_sources  # noqa: E402
from train.dataset import Job, extract_features  # noqa: E402

FIELDS = ("active_seconds", "change", "modulation_db", "peak_db")


def main(argv: list[str]) -> None:
    check = SpeechCheck()
    limits = np.array([float(a) for a in argv] if argv else [check.min_active_seconds, check.min_change,
                                                             check.min_modulation_db, check.min_peak_db])
    config = FeatureConfig(prosody=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clips = scan_sources(default_sources())
    feats = extract_features([Job(c) for c in clips], config)
    evidence = np.array([[getattr(speech_evidence(x, config), f) for f in FIELDS] for x in feats.x])
    print(f"thresholds {dict(zip(FIELDS, limits.tolist()))}")
    print(f"{'corpus':<13} {'clips':>6} {'refused':>8}  by " + ", ".join(FIELDS) + "   0.5th percentiles")
    for corpus in sorted(set(feats.corpus)):
        e = evidence[feats.corpus == corpus]
        below = e < limits
        print(f"{corpus:<13} {len(e):>6} {int(below.any(axis=1).sum()):>8}  {below.sum(axis=0).tolist()}   "
              f"{np.percentile(e, 0.5, axis=0).round(2).tolist()}")


if __name__ == "__main__":
    main(sys.argv[1:])
