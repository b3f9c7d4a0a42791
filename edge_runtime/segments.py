"""Emotion over time in a long recording: the streaming path, turned into labelled segments.

A call, an interview or a voice diary runs for minutes; :func:`segment_file`
replays it block by block through :class:`~edge_runtime.stream.StreamClassifier`
(bounded memory, any length), labels the ``hop``-long slice at the centre of
every window with that window's answer (``silence`` and ``no speech``
included), and merges runs of equal labels into :class:`Segment` objects.

Examples
--------
>>> from edge_runtime import EmotionClassifier
>>> segs, summary = segment_file(EmotionClassifier(), "samples/03-01-05-01-02-01-11.flac")
>>> segs[0].start, round(summary.seconds, 2), all(a.end == b.start for a, b in zip(segs, segs[1:]))
(0.0, 3.47, True)
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

import numpy as np

from .classifier import EmotionClassifier
from .outputs import write_atomically
from .sources import FileSource
from .stream import NO_SPEECH, SILENCE, StreamClassifier, StreamConfig, WindowResult

#: Segments hop by default every this many seconds (as ``listen``), without smoothing: a change shows at once.
DEFAULT_HOP = 0.5


@dataclass(frozen=True)
class Segment:
    """A stretch of the recording with one label; ``scores`` are the mean of its windows' (empty for silence)."""

    start: float
    end: float
    label: str
    confidence: float
    scores: dict = field(repr=False)

    @property
    def is_speech(self) -> bool:
        return self.label not in (SILENCE, NO_SPEECH)

    def to_dict(self) -> dict:
        """Plain-JSON form (times in seconds, rounded to ms)."""
        return {"start": round(self.start, 3), "end": round(self.end, 3), "label": self.label,
                "confidence": round(self.confidence, 4), "scores": {k: round(v, 4) for k, v in self.scores.items()}}


@dataclass
class Summary:
    """The recording's length and the seconds each label holds."""

    seconds: float = 0.0
    per_label: Counter = field(default_factory=Counter)

    def shares(self) -> dict:
        """Share of the recording's time per label, largest first."""
        total = sum(self.per_label.values()) or 1.0
        return {k: v / total for k, v in self.per_label.most_common()}

    def line(self) -> str:
        """``12.0 s: angry 45 %, silence 30 %, ...``"""
        return f"{self.seconds:.1f} s: " + ", ".join(f"{k} {v:.0%}" for k, v in self.shares().items())


def merge_windows(windows: Iterable[WindowResult], window_seconds: float, hop_seconds: float,
                  end_seconds: Optional[float] = None) -> Iterator[Segment]:
    """Merge the windows of a stream into segments of equal label.

    A window ending at ``t`` speaks for the ``hop_seconds`` around its centre,
    ``t - window_seconds / 2`` (clipped to ``[0, end_seconds]``).
    """
    current: Optional[list] = None   # [start, end, label, [score vectors]]
    labels: Optional[list] = None
    for w in windows:
        centre = w.time - window_seconds / 2
        start, end = max(0.0, centre - hop_seconds / 2), centre + hop_seconds / 2
        if end_seconds is not None:
            end = min(end, end_seconds)
        if end <= start:
            continue
        if w.scores and labels is None:
            labels = list(w.scores)
        vector = [w.scores[k] for k in labels] if w.scores else None
        if current and current[2] == w.label:
            current[1] = end
            if vector:
                current[3].append(vector)
            continue
        if current:
            yield _segment(current, labels)
        current = [start, end, w.label, [vector] if vector else []]
    if current:
        yield _segment(current, labels)


def _segment(current: list, labels: Optional[list]) -> Segment:
    start, end, label, vectors = current
    if not vectors or not labels:
        return Segment(start, end, label, 0.0, {})
    mean = np.mean(vectors, axis=0)
    scores = dict(zip(labels, map(float, mean)))
    return Segment(start, end, label, scores.get(label, float(mean.max())), scores)


def segment_file(classifier: EmotionClassifier, path: Union[str, Path], hop_seconds: float = DEFAULT_HOP,
                 progress: Optional[Callable[[float, float], None]] = None) -> tuple[list[Segment], Summary]:
    """Segments of the whole file and a :class:`Summary`; ``progress(done_seconds, total_seconds)`` is called as
    the replay advances. Memory is bounded: the file is decoded block by block."""
    segments = list(iter_segments(classifier, path, hop_seconds, progress))
    return segments, summarise(segments)


def summarise(segments: Iterable[Segment]) -> Summary:
    """The :class:`Summary` of consecutive segments."""
    summary = Summary()
    for s in segments:
        summary.per_label[s.label] += s.end - s.start
        summary.seconds = s.end
    return summary


def iter_segments(classifier: EmotionClassifier, path: Union[str, Path], hop_seconds: float = DEFAULT_HOP,
                  progress: Optional[Callable[[float, float], None]] = None) -> Iterator[Segment]:
    """:func:`segment_file` one segment at a time, as soon as each is complete."""
    source = FileSource(path, realtime=False, tail_seconds=classifier.config.window_seconds)
    yield from segments_of_chunks(classifier, source, source.samplerate, source.frames / source.samplerate,
                                  hop_seconds, progress)


def segment_audio(classifier: EmotionClassifier, audio: np.ndarray, sr: int,
                  hop_seconds: float = DEFAULT_HOP) -> tuple[list[Segment], Summary]:
    """:func:`segment_file` for audio already in memory (an upload), through the same streaming path."""
    audio = np.asarray(audio, dtype=np.float32)
    block = max(1, int(0.1 * sr))
    tail = np.zeros(int(np.ceil(classifier.config.window_seconds * sr)), np.float32)
    chunks = (c for c in [*(audio[i:i + block] for i in range(0, len(audio), block)), tail])
    segments = list(segments_of_chunks(classifier, chunks, sr, len(audio) / sr, hop_seconds))
    return segments, summarise(segments)


def segments_of_chunks(classifier: EmotionClassifier, chunks: Iterable[np.ndarray], sr: int, total_seconds: float,
                       hop_seconds: float = DEFAULT_HOP,
                       progress: Optional[Callable[[float, float], None]] = None) -> Iterator[Segment]:
    """Segments of a recording arriving as mono ``chunks`` at ``sr`` (followed by one window of silence)."""
    config = StreamConfig(hop_seconds=hop_seconds, smoothing=1)
    stream = StreamClassifier(classifier, sr, config)

    def windows() -> Iterator[WindowResult]:
        for chunk in chunks:
            for w in stream.push(chunk):
                if progress:
                    progress(min(w.time, total_seconds), total_seconds)
                yield w

    yield from merge_windows(windows(), classifier.config.window_seconds, hop_seconds, end_seconds=total_seconds)


def write_csv(rows: Iterable[tuple[str, Segment]], path: Union[str, Path], labels: Iterable[str]) -> Path:
    """One row per ``(file, segment)``: file, start, end, label, confidence and every emotion's mean score; written
    atomically (:func:`edge_runtime.outputs.write_atomically`)."""
    labels = list(labels)
    path = Path(path)
    text = io.StringIO()
    out = csv.writer(text)
    out.writerow(["file", "start_s", "end_s", "label", "confidence", *labels])
    for name, s in rows:
        out.writerow([name, f"{s.start:.3f}", f"{s.end:.3f}", s.label, f"{s.confidence:.4f}",
                      *(f"{s.scores.get(k, 0.0):.4f}" for k in labels)])
    write_atomically(path, text.getvalue())
    return path
