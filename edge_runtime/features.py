"""A small numpy MFCC extractor held to parity with ``librosa.feature.mfcc``.

Same recipe as the training side (:func:`train.features.librosa_mfcc`): Hann
window (periodic), ``center=True`` with zero padding, power spectrum, Slaney
mel filterbank with Slaney area normalisation, ``10 log10`` with ``top_db``
clipping relative to the input's own peak, DCT-II with orthonormal scaling.
The filterbank and DCT matrices are built once per configuration and cached.
"""
from __future__ import annotations

import threading
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


#: numpy 2 FFTs can write into a given array; numpy 1 (tflite-runtime's) always allocates.
_FFT_HAS_OUT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"
_workspace = threading.local()


def _buffers(n_samples: int, n_fft: int, hop_length: int) -> tuple[np.ndarray, ...]:
    """This thread's reusable (padded audio, frame view, windowed frames, spectrum, power) for one STFT shape.

    A 200 x 512 float64 frame matrix is 800 KB: allocated afresh on every call
    it comes from mmap and costs more in page faults than the FFT itself.
    """
    key = (n_samples, n_fft, hop_length)
    cached = getattr(_workspace, "stft", None)
    if cached is None or cached[0] != key:
        n_frames, bins = 1 + n_samples // hop_length, n_fft // 2 + 1
        padded = np.zeros(n_samples + 2 * (n_fft // 2))
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
        cached = (key, padded, frames, np.empty((n_frames, n_fft)),
                  np.empty((n_frames, bins), np.complex128), np.empty((n_frames, bins), np.float32))
        _workspace.stft = cached
    return cached[1:]


def _last_true(mask: np.ndarray, chunk: int = 2048) -> int:
    """Index of the last ``True`` in a 1-D bool array that has one (argmax on a reversed view is slow)."""
    end = len(mask)
    while end > 0:
        start = max(0, end - chunk)
        if mask[start:end].any():
            return start + int(np.flatnonzero(mask[start:end])[-1])
        end = start
    raise ValueError("mask has no True element")


def _power_into_workspace(audio: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray, slice]:
    """:func:`power_spectrogram` in this thread's workspace (overwritten by its next call).

    Also returns the slice of frames that touch a non-zero sample; all others are exactly zero.
    """
    pad = config.n_fft // 2
    n = len(audio)
    padded, frames, windowed, spectrum, power = _buffers(n, config.n_fft, config.hop_length)
    padded[pad:pad + n] = audio   # the padding on both sides stays zero
    n_frames = len(power)
    # Frames that hold only the zero padding of a short clip have zero power: skip their FFTs.
    nonzero = padded != 0
    if not nonzero.any():
        power.fill(0.0)
        return power, slice(0, 0)
    first = max(0, (int(nonzero.argmax()) - config.n_fft) // config.hop_length + 1)
    last = min(n_frames, _last_true(nonzero) // config.hop_length + 1)
    rows = slice(first, last)
    power[:first] = 0.0
    power[last:] = 0.0
    np.multiply(frames[rows], hann_window(config.win_length, config.n_fft), out=windowed[rows])
    if _FFT_HAS_OUT:
        np.fft.rfft(windowed[rows], axis=1, out=spectrum[rows])
    else:
        spectrum[rows] = np.fft.rfft(windowed[rows], axis=1)
    pairs = spectrum[rows].view(np.float64).reshape(last - first, -1, 2)   # (re, im) side by side
    np.square(pairs, out=pairs)
    np.add(pairs[..., 0], pairs[..., 1], out=power[rows])
    if config.power != 2.0:
        power[rows] **= config.power / 2.0
    return power, rows


def power_spectrogram(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``|STFT|**power`` with centred, zero-padded frames, shape ``(frames, 1 + n_fft // 2)``, float32.

    The FFT runs in float64 (numpy's float32 FFT is several times slower, not
    faster) into arrays reused by the calling thread.

    >>> cfg = FeatureConfig()
    >>> x = np.zeros(cfg.window_samples); x[1000] = 1.0
    >>> p = power_spectrogram(x, cfg)
    >>> p.shape, float(p[:3].max()), float(p[5:].max()), bool(p[3:5].min() > 0)   # frames 3, 4 hold it
    ((200, 257), 0.0, 0.0, True)
    """
    return _power_into_workspace(audio, config)[0].copy()


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
    power, rows = _power_into_workspace(audio, config)
    # Only frames that touch a sample are computed; the others (a short clip's zero padding)
    # are silent frames, whose log-mel is the floor 10 log10(amin) before top_db clipping.
    floor_db = 10.0 * np.log10(config.amin)
    mel = power[rows] @ fb
    np.maximum(mel, config.amin, out=mel)
    log_mel = np.log10(mel, out=mel)
    log_mel *= 10.0
    silent_frames = rows.stop - rows.start < len(power)
    peak = float(log_mel.max(initial=floor_db))   # every value is >= floor_db, the silent frames' too
    np.maximum(log_mel, peak - config.top_db, out=log_mel)
    out = np.empty((len(power), config.n_mfcc), np.float32)
    out[rows] = log_mel @ dct
    if silent_frames:
        silent_row = np.full((1, config.n_mels), max(floor_db, peak - config.top_db), np.float32) @ dct
        out[:rows.start] = silent_row
        out[rows.stop:] = silent_row
    return out


def features(audio: np.ndarray, config: Optional[FeatureConfig] = None) -> np.ndarray:
    """The model's input for mono audio at ``config.sample_rate``: trim, normalise, fit, MFCC."""
    config = config or FeatureConfig()
    return mfcc(prepare_window(audio, config), config.sample_rate, config)
