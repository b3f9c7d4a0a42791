"""``AdaptiveClassifier``: the default model, joined by a speaker-adapted one once the speaker has been heard.

The companion model (trained with ``python -m train --recipe companion``, bundled in
``edge_runtime/models/speaker_norm``) reads each MFCC column standardised by the
speaker's own mean and spread (:mod:`edge_runtime.speaker_norm`). Until
``enrol_windows`` speech windows of the speaker have been heard only the
default model answers; after that the two models' scores are averaged, the
companion's with ``weight`` (both from the companion's ``model.json``). What it
gains on held-out speakers is measured by ``benchmarks/adaptation.py`` (the
benchmark report); how it was chosen is in ``docs/experiments.md``.

One instance listens to one speaker: its statistics are everyone's it has
heard. Call :meth:`AdaptiveClassifier.reset` for a new speaker, or keep one
instance per speaker (:meth:`AdaptiveClassifier.for_new_speaker` shares the
models; :meth:`save_stats` / :meth:`load_stats` carry a speaker across restarts).

Examples
--------
>>> from edge_runtime.audio import load_audio
>>> clf = AdaptiveClassifier()
>>> clips = ["samples/03-01-04-01-01-02-14.flac", "samples/03-01-05-01-02-01-11.flac"]
>>> windows = [clf.features(load_audio(p, 16000), 16000) for p in clips]
>>> for w in windows:
...     clf.enrol(w)
>>> clf.speaker.n_windows, clf.adapted     # too few windows yet: the default model answers alone
(2, False)
>>> np.allclose(clf.scores(windows[0]), clf.base_scores(windows[0]))
True
"""
from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .classifier import EmotionClassifier
from .model_card import COMPANION_DIR, ModelError
from .outputs import write_atomically
from .speaker_norm import MAX_STATS_BYTES, SpeakerStats, read_stats

#: ``listen`` keeps a speaker's statistics over about this many recent utterances, so that a new voice takes over
#: (measured in docs/device.md, "Adapting to one speaker").
LISTEN_MEMORY = 20


def bundled_companion() -> Path:
    """The bundled speaker-adapted model (int8)."""
    return COMPANION_DIR / "model_int8.tflite"


class AdaptiveClassifier(EmotionClassifier):
    """An :class:`EmotionClassifier` that adapts to the voice it hears (see the module docstring).

    ``companion`` is the path of a ``.tflite`` of the companion recipe (default: the bundled one);
    ``enrol_windows`` and ``weight`` override its card's. With ``learn``, every window given to :meth:`scores`
    also enrols the speaker first (each call one distinct utterance); by default only :meth:`enrol` does:
    ``classify --same-speaker`` enrols every file, then classifies them, and
    :class:`~edge_runtime.stream.StreamClassifier` (``listen``) enrols each utterance it cuts at the pauses.
    ``memory`` (in windows) lets old windows fade (:class:`~edge_runtime.speaker_norm.SpeakerStats`); ``None``
    keeps them all.
    """

    def __init__(self, model: Optional[Union[str, Path]] = None, companion: Optional[Union[str, Path]] = None,
                 num_threads: Optional[int] = None, backend: Optional[str] = None, check_speech: bool = True,
                 enrol_windows: Optional[int] = None, weight: Optional[float] = None, learn: bool = False,
                 memory: Optional[float] = None) -> None:
        super().__init__(model, num_threads=num_threads, backend=backend, check_speech=check_speech)
        self.companion = EmotionClassifier(companion or bundled_companion(), num_threads=num_threads,
                                           backend=backend, check_speech=False)
        block = self.companion.card.speaker_norm
        if block is None:
            raise ModelError(f"{self.companion.model_path}: not a speaker-adapted model (its model.json has no "
                             f"speaker_norm block; train it with the companion recipe)")
        if self.companion.config != self.config:
            raise ModelError(f"{self.companion.model_path}: its feature configuration differs from "
                             f"{self.model_path.name}'s; the two models must read the same features")
        self.enrol_windows = int(block["enrol_windows"] if enrol_windows is None else enrol_windows)
        self.weight = float(block["weight"] if weight is None else weight)
        if self.enrol_windows < 1 or not 0.0 <= self.weight <= 1.0:
            raise ValueError("enrol_windows must be >= 1 and weight within [0, 1]")
        self.learn = learn
        self.speaker = SpeakerStats(block["columns"], memory)
        self._stats_lock = threading.Lock()

    @property
    def adapted(self) -> bool:
        """Whether enough of the speaker has been heard for the companion model to join."""
        return self.speaker.n_windows >= self.enrol_windows

    def enrol(self, mfcc: np.ndarray) -> None:
        """Add one speech window (from :meth:`features`) to the speaker's statistics."""
        with self._stats_lock:
            self.speaker.update(mfcc)

    def reset(self) -> None:
        """Forget the speaker (a new voice is about to speak)."""
        with self._stats_lock:
            self.speaker = SpeakerStats(self.speaker.columns, self.speaker.memory)

    def for_new_speaker(self, speaker: Optional[SpeakerStats] = None) -> "AdaptiveClassifier":
        """Another listener sharing this one's two interpreters (and their locks), as a server keeps one per
        visitor without loading the models again: with no statistics yet, or continuing ``speaker``'s (the same
        object, not a copy).

        >>> first = AdaptiveClassifier()
        >>> first.enrol(np.zeros((200, first.config.n_features)))
        >>> second = first.for_new_speaker()
        >>> second.speaker.n_windows, first.speaker.n_windows, second.companion is first.companion
        (0, 1, True)
        """
        if speaker is not None and speaker.columns != self.speaker.columns:
            raise ValueError(f"statistics of {speaker.columns} columns, the model needs {self.speaker.columns}")
        other = copy.copy(self)
        other.speaker = SpeakerStats(self.speaker.columns, self.speaker.memory) if speaker is None else speaker
        other._stats_lock = threading.Lock()
        return other

    def base_scores(self, mfcc: np.ndarray) -> np.ndarray:
        """The default model's scores alone."""
        return super().scores(mfcc)

    def adapted_scores(self, mfcc: np.ndarray) -> np.ndarray:
        """The companion model's scores with the speaker's statistics so far (the population's before any)."""
        with self._stats_lock:
            stats = self.speaker.mean_std() if self.speaker.n_windows else None
        return self.companion.scores(mfcc, speaker=stats)

    def scores(self, mfcc: np.ndarray, speaker: Optional[tuple] = None) -> np.ndarray:
        """Class probabilities: the default model's until the speaker is enrolled, then the weighted average.

        With ``learn``, ``mfcc`` enrols the speaker first. ``speaker`` is ignored (the statistics are this
        instance's own)."""
        if self.learn:
            self.enrol(mfcc)
        base = self.base_scores(mfcc)
        if not self.adapted or self.weight == 0.0:
            return base
        return (1.0 - self.weight) * base + self.weight * self.adapted_scores(mfcc)

    def save_stats(self, path: Union[str, Path]) -> None:
        """Write the speaker's statistics as JSON (running sums, so :meth:`load_stats` can keep adding), atomically;
        statistics that fail :meth:`SpeakerStats.check` are never written (``ValueError``)."""
        with self._stats_lock:
            self.speaker.check()
            write_atomically(path, self.speaker.to_json() + "\n")

    def load_stats(self, path: Union[str, Path]) -> None:
        """Continue from statistics written by :meth:`save_stats` (raises ``ValueError`` for another layout)."""
        try:   # this instance's forgetting applies, whatever wrote the file
            path = Path(path)
            if not path.is_file():
                raise OSError("not a regular file")
            if path.stat().st_size > MAX_STATS_BYTES:
                raise ValueError(f"not a speaker statistics file ({path.stat().st_size:,} bytes; such files are "
                                 f"about 2 KB)")
            stats = read_stats(path.read_bytes(), self.speaker.columns, self.speaker.memory)
        except OSError as err:
            raise ValueError(f"{path}: not a speaker statistics file ({type(err).__name__}: {err})") from None
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        with self._stats_lock:
            self.speaker = stats
