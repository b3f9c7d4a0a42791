"""Random speakers, simulated on the features (a batch augmentation).

The test speakers of every protocol are people the model never heard, and a
user is one more. Two things that differ most between speakers are cheap to
imitate on the features the model already sees:

* the length of the vocal tract scales every formant by one factor (about
  +-10 % between adults of one sex): vocal tract length perturbation (VTLP,
  Jaitly & Hinton 2013) warps the frequency axis of the log-mel spectrum
  piecewise linearly (:func:`vtlp_warp`, :func:`warp_matrix`);
* the register moves every F0 by one interval: the ``pitch`` column of the
  prosody features (tenths of a semitone) shifts on voiced frames, the
  ``relative_pitch`` column (the contour without the register) does not
  (:func:`shift_register`).

One draw ``u`` in [-1, 1] sets both (a shorter tract goes with a higher
voice): the warp factor is ``1 + u * max_warp``, the register shift
``u * max_register`` semitones. The waveform ``pitch`` variant of
:mod:`train.augment` moves formants and F0 by the same ratio; this moves them
by different ones, fresh for every draw of every example.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from edge_runtime.config import PROSODY_COLUMNS, FeatureConfig
from edge_runtime.features import hz_to_mel
from edge_runtime.prosody import VOICED

from .channel import band_centres, relevel

#: Share of the band edge below which VTLP scales linearly (Jaitly & Hinton's F_hi: 4.8 kHz of 8 kHz); above
#: it the warp bends back to map the band edge onto itself.
WARP_KNEE = 0.6


def vtlp_warp(hz: np.ndarray, alpha: float, f_max: float) -> np.ndarray:
    """Where VTLP with factor ``alpha`` moves each frequency ``hz`` (0 .. ``f_max``).

    Below the knee every frequency is multiplied by ``alpha``; above it a straight line joins the knee to
    ``f_max``, which stays where it is, so nothing leaves the band.

    >>> vtlp_warp(np.array([0.0, 1000.0, 8000.0]), 1.1, 8000.0)
    array([   0., 1100., 8000.])
    """
    f = np.asarray(hz, dtype=np.float64)
    knee = WARP_KNEE * f_max * min(alpha, 1.0)
    boundary = knee / alpha
    upper = f_max - (f_max - knee) / (f_max - boundary) * (f_max - f)
    return np.where(f <= boundary, f * alpha, upper)


@lru_cache(maxsize=512)
def warp_matrix(alpha: float, config: FeatureConfig) -> np.ndarray:
    """``(n_mels, n_mels)`` matrix ``W``: ``log_mel @ W`` is ``log_mel`` (frames, bands) of a speaker whose
    formants sit ``alpha`` times higher (linear interpolation between bands on the mel scale).

    >>> w = warp_matrix(1.0, FeatureConfig())
    >>> bool(np.allclose(w, np.eye(64)))
    True
    """
    centres = band_centres(config)
    grid = np.linspace(0.0, config.fmax, 4097)
    source = np.interp(centres, vtlp_warp(grid, alpha, config.fmax), grid)   # the warp's inverse
    position = np.interp(hz_to_mel(source), hz_to_mel(centres), np.arange(len(centres), dtype=np.float64))
    lo = np.floor(position).astype(int)
    hi = np.minimum(lo + 1, len(centres) - 1)
    frac = position - lo
    w = np.zeros((len(centres), len(centres)))
    columns = np.arange(len(centres))
    np.add.at(w, (lo, columns), 1.0 - frac)
    np.add.at(w, (hi, columns), frac)
    w.setflags(write=False)
    return w


def warp_speaker(log_mel: np.ndarray, alpha: float, config: FeatureConfig) -> np.ndarray:
    """``log_mel`` (frames, bands) in dB with its formants ``alpha`` times higher, re-levelled to its peak.

    >>> m = np.full((3, 64), -80.0); m[:, 20] = 0.0                  # one formant, in band 20
    >>> int(np.argmax(warp_speaker(m, 1.1, FeatureConfig())[0]))      # 10 % higher: two bands up
    22
    """
    alpha = round(float(alpha), 3)   # so that warp_matrix's cache holds a few hundred matrices, not one per draw
    return relevel(log_mel, log_mel @ warp_matrix(alpha, config), config.top_db)


def shift_register(x: np.ndarray, semitones: float, n_mfcc: int) -> np.ndarray:
    """Features ``x`` (frames, n_mfcc + 3) with the ``pitch`` column of voiced frames moved by ``semitones``.

    >>> x = np.zeros((2, 43), np.float32); x[0, 40:] = [90, 120, 5]   # a voiced frame, an unvoiced one
    >>> shift_register(x, 2.0, 40)[:, 40:].tolist()
    [[90.0, 140.0, 5.0], [0.0, 0.0, 0.0]]
    """
    voicing = n_mfcc + PROSODY_COLUMNS.index("voicing")
    pitch = n_mfcc + PROSODY_COLUMNS.index("pitch")
    out = x.copy()
    voiced = out[:, voicing] >= 100.0 * VOICED
    out[voiced, pitch] += np.float32(10.0 * semitones)
    return out
