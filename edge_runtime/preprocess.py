"""Waveform preprocessing shared by training and the device (numpy only).

These are steps 1-4 of the pipeline documented on
:class:`edge_runtime.config.FeatureConfig`; the trainer imports them from here
so that both sides cut, scale and pad audio identically.
"""
from __future__ import annotations

import numpy as np

from .config import FeatureConfig

#: A clip whose peak stays below this (about -80 dBFS) holds no usable signal.
SILENCE_PEAK = 1e-4


class SilentAudioError(ValueError):
    """The audio holds no signal above :data:`SILENCE_PEAK`."""


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Mix ``(samples,)`` or ``(samples, channels)`` audio down to float32 mono.

    >>> to_mono(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
    [0.5, 0.5]
    """
    audio = np.asarray(audio)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    elif audio.ndim != 1:
        raise ValueError(f"expected 1-D or (samples, channels) audio, got shape {audio.shape}")
    return audio.astype(np.float32, copy=False)


def frame_rms(audio: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS of centred frames (zero padding of ``frame_length // 2`` on each side)."""
    pad = frame_length // 2
    padded = np.pad(audio.astype(np.float64), (pad, pad))
    n_frames = 1 + (len(padded) - frame_length) // hop_length
    if n_frames <= 0:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length][:n_frames]
    return np.sqrt(np.mean(frames**2, axis=1))


def trim_silence(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Cut leading and trailing frames more than ``trim_top_db`` below the loudest frame.

    Raises :class:`SilentAudioError` when nothing is above :data:`SILENCE_PEAK`.

    >>> cfg = FeatureConfig()
    >>> x = np.zeros(32000, np.float32); x[12000:20000] = 0.5
    >>> y = trim_silence(x, cfg)
    >>> 8000 <= len(y) < 12000
    True
    """
    if audio.size == 0 or not np.all(np.isfinite(audio)) or np.max(np.abs(audio)) < SILENCE_PEAK:
        raise SilentAudioError("audio is empty, silent or not finite")
    rms = frame_rms(audio, config.trim_frame_length, config.trim_hop_length)
    floor = rms.max() * 10.0 ** (-config.trim_top_db / 20.0)
    loud = np.flatnonzero(rms > floor)
    start = int(loud[0]) * config.trim_hop_length
    end = min(len(audio), (int(loud[-1]) + 1) * config.trim_hop_length)
    return audio[start:end]


def normalise_peak(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Scale so that the absolute peak equals ``config.peak_level``."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < SILENCE_PEAK:
        raise SilentAudioError("audio is silent")
    return (audio * (config.peak_level / peak)).astype(np.float32)


def fit_window(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Centre-crop or centre-pad (zeros) ``audio`` to exactly ``n_samples``.

    >>> fit_window(np.arange(5.0), 3).tolist()
    [1.0, 2.0, 3.0]
    >>> fit_window(np.ones(2), 4).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    n = len(audio)
    if n >= n_samples:
        start = (n - n_samples) // 2
        return np.ascontiguousarray(audio[start:start + n_samples])
    left = (n_samples - n) // 2
    return np.pad(audio, (left, n_samples - n - left))


def prepare_window(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Steps 2-4 of the pipeline: trim, peak-normalise, fit to one model window.

    ``audio`` must already be mono at ``config.sample_rate``.
    """
    trimmed = trim_silence(to_mono(audio), config)
    return fit_window(normalise_peak(trimmed, config), config.window_samples)
