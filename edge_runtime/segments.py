"""Emotion over time in a long recording, utterance by utterance (or window by window).

A call, an interview or a voice diary runs for minutes and people read emotion sentence by sentence.
:func:`iter_utterances` streams the file block by block (bounded memory, any length), cuts it at its pauses
with the level gate of ``listen`` (:class:`~edge_runtime.utterances.UtteranceCutter`) and classifies each
utterance as a whole (:func:`classify_utterance`): one :class:`Segment` per utterance, ``silence`` between
them, ``no speech`` for sound that is not.
:func:`iter_segments` is the older sliding-window view (``classify --segments --windows``): it labels the
``hop``-long slice at the centre of every window of :class:`~edge_runtime.stream.StreamClassifier` and
merges runs of equal labels.

Examples
--------
>>> from edge_runtime import EmotionClassifier
>>> segs, summary = segment_file(EmotionClassifier(), "samples/03-01-05-01-02-01-11.flac")
>>> segs[0].start, round(summary.seconds, 2), all(a.end == b.start for a, b in zip(segs, segs[1:]))
(0.0, 3.47, True)
>>> [s.label for s in segs]                                  # one utterance, silence around it
['silence', 'angry', 'silence']
"""
from __future__ import annotations

import csv
import io
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Union

import numpy as np

from .classifier import EmotionClassifier
from .outputs import write_atomically
from .preprocess import SilentAudioError, frame_rms, remove_dc, trim_bounds
from .resample import StreamResampler
from .sources import FileSource
from .stream import _FLOOR_DB, _FRAME_SECONDS, NO_SPEECH, SILENCE, StreamClassifier, StreamConfig, WindowResult
from .utterances import UtteranceCutter

#: Sliding windows (``--windows``) hop by default every this many seconds (as ``listen``), without smoothing.
DEFAULT_HOP = 0.5
#: An utterance ends at a pause this long (seconds)...
PAUSE_SECONDS = 0.3
#: ... or, for a talker who does not pause, once it is this long.
MAX_UTTERANCE_SECONDS = 15.0


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


def segment_file(classifier: EmotionClassifier, path: Union[str, Path], hop_seconds: Optional[float] = None,
                 progress: Optional[Callable[[float, float], None]] = None) -> tuple[list[Segment], Summary]:
    """Segments of the whole file and a :class:`Summary`: one per utterance (:func:`iter_utterances`), or with
    ``hop_seconds`` sliding windows (:func:`iter_segments`); ``progress(done_seconds, total_seconds)`` is called as
    the replay advances. Memory is bounded: the file is decoded block by block."""
    if hop_seconds is None:
        segments = list(iter_utterances(classifier, path, progress))
    else:
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
                  hop_seconds: Optional[float] = None) -> tuple[list[Segment], Summary]:
    """:func:`segment_file` for audio already in memory (an upload), through the same streaming path."""
    audio = np.asarray(audio, dtype=np.float32)
    block = max(1, int(0.1 * sr))
    chunks = [audio[i:i + block] for i in range(0, len(audio), block)]
    if hop_seconds is None:
        segments = list(utterances_of_chunks(classifier, chunks, sr, len(audio) / sr))
    else:
        tail = np.zeros(int(np.ceil(classifier.config.window_seconds * sr)), np.float32)
        segments = list(segments_of_chunks(classifier, [*chunks, tail], sr, len(audio) / sr, hop_seconds))
    return segments, summarise(segments)


def iter_utterances(classifier: EmotionClassifier, path: Union[str, Path],
                    progress: Optional[Callable[[float, float], None]] = None) -> Iterator[Segment]:
    """The segments of a file, one per utterance, each as soon as it ends (see the module docstring)."""
    source = FileSource(path, realtime=False)
    yield from utterances_of_chunks(classifier, source, source.samplerate, source.frames / source.samplerate,
                                    progress)


class UtteranceSegmenter:
    """Segments of a stream arriving as mono chunks at ``sr``, one :meth:`push` at a time: ``silence`` where the
    level gate (as in ``listen``: ``config.vad_db``, ``margin_db`` above the noise floor) hears nothing, and one
    segment per utterance cut at a pause of :data:`PAUSE_SECONDS`, labelled by :func:`classify_utterance`.
    With ``enrol`` an adaptive classifier (:class:`~edge_runtime.adaptive.AdaptiveClassifier`) hears each
    utterance after answering it (``listen`` enrols through its window stream instead)."""

    def __init__(self, classifier: EmotionClassifier, sr: int, config: Optional[StreamConfig] = None,
                 enrol: bool = True) -> None:
        self.classifier, self.config, self.enrol = classifier, config or StreamConfig(), enrol
        self.sr = sr
        self.rate = classifier.config.sample_rate
        self.resampler = StreamResampler(sr, self.rate)
        self.frame = max(2, int(round(_FRAME_SECONDS * self.rate)))
        self.hop = self.frame // 2
        self.cutter = UtteranceCutter(self.rate, self.frame, self.hop, pause_seconds=PAUSE_SECONDS,
                                      max_seconds=MAX_UTTERANCE_SECONDS)
        self.levels: deque = deque(maxlen=max(1, int(self.config.floor_seconds * self.rate / self.hop)))
        self.pending = np.zeros(0, np.float32)
        self.seconds = 0.0       # of audio consumed so far
        self.end = 0.0           # where the last segment given out ends

    def push(self, chunk: np.ndarray) -> list[Segment]:
        """Feed samples (mono, or ``(frames, channels)`` mixed down); return the segments completed."""
        chunk = np.asarray(chunk, dtype=np.float32)
        self.pending = np.concatenate([self.pending, self.resampler.process(
            chunk.mean(axis=1) if chunk.ndim == 2 else chunk)])
        usable = (len(self.pending) // self.hop) * self.hop
        if usable == 0:
            return []
        block, self.pending = self.pending[:usable], self.pending[usable:]
        clean = remove_dc(np.nan_to_num(block))
        new = 20 * np.log10(np.maximum(frame_rms(clean, self.frame, self.hop)[: usable // self.hop], 1e-5))
        self.levels.extend(new)
        floor = float(np.percentile(self.levels, 10)) if self.levels else _FLOOR_DB
        threshold = max(self.config.vad_db, floor + self.config.margin_db)
        found = self.cutter.push(np.nan_to_num(block), new, threshold)
        self.seconds += usable / self.rate
        return [seg for (audio, _), span in zip(found, self.cutter.spans[-len(found):] if found else [])
                for seg in self._segments(audio, *span)]

    def finish(self, total_seconds: Optional[float] = None) -> list[Segment]:
        """End the stream: a pause closes the open utterance; silence runs to ``total_seconds`` (default: all
        the audio pushed)."""
        total = self.seconds if total_seconds is None else total_seconds
        out = self.push(np.zeros(int(PAUSE_SECONDS * self.sr) + 1, np.float32))
        if total > self.end:
            out.append(Segment(self.end, total, SILENCE, 0.0, {}))
            self.end = total
        return out

    def _segments(self, audio: np.ndarray, start: float, end: float) -> list[Segment]:
        try:     # the utterance's speech as the pipeline trims it: where its segment begins and ends
            a, b = trim_bounds(remove_dc(audio), self.classifier.config)
            start, end = start + a / self.rate, start + b / self.rate
        except SilentAudioError:
            pass
        start = max(start, self.end)
        out = [Segment(self.end, start, SILENCE, 0.0, {})] if start > self.end else []
        label, confidence, scores = classify_utterance(self.classifier, audio, self.rate, enrol=self.enrol)
        out.append(Segment(start, max(end, start), label, confidence, scores))
        self.end = max(end, start)
        return out


def utterances_of_chunks(classifier: EmotionClassifier, chunks: Iterable[np.ndarray], sr: int, total_seconds: float,
                         progress: Optional[Callable[[float, float], None]] = None,
                         config: Optional[StreamConfig] = None) -> Iterator[Segment]:
    """The segments of a recording arriving as mono ``chunks`` at ``sr`` (:class:`UtteranceSegmenter`)."""
    segmenter = UtteranceSegmenter(classifier, sr, config)
    for chunk in chunks:
        yield from segmenter.push(chunk)
        if progress:
            progress(min(total_seconds, segmenter.seconds), total_seconds)
    yield from segmenter.finish(total_seconds)


def classify_utterance(classifier: EmotionClassifier, audio: np.ndarray, sr: int,
                       enrol: bool = True) -> tuple[str, float, dict]:
    """``(label, confidence, scores)`` of one utterance at the model's rate: as a file is classified when it fits
    one window; a longer one is cut into windows overlapping by half and their speech windows' scores averaged
    (on held-out speakers this is as good as the centre window up to two windows long, and uses all the speech).
    ``silence`` or ``no speech`` with empty scores when nothing in it is speech."""
    window = classifier.config.window_samples
    starts = [0] if len(audio) <= window else [*range(0, len(audio) - window, window // 2), len(audio) - window]
    probs, reason = [], None
    for i in starts:
        try:
            mfcc = classifier.features(audio[i:i + window], sr)
        except SilentAudioError:
            continue
        reason = classifier.speech_reason(mfcc)
        if not reason:
            probs.append(classifier.scores(mfcc))
    if not probs:
        return (NO_SPEECH if reason else SILENCE), 0.0, {}
    pred = classifier.prediction(np.mean(probs, axis=0))
    if enrol and hasattr(classifier, "enrol") and not getattr(classifier, "learn", False):
        try:
            classifier.enrol(classifier.speech_features(audio, sr))   # the whole utterance, as in training
        except (SilentAudioError, ValueError):
            pass
    return pred.label, pred.confidence, pred.scores


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
