"""Random microphones and rooms, simulated on log-mel spectra (a batch augmentation).

RAVDESS was recorded with one microphone in one studio; a user's microphone
and room are different. Both are cheap to imitate on the features the model
already sees, without touching the waveform:

* a microphone's frequency response (a tilt, a resonance, a band limit) is a
  linear filter: it *adds* a gain curve, in dB, to every frame of the log-mel
  spectrum (:func:`random_eq_db`, :func:`apply_gain`);
* a room smears each band's power forward in time with an exponentially
  decaying tail (:func:`reverberate`).

After either, the spectrum is re-levelled to its old peak (the pipeline
peak-normalises every clip) and clipped ``top_db`` below it, as
``power_to_db`` does. Frames that were pure floor (the zero padding of a short
clip) stay floor. Since the MFCC is an orthonormal DCT of the log-mel
spectrum, :mod:`train.batches` projects MFCCs to log-mel, applies these, and
projects back.
"""
from __future__ import annotations

import numpy as np

from edge_runtime.config import FeatureConfig
from edge_runtime.features import mel_frequencies


def band_centres(config: FeatureConfig) -> np.ndarray:
    """Centre frequency in Hz of each mel band of ``config``.

    >>> band_centres(FeatureConfig()).round()[[0, -1]]
    array([  46., 7626.])
    """
    return mel_frequencies(config.n_mels, config.fmin, config.fmax)[1:-1]


def random_eq_db(freqs: np.ndarray, rng: np.random.Generator, max_tilt_db_per_octave: float = 3.0,
                 lowpass_prob: float = 0.35, lowpass_hz: tuple[float, float] = (2500.0, 7000.0),
                 highpass_prob: float = 0.35, highpass_hz: tuple[float, float] = (80.0, 500.0),
                 peak_prob: float = 0.5, max_peak_db: float = 8.0) -> np.ndarray:
    """A random microphone's gain in dB at ``freqs``: a tilt about 1 kHz, and perhaps a low-pass, a
    high-pass (Butterworth of order 2-4, cut-offs log-uniform in the ranges) and one resonance or notch.

    >>> g = random_eq_db(np.array([100.0, 1000.0, 6000.0]), np.random.default_rng(0))
    >>> g.shape, bool(np.all(np.isfinite(g)))
    ((3,), True)
    """
    f = np.maximum(np.asarray(freqs, dtype=np.float64), 20.0)
    octaves = np.log2(f / 1000.0)
    gain = rng.uniform(-max_tilt_db_per_octave, max_tilt_db_per_octave) * octaves
    if rng.random() < lowpass_prob:
        cutoff, order = np.exp(rng.uniform(*np.log(lowpass_hz))), rng.integers(2, 5)
        gain -= 10 * np.log10(1 + (f / cutoff) ** (2 * order))
    if rng.random() < highpass_prob:
        cutoff, order = np.exp(rng.uniform(*np.log(highpass_hz))), rng.integers(2, 5)
        gain -= 10 * np.log10(1 + (cutoff / f) ** (2 * order))
    if rng.random() < peak_prob:
        centre, width = np.exp(rng.uniform(np.log(200.0), np.log(5000.0))), rng.uniform(0.3, 1.5)
        gain += rng.uniform(-max_peak_db, max_peak_db) * np.exp(-0.5 * (np.log2(f / centre) / width) ** 2)
    return gain


def relevel(before: np.ndarray, after: np.ndarray, top_db: float) -> np.ndarray:
    """``after`` moved to ``before``'s peak and clipped ``top_db`` below it; floor-only frames kept."""
    peak = before.max()
    after = after - (after.max() - peak)
    np.maximum(after, peak - top_db, out=after)
    padding = before.max(axis=1) <= peak - top_db + 1e-3
    after[padding] = before[padding]
    return after


def apply_gain(log_mel: np.ndarray, gain_db: np.ndarray, top_db: float = 80.0) -> np.ndarray:
    """``log_mel`` (frames, bands) in dB heard through a filter of gain ``gain_db`` (bands,).

    >>> m = np.array([[0.0, -10.0], [-80.0, -80.0]])
    >>> apply_gain(m, np.array([0.0, -6.0]))
    array([[  0., -16.],
           [-80., -80.]])
    """
    return relevel(log_mel, log_mel + gain_db, top_db)


def reverberate(log_mel: np.ndarray, rng: np.random.Generator, frame_rate: float,
                rt60_s: tuple[float, float] = (0.2, 0.9), drr_db: tuple[float, float] = (0.0, 12.0),
                top_db: float = 80.0) -> np.ndarray:
    """``log_mel`` (frames, bands) in dB in a random room: each band's power plus an exponentially
    decaying tail (reverberation time uniform in ``rt60_s``, direct-to-reverberant ratio in ``drr_db``).

    >>> m = np.full((50, 4), -60.0); m[10] = 0.0             # a click over a quiet background
    >>> r = reverberate(m, np.random.default_rng(0), frame_rate=62.5)
    >>> bool(r[11, 0] > -30.0), bool(r[9, 0] < -50.0)     # its tail follows it, nothing comes before it
    (True, True)
    """
    power = 10.0 ** (log_mel / 10.0)
    frames_per_tau = rng.uniform(*rt60_s) / (6 * np.log(10)) * frame_rate   # energy falls 60 dB in rt60
    lags = np.arange(1, max(2, int(np.ceil(7 * frames_per_tau))) + 1)
    kernel = np.exp(-lags / frames_per_tau)
    tail = np.zeros_like(power)
    for lag, weight in zip(lags, kernel):
        if lag < len(power):
            tail[lag:] += weight * power[:-lag]
    ratio = power.sum() / max(tail.sum(), 1e-30) * 10.0 ** (-rng.uniform(*drr_db) / 10.0)
    wet = 10.0 * np.log10(np.maximum(power + ratio * tail, 1e-30))
    return relevel(log_mel, wet, top_db)
