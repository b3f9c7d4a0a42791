"""Emotion per utterance measured on real speech: recordings built from clips of known emotion.

:func:`build_recording` lays clips end to end with pauses between them (in blocks of one emotion, or
alternating) and knows where each clip's speech is; :func:`score` compares segments with that truth:
time-weighted agreement over the speech, speech segments per true utterance, and how far each utterance's
segment boundaries are from its speech. :func:`measure` runs both segmenters (utterances, sliding windows)
and classifies the same clips one file each for the reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

PAUSE_SECONDS = 1.0
BOUNDARY_SECONDS = 0.3


@dataclass(frozen=True)
class Truth:
    """Where one clip's speech lies in a built recording, and its emotion."""

    start: float
    end: float
    label: str


def speech_bounds(audio: np.ndarray, sr: int) -> tuple[int, int]:
    """First and last sample of a clip's speech: the frames the model's pipeline keeps when it trims silence
    (within ``trim_top_db`` of the clip's loudest; :func:`edge_runtime.preprocess.trim_bounds`)."""
    from edge_runtime.config import FeatureConfig
    from edge_runtime.preprocess import remove_dc, trim_bounds

    return trim_bounds(remove_dc(audio), FeatureConfig(sample_rate=sr))


def build_recording(clips: Sequence[tuple[np.ndarray, str]], sr: int,
                    pause: float = PAUSE_SECONDS) -> tuple[np.ndarray, list[Truth]]:
    """``(audio, label)`` clips at ``sr`` with ``pause`` seconds of silence before, between and after them."""
    gap = np.zeros(int(pause * sr), np.float32)
    pieces, truths, at = [gap], [], len(gap)
    for audio, label in clips:
        a, b = speech_bounds(audio, sr)
        truths.append(Truth((at + a) / sr, (at + b) / sr, label))
        pieces += [audio.astype(np.float32), gap]
        at += len(audio) + len(gap)
    return np.concatenate(pieces), truths


def score(segments, truths: Sequence[Truth]) -> dict:
    """Agreement with the truth, weighted by speech time; speech segments per true utterance; the share of
    utterances whose segment starts and ends within :data:`BOUNDARY_SECONDS` of the speech."""
    right = total = 0.0
    counts, good = [], 0
    speech = [s for s in segments if s.is_speech]
    for t in truths:
        total += t.end - t.start
        over = [s for s in speech if min(s.end, t.end) > max(s.start, t.start)]
        right += sum(min(s.end, t.end) - max(s.start, t.start) for s in over if s.label == t.label)
        counts.append(len(over))
        if over and abs(over[0].start - t.start) <= BOUNDARY_SECONDS and abs(over[-1].end - t.end) <= BOUNDARY_SECONDS:
            good += 1
    return {"agreement": right / total if total else 0.0, "segments_per_utterance": float(np.mean(counts)),
            "boundaries_within": good / len(truths), "utterances": len(truths)}


def orders(labels: Sequence[str]) -> dict:
    """Two orders of the same clips: in blocks of one emotion, and alternating emotions."""
    by_label: dict = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    blocks = [i for group in by_label.values() for i in group]
    alternating, queues = [], [list(g) for g in by_label.values()]
    while any(queues):
        for q in queues:
            if q:
                alternating.append(q.pop(0))
    return {"blocks": blocks, "alternating": alternating}


def measure(classifier, paths: Sequence[Path], labels: Sequence[str]) -> dict:
    """Per order and segmenter, :func:`score` of a recording of ``paths``, beside the same clips' accuracy one file
    each (``labels``: their true emotions)."""
    from edge_runtime.audio import load_audio
    from edge_runtime.segments import DEFAULT_HOP, segment_audio

    sr = classifier.config.sample_rate
    audio = [load_audio(p, sr) for p in paths]
    per_file = float(np.mean([classifier.predict(a, sr).label == y for a, y in zip(audio, labels)]))
    out = {"clips": len(paths), "per_file_accuracy": per_file}
    for name, order in orders(labels).items():
        recording, truths = build_recording([(audio[i], labels[i]) for i in order], sr)
        out[name] = {"seconds": round(len(recording) / sr, 1)}
        for mode, hop in (("utterances", None), ("windows", DEFAULT_HOP)):
            segments, _ = segment_audio(classifier, recording, sr, hop_seconds=hop)
            out[name][mode] = score(segments, truths)
    return out


def held_out(run_dir: Path, models_dir: Path, sources, per_corpus: int = 72) -> dict:
    """:func:`measure` with the int8 model of ``models_dir`` (converted from ``run_dir``) on up to ``per_corpus``
    test clips of each corpus of the run (speakers it never heard), one recording per corpus and order."""
    from edge_runtime import EmotionClassifier
    from edge_runtime.config import EMOTIONS

    from .accuracy import test_clips

    clf = EmotionClassifier(Path(models_dir) / "model_int8.tflite")
    clips = test_clips(run_dir, sources)
    out = {}
    for corpus in sorted({c.corpus for c in clips}):
        mine = [c for c in clips if c.corpus == corpus]
        chosen = mine[:: max(1, len(mine) // per_corpus)][:per_corpus]
        out[corpus] = measure(clf, [c.path for c in chosen], [EMOTIONS[c.emotion] for c in chosen])
    return out


def report_lines(results: dict) -> list[str]:
    """The benchmark report's section on emotion per utterance."""
    lines = ["## Emotion per utterance (`classify --segments`; benchmarks/utterances.py)", "",
             "Recordings built from held-out speakers' clips with 1 s pauses, in blocks of one emotion and "
             "alternating; *agreement*: share of the speech time labelled with its clip's emotion; *per file*: "
             "the same clips classified one file each; *boundaries*: utterances whose segment starts and ends "
             f"within {BOUNDARY_SECONDS} s of the clip's speech (targets: agreement within 3 points of per file, "
             "<= 1.3 segments per utterance, >= 90 % of boundaries).", "",
             "| corpus | clips | per file | order | utterances: agreement | segments / utterance | boundaries "
             "| windows: agreement | segments / utterance | boundaries |", "|---|---|---|---|---|---|---|---|---|---|"]
    for corpus, r in results.items():
        for order in ("blocks", "alternating"):
            u, w = r[order]["utterances"], r[order]["windows"]
            lines.append(f"| {corpus} | {r['clips']} | {r['per_file_accuracy']:.3f} | {order} | {u['agreement']:.3f} | "
                         f"{u['segments_per_utterance']:.2f} | {u['boundaries_within']:.0%} | {w['agreement']:.3f} | "
                         f"{w['segments_per_utterance']:.2f} | {w['boundaries_within']:.0%} |")
    return lines + [""]
