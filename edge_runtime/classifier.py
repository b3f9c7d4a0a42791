"""``EmotionClassifier``: raw audio in, one of the 8 emotions out, on numpy and a TFLite interpreter."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .audio import load_audio
from .features import features
from .interpreter import load_interpreter, run_model
from .model_card import ModelError, load_card
from .resample import resample
from .speech import NotSpeechError, not_speech_reason

#: ``classify`` refuses files longer than this by default (``listen --input`` takes any length).
MAX_FILE_SECONDS = 60.0
#: Below this (calibrated) confidence an answer is right less than about 4 times in 10 on voices the model never
#: heard (the benchmark report's reliability plot): it is shown as uncertain, beside its runner-up.
UNCERTAIN_BELOW = 0.4


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one window of audio.

    >>> p = Prediction("sad", 0.35, {"sad": 0.35, "calm": 0.3, "neutral": 0.35 - 1e-9})
    >>> p.uncertain, p.runner_up
    (True, 'neutral')
    """

    label: str
    confidence: float
    scores: dict = field(repr=False)

    @property
    def uncertain(self) -> bool:
        """Whether the confidence is below :data:`UNCERTAIN_BELOW`."""
        return self.confidence < UNCERTAIN_BELOW

    @property
    def runner_up(self) -> str:
        """The second most likely emotion."""
        return sorted(self.scores, key=lambda k: -self.scores[k])[1]

    def to_dict(self) -> dict:
        """Plain-JSON form: ``label``, ``confidence``, ``uncertain`` and ``scores`` (emotion -> probability)."""
        return {"label": self.label, "confidence": round(self.confidence, 6), "uncertain": self.uncertain,
                "scores": {k: round(v, 6) for k, v in self.scores.items()}}


class EmotionClassifier:
    """Classify speech into the 8 RAVDESS emotions.

    One instance may be shared by threads (a web server's sessions): every
    method is safe to call concurrently and gives the answer a serial call would.

    ``model`` is ``None`` (the bundled int8 model), ``"int8"`` or ``"float32"``
    (the bundled files) or the path of a ``.tflite`` file with its
    ``model.json`` beside it. Audio at any sample rate is resampled to the
    model's rate; the same preprocessing as in training is applied (DC removal,
    trim, peak-normalise, fit to one window, MFCC). With ``check_speech``,
    :meth:`predict` refuses what is not speech (tones, hum, noise, clicks) with
    :class:`~edge_runtime.speech.NotSpeechError`.

    Examples
    --------
    >>> clf = EmotionClassifier()
    >>> sr = clf.config.sample_rate
    >>> t = np.arange(2 * sr) / sr
    >>> x = clf.predict(0.3 * np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t / 2), sr)
    Traceback (most recent call last):
    ...
    edge_runtime.speech.NotSpeechError: a steady tone or hum (the spectrum hardly changes)
    >>> p = EmotionClassifier(check_speech=False).predict(0.3 * np.sin(2 * np.pi * 220 * t), sr)
    >>> p.label in clf.labels, len(p.scores), round(sum(p.scores.values()), 2)
    (True, 8, 1.0)
    """

    def __init__(self, model: Optional[Union[str, Path]] = None, num_threads: Optional[int] = None,
                 backend: Optional[str] = None, check_speech: bool = True) -> None:
        self.check_speech = check_speech
        self.card = load_card(model)
        self.config = self.card.feature_config
        self.labels = self.card.labels
        try:
            self.interpreter = load_interpreter(self.card.path, num_threads=num_threads, backend=backend)
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"{self.card.path}: the interpreter cannot load it ({err})") from None
        shape = tuple(int(s) for s in self.interpreter.get_input_details()[0]["shape"])
        expected = (1, self.config.n_frames, self.config.n_features)
        if shape != expected:
            raise ModelError(f"{self.card.path}: input shape {shape} does not match the feature config {expected}")
        n_out = int(np.prod(self.interpreter.get_output_details()[0]["shape"]))
        if n_out != len(self.labels):
            raise ModelError(f"{self.card.path}: {n_out} outputs for {len(self.labels)} labels")
        self.backend = self.interpreter.backend
        # One TFLite interpreter holds one set of tensors: concurrent calls would overwrite each other's
        # input or output (or raise "There is at least 1 reference to internal data"). Inference is
        # serialised; the MFCC before it runs in parallel (its workspace is per thread).
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        """The ``.tflite`` file in use."""
        return self.card.path

    def features(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """The model's input for mono ``audio`` at ``sr`` Hz, ``(n_frames, n_features)``: the prepared window's
        MFCCs (and prosody, if the model takes it)."""
        if sr != self.config.sample_rate:
            audio = resample(audio, sr, self.config.sample_rate)
        return features(audio, self.config)

    def scores(self, mfcc: np.ndarray, speaker: Optional[tuple] = None) -> np.ndarray:
        """Class probabilities for one MFCC window (before normalisation), in label order, summing to 1.

        An int8 model's dequantised outputs sum to 1 only up to its output step
        (1/256 per class), so they are rescaled, then tempered by the card's calibration
        (:meth:`ModelCard.calibrate`); the ranking is unchanged.
        ``speaker`` (a ``(mean, std)`` pair) is read by a model trained with
        speaker-normalised (companion) models only (:meth:`ModelCard.normalise`).
        """
        x = self.card.normalise(mfcc, speaker)
        with self._lock:
            scores = np.maximum(run_model(self.interpreter, x), 0.0)
        total = float(scores.sum())
        probs = scores / total if total > 0 else np.full_like(scores, 1.0 / len(scores))
        return self.card.calibrate(probs)

    def predict_features(self, mfcc: np.ndarray) -> Prediction:
        """:class:`Prediction` for one MFCC window from :meth:`features`."""
        return self.prediction(self.scores(mfcc))

    def prediction(self, scores: np.ndarray) -> Prediction:
        """Wrap a score vector as a :class:`Prediction`."""
        best = int(np.argmax(scores))
        return Prediction(self.labels[best], float(scores[best]),
                          {k: float(v) for k, v in zip(self.labels, scores)})

    def speech_reason(self, mfcc: np.ndarray) -> Optional[str]:
        """Why the MFCC window is not speech (see :mod:`edge_runtime.speech`), or ``None`` (also when not checking)."""
        return not_speech_reason(mfcc, self.config) if self.check_speech else None

    def speech_features(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """:meth:`features` of speech: raises :class:`~edge_runtime.preprocess.SilentAudioError` for silence
        and :class:`~edge_runtime.speech.NotSpeechError` for sound that is not speech (when checking)."""
        mfcc = self.features(np.asarray(audio), sr)
        reason = self.speech_reason(mfcc)
        if reason:
            raise NotSpeechError(reason)
        return mfcc

    def predict(self, audio: np.ndarray, sr: int) -> Prediction:
        """Classify mono (or ``(samples, channels)``) ``audio`` sampled at ``sr`` Hz (see :meth:`speech_features`
        for the errors it raises)."""
        return self.predict_features(self.speech_features(audio, sr))

    def predict_file(self, path: Union[str, Path], max_seconds: Optional[float] = MAX_FILE_SECONDS) -> Prediction:
        """Read, resample and classify one audio file (see :func:`edge_runtime.audio.read_audio`)."""
        audio = load_audio(path, self.config.sample_rate, max_seconds=max_seconds)
        return self.predict(audio, self.config.sample_rate)

