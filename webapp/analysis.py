"""What the page shows for one uploaded clip, computed without Streamlit (testable)."""
from __future__ import annotations

import os
import re
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np

from edge_runtime.adaptive import AdaptiveClassifier
from edge_runtime.audio import AUDIO_SUFFIXES, AudioFileError, audio_info, load_audio
from edge_runtime.classifier import EmotionClassifier, Prediction
from edge_runtime.preprocess import SILENCE_DBFS, SilentAudioError
from edge_runtime.segments import Segment, Summary, segment_audio
from edge_runtime.speaker_norm import SpeakerStats, read_stats

#: Uploads longer than this are refused. A clip longer than two model windows (6.4 s) is shown as emotion
#: over time (edge_runtime.segments), which costs about 1 s of server time per minute of audio.
MAX_UPLOAD_SECONDS = 600.0
#: Clips longer than this many model windows get the timeline; shorter ones are one utterance.
TIMELINE_WINDOWS = 2


def plain(text: str) -> str:
    r"""``text`` with every Markdown character escaped, so Streamlit shows it as typed (a file name such as
    ``[click](https://x/).wav`` must not become a link).

    >>> print(plain("[click](https://x/).wav"))
    \[click\]\(https\:\/\/x\/\)\.wav
    """
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>:/~$=])", r"\\\1", text)


class UploadError(ValueError):
    """An upload that cannot be classified; the message is one line for the page."""


@dataclass(frozen=True)
class Analysis:
    """One classified clip: its audio, the model's input and the prediction."""

    name: str
    audio: np.ndarray        # mono float32 at ``sample_rate`` (the model's), as decoded
    sample_rate: int
    mfcc: np.ndarray         # (n_frames, n_mfcc), exactly what the model saw
    prediction: Prediction
    ms: float                # resample + features + inference
    segments: tuple = ()     # emotion over time, for a clip longer than one window
    summary: Optional[Summary] = None
    unadapted: Optional[Prediction] = None   # the default model's answer alone, when the answer was adapted
    source_rate: int = 0     # the upload's own sample rate (its audio is not kept at that rate)

    @property
    def seconds(self) -> float:
        """Duration of the decoded clip."""
        return len(self.audio) / self.sample_rate


def decode_upload(data: bytes, name: str, sample_rate: int,
                  max_seconds: float = MAX_UPLOAD_SECONDS) -> tuple[np.ndarray, int]:
    """Decode uploaded file bytes to mono at ``sample_rate`` with :func:`edge_runtime.audio.load_audio`, block by
    block: the server never holds the upload's audio at its own rate (a 655 kHz file costs what a 16 kHz one
    does), and the session keeps only the model-rate signal it shows.

    The reader wants a path, so the bytes go through a temporary file with the
    upload's suffix; error messages name the upload, not the temporary file. Returns the audio and the
    upload's own rate (for the caption).
    """
    if not data:
        raise UploadError(f"{name}: the file is empty (0 bytes)")
    suffix = Path(name).suffix.lower()
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
        tmp.write(data)
    try:
        return load_audio(tmp.name, sample_rate, max_seconds=max_seconds), audio_info(tmp.name)[0]
    except AudioFileError as err:
        message = str(err).replace(tmp.name, name)
        if suffix not in AUDIO_SUFFIXES:
            message += f" (supported: {', '.join(s.lstrip('.') for s in AUDIO_SUFFIXES)})"
        raise UploadError(message) from None
    finally:
        os.unlink(tmp.name)


def analyse(data: bytes, name: str, classifier: EmotionClassifier,
            max_seconds: float = MAX_UPLOAD_SECONDS) -> Analysis:
    """Decode and classify an upload; raises :class:`UploadError` with a one-line reason.

    With an :class:`~edge_runtime.adaptive.AdaptiveClassifier` the answer is adapted once the voice has been
    heard (``unadapted`` keeps the default model's); a long upload enrols each of its utterances as it goes."""
    sr = classifier.config.sample_rate
    audio, source_rate = decode_upload(data, name, sr, max_seconds)
    t0 = time.perf_counter()
    try:
        mfcc = classifier.features(audio, sr)
    except SilentAudioError:
        raise UploadError(f"{name}: the clip is silent (nothing above {SILENCE_DBFS:.0f} dBFS)") from None
    if len(audio) / sr > TIMELINE_WINDOWS * classifier.config.window_seconds:
        return replace(_analyse_long(name, audio, sr, mfcc, classifier, t0), source_rate=source_rate)
    reason = classifier.speech_reason(mfcc)
    if reason:
        raise UploadError(f"{name}: no speech: {reason}")
    prediction = classifier.predict_features(mfcc)
    unadapted = classifier.prediction(classifier.base_scores(mfcc)) if getattr(classifier, "adapted", False) else None
    return Analysis(name, audio, sr, mfcc, prediction, (time.perf_counter() - t0) * 1e3, unadapted=unadapted,
                    source_rate=source_rate)


def learn_voice(classifier: AdaptiveClassifier, analysis: Analysis) -> None:
    """Add an analysed upload to the visitor's voice, after its answer (as ``listen`` does): a short clip is one
    utterance; a long one (even with a single utterance in it) was enrolled utterance by utterance while
    :func:`analyse` went through it."""
    if analysis.seconds <= TIMELINE_WINDOWS * classifier.config.window_seconds:
        classifier.enrol(analysis.mfcc)


def read_voice(data: bytes, name: str, columns: int, memory: Optional[float] = None) -> SpeakerStats:
    """Voice statistics saved earlier (the page's download, or ``--speaker-stats`` of the CLI), fading with
    ``memory`` from now on (:func:`edge_runtime.speaker_norm.read_stats`), or :class:`UploadError` with one line."""
    try:
        return read_stats(data, columns, memory)
    except ValueError as err:
        raise UploadError(f"{name}: {err}") from None


def _analyse_long(name: str, audio: np.ndarray, sr: int, mfcc: np.ndarray, classifier: EmotionClassifier,
                  t0: float) -> Analysis:
    """A clip longer than :data:`TIMELINE_WINDOWS` windows: one utterance is one answer; several are emotion over
    time, one segment per utterance, with the time-weighted mean of their scores as the headline."""
    segments, summary = segment_audio(classifier, audio, sr)
    speech = [s for s in segments if s.is_speech]
    if not speech:
        raise UploadError(f"{name}: no speech found in {len(audio) / sr:.1f} s (only silence or non-speech sound)")
    if len(speech) == 1:     # one utterance with silence around it: one answer, no timeline
        only = speech[0]
        return Analysis(name, audio, sr, mfcc, classifier.prediction(np.array([only.scores[k] for k in classifier.labels])),
                        (time.perf_counter() - t0) * 1e3)
    weights = np.array([s.end - s.start for s in speech])
    mean = np.average([[s.scores[k] for k in classifier.labels] for s in speech], axis=0, weights=weights)
    prediction = classifier.prediction(mean / mean.sum())
    return Analysis(name, audio, sr, mfcc, prediction, (time.perf_counter() - t0) * 1e3, tuple(segments), summary)


def segments_csv(analysis: Analysis, labels) -> bytes:
    """The timeline's segments as CSV bytes (the same columns as ``classify --segments --csv``)."""
    from edge_runtime.segments import write_csv

    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv([(analysis.name, s) for s in analysis.segments], Path(tmp) / "segments.csv", labels)
        return path.read_bytes()


def segment_rows(segments: tuple[Segment, ...]) -> list[dict]:
    """Rows for the page's table: start, end, emotion, confidence."""
    return [{"start (s)": round(s.start, 1), "end (s)": round(s.end, 1), "emotion": s.label,
             "confidence": round(s.confidence, 2) if s.is_speech else None} for s in segments]
