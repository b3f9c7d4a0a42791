"""``train.speaker_norm`` (the companion recipe): every speaker's MFCC columns standardised over their own windows.

The statistics are those of :func:`edge_runtime.speaker_norm.column_stats`, taken per group of rows that share
a speaker, a corpus and a waveform variant (a pitch-shifted copy of a speaker is another voice, and RAVDESS
actors speak and sing: two recording conditions). Training, validation and test parts are treated alike; a
test speaker's statistics come from that speaker's own test clips, without their labels, as a device would
gather them from what its user says. The population's statistics (the mean over training groups of their
means and standard deviations) are kept in the run folder as ``speaker_norm.json``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from edge_runtime.speaker_norm import column_stats, normalise_speaker

from .dataset import FeatureSet, Job
from .report import write_json

FILENAME = "speaker_norm.json"


def group_keys(jobs: Sequence[Job]) -> np.ndarray:
    """One ``speaker|corpus|variant`` key per row.

    >>> from pathlib import Path
    >>> from train.clips import Clip
    >>> clip = Clip(Path("03-01-05-01-01-01-12.wav"), 4, "ravdess", "ravdess/12")
    >>> group_keys([Job(clip), Job(clip, "pitch")]).tolist()
    ['ravdess/12|ravdess|clean', 'ravdess/12|ravdess|pitch']
    """
    return np.array([f"{j.clip.speaker}|{j.clip.corpus}|{j.variant}" for j in jobs], dtype=object)


def normalise_groups(x: np.ndarray, keys: np.ndarray, columns: int) -> tuple[np.ndarray, list]:
    """``x`` with each group's first ``columns`` columns standardised by the group's own statistics, and the
    list of those ``(mean, std)`` pairs."""
    out = np.empty_like(x, dtype=np.float32)
    stats = []
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        mean, std = column_stats(x[rows], columns)
        out[rows] = normalise_speaker(x[rows], mean, std)
        stats.append((mean, std))
    return out, stats


def normalise_feature_set(feats: FeatureSet, columns: int) -> np.ndarray:
    """The rows of ``feats`` standardised per ``speaker|corpus|variant`` group, as in training."""
    return normalise_groups(feats.x, group_keys(feats.jobs), columns)[0] if len(feats.jobs) else feats.x


def read_run_stats(run_dir: Path) -> Optional[dict]:
    """The ``speaker_norm.json`` of a run trained with ``train.speaker_norm``, or ``None`` for any other run."""
    path = Path(run_dir) / FILENAME
    return json.loads(path.read_text()) if path.is_file() else None


def normalise_parts(parts: dict, columns: int, out_dir: Path) -> None:
    """Normalise ``parts[name]["x"]`` in place (groups from ``parts[name]["jobs"]``, see
    :func:`train.trainer.part_arrays`); write the training population's statistics to ``out_dir / FILENAME``."""
    for name, part in parts.items():
        if len(part["jobs"]):
            part["x"], stats = normalise_groups(part["x"], group_keys(part["jobs"]), columns)
            if name == "train":
                write_json(out_dir / FILENAME, {
                    "columns": columns, "groups": "speaker|corpus|variant", "training_groups": len(stats),
                    "population_mean": np.mean([m for m, _ in stats], axis=0).round(5).tolist(),
                    "population_std": np.mean([s for _, s in stats], axis=0).round(5).tolist()})
