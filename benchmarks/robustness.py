"""How much accuracy the shipped model keeps under other microphones and rooms (simulated on real clips).

Every held-out test clip is classified clean and after one of these changes,
applied to the waveform at the model's rate before the device pipeline:
band limits (telephone 300-3400 Hz, a 4 kHz low-pass), a spectral tilt of
+/-3 dB per octave (bright or dull microphones), white noise at 20 dB SNR and
a small room (exponentially decaying noise, RT60 about 0.4 s). Numpy only.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np


def _spectral(gain: Callable[[np.ndarray], np.ndarray]) -> Callable:
    def apply(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        spectrum = np.fft.rfft(x.astype(np.float64))
        return np.fft.irfft(spectrum * gain(np.fft.rfftfreq(len(x), 1 / sr)), len(x)).astype(np.float32)
    return apply


def _noise(x: np.ndarray, sr: int, rng: np.random.Generator, snr_db: float = 20.0) -> np.ndarray:
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    return (x + rng.standard_normal(len(x)) * rms * 10 ** (-snr_db / 20)).astype(np.float32)


def _room(x: np.ndarray, sr: int, rng: np.random.Generator, decay_s: float = 0.06) -> np.ndarray:
    t = np.arange(int(0.3 * sr)) / sr
    response = rng.standard_normal(len(t)) * np.exp(-t / decay_s) * 0.3
    response[0] = 1.0
    wet = np.convolve(x, response)[: len(x)]
    return (wet * (np.max(np.abs(x)) / max(np.max(np.abs(wet)), 1e-9))).astype(np.float32)


#: name -> (what it imitates, transform(audio, sr, rng))
CONDITIONS: dict[str, tuple[str, Callable]] = {
    "clean": ("the test clip as recorded", lambda x, sr, rng: x),
    "telephone": ("300-3400 Hz band", _spectral(lambda f: ((f > 300) & (f < 3400)).astype(float))),
    "low-pass 4 kHz": ("a dull or band-limited microphone", _spectral(lambda f: 1 / np.sqrt(1 + (f / 4000) ** 8))),
    "tilt +3 dB/oct": ("a bright microphone", _spectral(lambda f: np.sqrt(np.maximum(f, 50) / 1000))),
    "tilt -3 dB/oct": ("a dark microphone", _spectral(lambda f: np.sqrt(1000 / np.maximum(f, 50)))),
    "noise 20 dB": ("white noise at 20 dB SNR", _noise),
    "room": ("a small reverberant room", _room),
}


def evaluate(model, files: Sequence[Path], labels: Sequence[int], seed: int = 0) -> dict:
    """Accuracy of ``model`` (an :class:`edge_runtime.EmotionClassifier`) on ``files`` under every condition."""
    from edge_runtime.audio import load_audio

    sr = model.config.sample_rate
    audio = [load_audio(f, sr) for f in files]
    y = np.asarray(labels)
    rows = {}
    for name, (what, transform) in CONDITIONS.items():
        rng = np.random.default_rng(seed)
        pred = np.array([int(np.argmax(model.scores(model.features(transform(a, sr, rng), sr)))) for a in audio])
        rows[name] = {"imitates": what, "accuracy": float(np.mean(pred == y))}
    for row in rows.values():
        row["drop_pp"] = 100 * (rows["clean"]["accuracy"] - row["accuracy"])
    return {"n_clips": len(files), "rows": rows}


def test_split(run_dir: Path, sources, limit: Optional[int] = None) -> tuple[list[Path], list[int]]:
    """The files and label indices of a run's test split, the clips :mod:`benchmarks.accuracy` scores."""
    from .accuracy import test_clips

    clips = test_clips(run_dir, sources, limit)
    return [c.path for c in clips], [c.emotion for c in clips]
