"""Streaming classification: resample, ring buffer, sliding window, voice-activity gate, smoothing.

:class:`StreamClassifier` is fed chunks at the source's native rate (a
microphone callback or a file replay, see :mod:`edge_runtime.sources`) and
returns one :class:`WindowResult` every ``hop_seconds`` of audio. Each window
is the last ``FeatureConfig.window_seconds`` of audio at the model's rate and
goes through exactly the file pipeline (trim, normalise, fit, MFCC). Given an
:class:`~edge_runtime.adaptive.AdaptiveClassifier`, the stream also cuts the
audio into utterances at its pauses (:mod:`edge_runtime.utterances`) and
enrols the speaker with each one, through the same file pipeline.
"""
from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from .classifier import EmotionClassifier
from .preprocess import SilentAudioError, frame_rms, remove_dc
from .resample import StreamResampler
from .speech import NotSpeechError
from .utterances import UtteranceCutter

SILENCE = "silence"
#: The label of a window loud enough to pass the gate that is not speech (a tone, hum, noise; edge_runtime.speech).
NO_SPEECH = "no speech"
_FRAME_SECONDS = 0.032     # the level meter's frames (hop: half a frame)
_FLOOR_DB = -100.0          # digital silence counts as this level


@dataclass(frozen=True)
class StreamConfig:
    """Settings of the live path (the feature settings come with the model).

    ``vad_db`` is an absolute floor (dBFS, frame RMS) below which nothing
    counts as speech; above it a frame must also be ``margin_db`` louder than
    the noise floor, estimated as the 10th percentile of frame levels over the
    last ``floor_seconds``. A window is speech when at least
    ``min_speech_seconds`` of it passes. Scores are averaged over the last
    ``smoothing`` speech windows; silence resets the average.
    """

    hop_seconds: float = 0.5
    smoothing: int = 3
    vad_db: float = -60.0
    margin_db: float = 12.0
    floor_seconds: float = 10.0
    min_speech_seconds: float = 1.0   # a window holding only an utterance's first half second says "fearful"

    def __post_init__(self) -> None:
        if not 0 < self.hop_seconds < float("inf") or self.smoothing < 1 or not self.min_speech_seconds >= 0:
            raise ValueError("hop_seconds must be finite and > 0, smoothing >= 1, min_speech_seconds >= 0")


@dataclass(frozen=True)
class WindowResult:
    """One step of the stream: its end time, the (smoothed) label and the level that gated it."""

    time: float
    label: str
    confidence: float
    scores: dict
    level_db: float
    threshold_db: float
    speech_seconds: float
    ms: float
    raw_label: Optional[str] = None
    speaker_windows: Optional[int] = None   # with an adaptive classifier: the speaker's windows heard so far
    adapted: Optional[bool] = None          # ... and whether the speaker-normalised model has joined

    @property
    def is_speech(self) -> bool:
        return self.label not in (SILENCE, NO_SPEECH)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scores"] = {k: round(v, 6) for k, v in self.scores.items()}
        for key in ("time", "confidence", "level_db", "threshold_db", "speech_seconds", "ms"):
            d[key] = round(float(d[key]), 4)
        return d


@dataclass
class StreamStats:
    """Running totals for the summary printed at the end."""

    seconds: float = 0.0
    windows: int = 0
    speech_windows: int = 0
    overflows: int = 0
    labels: Counter = field(default_factory=Counter)
    processing_ms: float = 0.0

    def summary(self) -> str:
        top = ", ".join(f"{k} {v}" for k, v in self.labels.most_common()) or "none"
        mean_ms = self.processing_ms / self.windows if self.windows else 0.0
        return (f"{self.seconds:.1f} s of audio, {self.windows} windows ({self.speech_windows} speech), "
                f"labels: {top}; {mean_ms:.1f} ms per window; input overflows: {self.overflows}")


class StreamClassifier:
    """Sliding-window classification of a mono stream arriving at ``input_sr``.

    >>> clf = EmotionClassifier()
    >>> stream = StreamClassifier(clf, 48000)
    >>> results = stream.push(np.zeros(60000, np.float32))   # 1.25 s of silence
    >>> [r.label for r in results]
    ['silence', 'silence']
    """

    def __init__(self, classifier: EmotionClassifier, input_sr: int, config: StreamConfig = StreamConfig()) -> None:
        self.classifier = classifier
        self.config = config
        self.sr = classifier.config.sample_rate
        self.window = np.zeros(classifier.config.window_samples, dtype=np.float32)
        self.hop = max(1, int(round(config.hop_seconds * self.sr)))
        self.resampler = StreamResampler(input_sr, self.sr)
        self._pending = np.zeros(0, dtype=np.float32)
        self._frame = max(2, int(round(_FRAME_SECONDS * self.sr)))
        self._hop = self._frame // 2
        self._levels: deque = deque(maxlen=max(1, int(config.floor_seconds * self.sr / self._hop)))
        self._recent: deque = deque(maxlen=config.smoothing)
        self._samples = 0
        # An adaptive classifier (edge_runtime.adaptive) is enrolled with whole utterances, as in training.
        enrols = hasattr(classifier, "enrol") and not getattr(classifier, "learn", False)
        self._utterances = (UtteranceCutter(self.sr, self._frame, self._hop,
                                            max_seconds=1.5 * classifier.config.window_seconds) if enrols else None)
        self.stats = StreamStats()

    def push(self, chunk: np.ndarray) -> list[WindowResult]:
        """Feed samples (mono, or ``(frames, channels)`` mixed down); return the windows completed."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim == 2:
            chunk = chunk.mean(axis=1)
        self._pending = np.concatenate([self._pending, self.resampler.process(chunk)])
        results = []
        while len(self._pending) >= self.hop:
            step, self._pending = self._pending[:self.hop], self._pending[self.hop:]
            results.append(self._step(step))
        return results

    def _step(self, samples: np.ndarray) -> WindowResult:
        t0 = time.perf_counter()
        self.window = np.concatenate([self.window[len(samples):], samples])
        self._samples += len(samples)
        finite = np.all(np.isfinite(samples))
        new_levels = 20 * np.log10(np.maximum(frame_rms(remove_dc(np.nan_to_num(samples)), self._frame, self._hop), 1e-5))
        self._levels.extend(new_levels)
        floor = float(np.percentile(self._levels, 10)) if self._levels else _FLOOR_DB
        threshold = max(self.config.vad_db, floor + self.config.margin_db)
        if self._utterances is not None and finite:
            for utterance, speech in self._utterances.push(samples, new_levels, threshold):
                self._enrol(utterance, speech)
        levels = 20 * np.log10(np.maximum(frame_rms(remove_dc(np.nan_to_num(self.window)), self._frame, self._hop), 1e-5))
        speech_seconds = float(np.sum(levels >= threshold)) * self._hop / self.sr
        label, confidence, scores, raw = SILENCE, 0.0, {}, None
        if finite and speech_seconds >= self.config.min_speech_seconds:
            try:
                mfcc = self.classifier.features(self.window, self.sr)
            except SilentAudioError:
                mfcc = None
            probs = None
            if mfcc is not None and self.classifier.speech_reason(mfcc):
                label = NO_SPEECH
            elif mfcc is not None:
                probs = self.classifier.scores(mfcc)
            if probs is not None:
                raw = self.classifier.labels[int(np.argmax(probs))]
                self._recent.append(probs)
                smoothed = np.mean(self._recent, axis=0)
                pred = self.classifier.prediction(smoothed)
                label, confidence, scores = pred.label, pred.confidence, pred.scores
        if label in (SILENCE, NO_SPEECH):
            self._recent.clear()
        ms = (time.perf_counter() - t0) * 1000.0
        speaker = getattr(self.classifier, "speaker", None)
        result = WindowResult(time=self._samples / self.sr, label=label, confidence=confidence, scores=scores,
                              level_db=float(levels.max()), threshold_db=threshold,
                              speech_seconds=speech_seconds, ms=ms, raw_label=raw,
                              speaker_windows=None if speaker is None else speaker.n_windows,
                              adapted=None if speaker is None else bool(self.classifier.adapted))
        self._record(result)
        return result

    def _enrol(self, utterance: np.ndarray, speech_seconds: float) -> None:
        """Add one finished utterance to the speaker's statistics, if it holds enough speech that is speech."""
        if speech_seconds < self.config.min_speech_seconds:
            return
        try:
            self.classifier.enrol(self.classifier.speech_features(utterance, self.sr))
        except (SilentAudioError, NotSpeechError):
            pass

    def _record(self, result: WindowResult) -> None:
        s = self.stats
        s.seconds, s.windows, s.processing_ms = result.time, s.windows + 1, s.processing_ms + result.ms
        if result.is_speech:
            s.speech_windows += 1
            s.labels[result.label] += 1
