"""A small numpy MFCC extractor held to parity with ``librosa.feature.mfcc``.

Same recipe as the training side (:func:`train.features.librosa_mfcc`): Hann
window (periodic), ``center=True`` with zero padding, power spectrum (the bins
below ``highpass_hz`` zeroed), Slaney
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
from .preprocess import nonzero_span, prepare_window, touched_frames

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


def mel_frequencies(n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """``n_mels`` + 2 frequencies in Hz evenly spaced on the Slaney mel scale from ``fmin`` to ``fmax``: the
    edges of the triangular filters, each filter peaking at its middle one (as librosa's ``mel_frequencies``).

    >>> mel_frequencies(64, 0.0, 8000.0)[[0, 1, -2, -1]].round()
    array([   0.,   46., 7626., 8000.])
    """
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))


@lru_cache(maxsize=8)
def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney-normalised triangular filters, shape ``(n_mels, 1 + n_fft // 2)``, float32 like librosa.

    >>> mel_filterbank(16000, 512, 64, 0.0, 8000.0).shape
    (64, 257)
    """
    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_freqs = mel_frequencies(n_mels, fmin, fmax)
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


def _buffers(n_samples: int, config: FeatureConfig) -> tuple[np.ndarray, ...]:
    """This thread's reusable (padded audio, frame view, tiled window, windowed frames, spectrum, power).

    A 200 x 512 float64 frame matrix is 800 KB: allocated afresh on every call
    it comes from mmap and costs more in page faults than the FFT itself. The
    window is tiled to the frame matrix's shape because numpy multiplies two
    full arrays about 20 % faster than it broadcasts one row.
    """
    n_fft, hop_length = config.n_fft, config.hop_length
    key = (n_samples, n_fft, hop_length, config.win_length)
    cached = getattr(_workspace, "stft", None)
    if cached is None or cached[0] != key:
        n_frames, bins = 1 + n_samples // hop_length, n_fft // 2 + 1
        padded = np.zeros(n_samples + 2 * (n_fft // 2))
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop_length][:n_frames]
        window = np.tile(hann_window(config.win_length, n_fft), (n_frames, 1))
        cached = (key, padded, frames, window, np.empty((n_frames, n_fft)),
                  np.empty((n_frames, bins), np.complex128), np.empty((n_frames, bins), np.float32))
        _workspace.stft = cached
    return cached[1:]


def _power_into_workspace(audio: np.ndarray, config: FeatureConfig) -> tuple[np.ndarray, slice]:
    """:func:`power_spectrogram` in this thread's workspace (overwritten by its next call).

    Only the returned slice of frames is computed: the frames that touch a
    non-zero sample. All other frames (a short clip's zero padding) have zero
    power, but their rows in the workspace hold stale values.
    """
    audio = np.asarray(audio)
    pad = config.n_fft // 2
    n = len(audio)
    padded, frames, window, windowed, spectrum, power = _buffers(n, config)
    span = nonzero_span(audio)
    if span is None:
        return power, slice(0, 0)
    rows = touched_frames(span, config.n_fft, config.hop_length, len(power))
    first, last = rows.start, rows.stop
    # Copy in only what these frames read; the centre padding on both sides is never written, so stays zero.
    lo, hi = max(pad, first * config.hop_length), min(pad + n, (last - 1) * config.hop_length + config.n_fft)
    padded[lo:hi] = audio[lo - pad:hi - pad]
    np.multiply(frames[rows], window[rows], out=windowed[rows])
    if _FFT_HAS_OUT:
        np.fft.rfft(windowed[rows], axis=1, out=spectrum[rows])
    else:
        spectrum[rows] = np.fft.rfft(windowed[rows], axis=1)
    pairs = spectrum[rows].view(np.float64).reshape(last - first, -1, 2)   # (re, im) side by side
    np.square(pairs, out=pairs)
    np.add(pairs[..., 0], pairs[..., 1], out=power[rows])
    if config.power != 2.0:
        power[rows] **= config.power / 2.0
    power[rows, :config.highpass_bins] = 0.0    # DC leakage and rumble
    return power, rows


def power_spectrogram(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``|STFT|**power`` with centred, zero-padded frames, shape ``(frames, 1 + n_fft // 2)``, float32.

    The FFT runs in float64 (numpy's float32 FFT is several times slower, not
    faster) into arrays reused by the calling thread.

    >>> cfg = FeatureConfig()
    >>> x = np.zeros(cfg.window_samples); x[1000] = 1.0
    >>> p = power_spectrogram(x, cfg)
    >>> p.shape, float(p[:3].max()), float(p[5:].max()), bool(p[3:5, 2:].min() > 0)   # frames 3, 4 hold it
    ((200, 257), 0.0, 0.0, True)
    >>> float(p[3:5, :cfg.highpass_bins].max())    # below highpass_hz (50 Hz): zeroed
    0.0
    """
    power, rows = _power_into_workspace(audio, config)
    out = np.zeros_like(power)
    out[rows] = power[rows]
    return out


#: The mel projection runs as this many dense blocks along the filterbank's diagonal (see _mel_blocks).
_MEL_BLOCKS = 4


@lru_cache(maxsize=8)
def _mel_blocks(config: FeatureConfig) -> tuple[tuple[slice, slice, np.ndarray], ...]:
    """The filterbank as ``(bins, mels, weights)`` blocks, float32, for a banded ``power @ filterbank``.

    Each triangular filter spans only a few neighbouring FFT bins, so the
    ``(bins, n_mels)`` matrix is mostly zeros. Cut into ``_MEL_BLOCKS`` groups of
    consecutive filters, each group needs only the bins its filters touch:
    about a quarter of the multiply-adds of one dense product, same sums.
    """
    fb = mel_filterbank(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax).T
    edges = np.linspace(0, config.n_mels, min(_MEL_BLOCKS, config.n_mels) + 1).astype(int)
    blocks = []
    for a, b in zip(edges[:-1], edges[1:]):
        used = np.flatnonzero(fb[:, a:b].any(axis=1))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 0)
        blocks.append((slice(lo, hi), slice(a, b), np.ascontiguousarray(fb[lo:hi, a:b])))
    return tuple(blocks)


@lru_cache(maxsize=8)
def _dct_for(config: FeatureConfig) -> np.ndarray:
    """Contiguous float32 ``(n_mels, n_mfcc)`` DCT times 10, right-multiplying ``log10`` mel energies."""
    return np.ascontiguousarray(10.0 * dct_matrix(config.n_mfcc, config.n_mels).T, dtype=np.float32)


def _mel_power(power: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """``power @ filterbank`` for a ``(frames, bins)`` float32 power spectrogram, shape ``(frames, n_mels)``."""
    mel = np.empty((len(power), config.n_mels), np.float32)
    for bins, mels, weights in _mel_blocks(config):
        np.matmul(power[:, bins], weights, out=mel[:, mels])
    return mel


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
    if np.ndim(audio) != 1:
        raise ValueError(f"mfcc takes mono 1-D audio, got shape {np.shape(audio)}; mix it down first "
                         f"(edge_runtime.preprocess.to_mono)")
    dct = _dct_for(config)   # scaled by 10: it takes log10 mel to the DCT of 10 log10 mel (decibels)
    power, rows = _power_into_workspace(audio, config)
    # Only frames that touch a sample are computed; the others (a short clip's zero padding)
    # are silent frames, whose log-mel is the floor log10(amin) before top_db clipping.
    floor = float(np.log10(config.amin))
    log_mel = _mel_power(power[rows], config)
    np.maximum(log_mel, config.amin, out=log_mel)
    np.log10(log_mel, out=log_mel)
    peak = float(log_mel.max(initial=floor))   # every value is >= floor, the silent frames' too
    np.maximum(log_mel, peak - config.top_db / 10.0, out=log_mel)
    out = np.empty((len(power), config.n_mfcc), np.float32)
    np.matmul(log_mel, dct, out=out[rows])
    if rows.stop - rows.start < len(power):
        silent_row = np.full((1, config.n_mels), max(floor, peak - config.top_db / 10.0), np.float32) @ dct
        out[:rows.start] = silent_row
        out[rows.stop:] = silent_row
    return out


def features(audio: np.ndarray, config: Optional[FeatureConfig] = None) -> np.ndarray:
    """The model's input for mono audio at ``config.sample_rate``: trim, normalise, fit, MFCC (and, with
    ``config.prosody``, the :mod:`edge_runtime.prosody` columns), shape ``(n_frames, n_features)``.

    >>> cfg = FeatureConfig(prosody=True)
    >>> t = np.arange(cfg.sample_rate) / cfg.sample_rate
    >>> features(0.5 * np.sin(2 * np.pi * 220 * t), cfg).shape
    (200, 43)
    """
    config = config or FeatureConfig()
    window = prepare_window(audio, config)
    out = mfcc(window, config.sample_rate, config)
    if not config.prosody:
        return out
    from .prosody import prosody  # imports this module (the Hann window)
    return np.concatenate([out, prosody(window, config)], axis=1)
