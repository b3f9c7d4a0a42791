"""Pitch and voicing contours of one model window, in numpy (the device computes them as the trainer does).

Each MFCC frame gets three more values, from the normalised autocorrelation of a Hann-windowed frame of
:data:`FRAME` samples centred where the MFCC frame is (Boersma 1993: the frame's autocorrelation divided by
the window's, which undoes the window's taper, so a periodic frame peaks near 1 at its period). The frame is
longer than the MFCC's 32 ms so that it holds several periods of a low voice: at lags near the frame's
length the window's own autocorrelation is small, and dividing by it would turn noise into false voicing.

- ``voicing``: the highest normalised autocorrelation at a lag between ``1 / F0_MAX`` and ``1 / F0_MIN``,
  in percent (0 for silent frames);
- ``pitch``: the F0 of that lag in tenths of a semitone above 100 Hz, for voiced frames (``voicing`` >=
  ``VOICED``), else 0;
- ``relative_pitch``: the same, relative to the median F0 of the window's voiced frames: the contour
  with the speaker's register taken out, else 0.

The units keep all three inside the range of the MFCCs (about -570 to 160), so one int8 input scale
serves both without flattening the contours.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .config import PROSODY_COLUMNS, FeatureConfig
from .features import hann_window
from .preprocess import centred_frames, nonzero_span, touched_frames

#: The F0 range searched, in Hz.
F0_MIN, F0_MAX = 70.0, 500.0
#: Samples in one pitch analysis frame at 16 kHz (64 ms: four and a half periods of 70 Hz); scaled with the rate.
FRAME_SECONDS = 0.064
#: Normalised autocorrelation at or above which a frame counts as voiced.
VOICED = 0.5
#: A frame more than this many dB below the window's loudest frame counts as silent.
SILENT_DB = 40.0
#: Per octave of lag above the shortest, subtracted from a candidate's score: prefers the true period to its multiples.
OCTAVE_COST = 0.05
#: Voiced frames in the running median of the pitch (an odd number; 1 switches it off).
SMOOTH = 5


@lru_cache(maxsize=8)
def _window_autocorrelation(n: int) -> np.ndarray:
    """Autocorrelation of the ``n``-sample Hann window, normalised to 1 at lag 0, lags ``0 .. n - 1``."""
    w = hann_window(n, n)
    r = np.fft.irfft(np.abs(np.fft.rfft(w, 2 * n)) ** 2)[:n]
    r = r / r[0]
    r.setflags(write=False)
    return r


def prosody(window: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Voicing, pitch and relative pitch of each frame of a prepared window, shape ``(frames, 3)``, float32.

    ``window`` is mono audio at ``config.sample_rate``, prepared as for the MFCC
    (:func:`edge_runtime.preprocess.prepare_window`).

    >>> cfg = FeatureConfig()
    >>> t = np.arange(cfg.window_samples) / cfg.sample_rate
    >>> p = prosody(0.5 * np.sign(np.sin(2 * np.pi * 200 * t)), cfg)   # a 200 Hz buzz
    >>> p.shape, bool(np.median(p[:, 0]) > 90), round(float(np.median(p[:, 1])))   # one octave above 100 Hz
    ((200, 3), True, 120)
    >>> float(np.abs(p[:, 2]).max()) < 2.0   # a steady pitch: the relative contour stays within 0.2 semitone
    True
    """
    sr = config.sample_rate
    n = int(round(FRAME_SECONDS * sr))
    lo, hi = int(np.ceil(sr / F0_MAX)), min(int(sr / F0_MIN), n // 2)
    frames = centred_frames(window, n, config.hop_length)   # n even: centred where the MFCC frames are
    out = np.zeros((len(frames), len(PROSODY_COLUMNS)), np.float32)
    span = nonzero_span(np.asarray(window))
    if span is None:
        return out
    # Only frames that touch a sample: a short clip's zero padding is silent, its columns 0.
    rows = touched_frames(span, n, config.hop_length, len(frames))
    first, last = rows.start, rows.stop
    # Zero-padded to a length where lags up to hi + 1 do not wrap around: the linear autocorrelation there.
    size = 256 * -(-(n + hi + 2) // 256)
    spectrum = np.fft.rfft(frames[first:last] * hann_window(n, n), size, axis=1)
    ac = np.fft.irfft(spectrum.real ** 2 + spectrum.imag ** 2, size, axis=1)[:, :hi + 2]
    energy = ac[:, 0]
    loud = energy > max(float(energy.max()), 1e-20) * 10.0 ** (-SILENT_DB / 10.0)

    lags = np.arange(lo, hi + 1)
    norm = ac[:, lo - 1:hi + 2] / np.maximum(energy, 1e-20)[:, None] / _window_autocorrelation(n)[lo - 1:hi + 2]
    score = norm[:, 1:-1] - OCTAVE_COST * np.log2(lags / lo)
    best = np.argmax(score, axis=1)
    rows = np.arange(len(norm))
    # A parabola through the peak and its neighbours refines the lag below one sample.
    left, mid, right = norm[rows, best], norm[rows, best + 1], norm[rows, best + 2]
    curve = left - 2.0 * mid + right
    shift = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1.0), 0.0)
    voicing = np.where(loud, np.clip(mid, 0.0, 1.0), 0.0)
    voiced = voicing >= VOICED
    semitones = 12.0 * np.log2(sr / (lags[best] + np.clip(shift, -0.5, 0.5)) / 100.0)

    part = out[first:last]
    part[:, 0] = 100.0 * voicing
    if voiced.any():
        pitch = running_median(semitones[voiced], SMOOTH)
        part[voiced, 1] = 10.0 * pitch
        part[voiced, 2] = 10.0 * (pitch - np.median(pitch))
    return out


def running_median(x: np.ndarray, width: int) -> np.ndarray:
    """Median of each value and its neighbours (``width`` in all, odd; edges repeated): removes lone octave jumps.

    >>> running_median(np.array([1.0, 1.0, 13.0, 1.0, 2.0]), 3).tolist()
    [1.0, 1.0, 1.0, 2.0, 2.0]
    """
    half = width // 2
    if len(x) < 2 or half == 0:
        return np.asarray(x, dtype=np.float64)
    padded = np.pad(np.asarray(x, dtype=np.float64), half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, width), axis=1)
