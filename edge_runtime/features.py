"""A small numpy MFCC extractor held to parity with ``librosa.feature.mfcc``.

Same recipe as the training side (:func:`train.features.librosa_mfcc`): Hann
window (periodic), ``center=True`` with zero padding, power spectrum, Slaney
mel filterbank with Slaney area normalisation, ``10 log10`` with ``top_db``
clipping relative to the input's own peak, DCT-II with orthonormal scaling.
The filterbank and DCT matrices are built once per configuration and cached.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

import numpy as np

from .config import FeatureConfig
from .preprocess import prepare_window

_F_SP = 200.0 / 3           # Slaney mel scale: linear part, Hz per mel
_MIN_LOG_HZ = 1000.0        # start of the logarithmic part
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale (linear below 1 kHz, logarithmic above), as librosa with ``htk=False``."""
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log_part = hz >= _MIN_LOG_HZ
    return np.where(log_part, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP, mel)


def mel_to_hz(mel: np.ndarray) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


@lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised triangular filters, shape ``(n_mels, 1 + n_fft // 2)``, float32 like librosa.

    >>> mel_filterbank(16000, 512, 64, 0.0, 8000.0).shape
    (64, 257)
    """
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_freqs = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_freqs[2:] - mel_freqs[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=8)
def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II rows 0..n_mfcc-1, shape ``(n_mfcc, n_mels)``."""
    n = np.arange(n_mels)
    k = np.arange(n_mfcc)[:, None]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_mels)) * np.sqrt(2.0 / n_mels)
    basis[0] /= np.sqrt(2.0)
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=8)
def hann_window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``win_length``, zero-padded to ``n_fft`` in the centre."""
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win_length) / win_length)
    left = (n_fft - win_length) // 2
    win = np.pad(win, (left, n_fft - win_length - left))
    win.setflags(write=False)
    return win


def power_spectrogram(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``|STFT|**power`` with centred, zero-padded frames, shape ``(frames, 1 + n_fft // 2)``, float32.

    The FFT runs in float64: numpy's float32 FFT is several times slower, not faster.
    """
    pad = config.n_fft // 2
    n = len(audio)
    padded = np.zeros(n + 2 * pad)
    padded[pad:pad + n] = audio
    n_frames = 1 + n // config.hop_length
    frames = np.lib.stride_tricks.sliding_window_view(padded, config.n_fft)[::config.hop_length][:n_frames]
    # Frames that hold only the zero padding of a short clip have zero power: skip their FFTs.
    power = np.zeros((n_frames, config.n_fft // 2 + 1), dtype=np.float32)
    nonzero = padded != 0
    if nonzero.any():
        first = max(0, (int(nonzero.argmax()) - config.n_fft) // config.hop_length + 1)
        last = min(n_frames, (len(padded) - 1 - int(nonzero[::-1].argmax())) // config.hop_length + 1)
        spectrum = np.fft.rfft(frames[first:last] * hann_window(config.win_length, config.n_fft), axis=1)
        part = spectrum.real**2
        part += spectrum.imag**2
        if config.power != 2.0:
            part **= config.power / 2.0
        power[first:last] = part
    return power


@lru_cache(maxsize=8)
def _matrices(config: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous float32 ``(bins, n_mels)`` filterbank and ``(n_mels, n_mfcc)`` DCT for right-multiplication."""
    fb = np.ascontiguousarray(mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin,
                                             config.fmax).T)
    dct = np.ascontiguousarray(dct_matrix(config.n_mfcc, config.n_mels).T, dtype=np.float32)
    return fb, dct


def mfcc(audio: np.ndarray, sr: int, config: Optional[FeatureConfig] = None) -> np.ndarray:
    """MFCC of ``audio`` exactly as given (no trimming or padding), shape ``(frames, n_mfcc)``, float32.

    ``sr`` must equal ``config.sample_rate``; resample first otherwise.
    For the model's input use :func:`features`, which prepares the window.

    >>> cfg = FeatureConfig()
    >>> t = np.arange(cfg.window_samples) / cfg.sample_rate
    >>> mfcc(np.sin(2 * np.pi * 440 * t), cfg.sample_rate, cfg).shape
    (200, 40)
    """
    config = config or FeatureConfig()
    if sr != config.sample_rate:
        raise ValueError(f"audio is at {sr} Hz but the feature config expects {config.sample_rate} Hz")
    fb, dct = _matrices(config)
    mel = power_spectrogram(audio, config) @ fb
    np.maximum(mel, config.amin, out=mel)
    log_mel = np.log10(mel, out=mel)
    log_mel *= 10.0
    np.maximum(log_mel, log_mel.max() - config.top_db, out=log_mel)
    return log_mel @ dct


def features(audio: np.ndarray, config: Optional[FeatureConfig] = None) -> np.ndarray:
    """The model's input for mono audio at ``config.sample_rate``: trim, normalise, fit, MFCC."""
    config = config or FeatureConfig()
    return mfcc(prepare_window(audio, config), config.sample_rate, config)
