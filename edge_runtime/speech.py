"""Is it speech at all? A cheap check on the MFCC window the model is about to see.

Anything loud enough would otherwise get an emotion: a 440 Hz tone came out
``sad 0.92``. Speech differs from tones, hum, chirps, steady noise and clicks in
ways four numbers of the window's log-mel spectrum show (recovered from the
MFCCs with the transposed orthonormal DCT, so nothing is computed twice; the
bands centred below ``min_hz`` are left out, so loud 50/60 Hz mains hum under a
voice does not make it look like a steady tone):

* **active time** — frames within ``active_db`` of the loudest: a word lasts
  longer than a click or a single sample;
* **spectral change** — the median distance between consecutive frames'
  cepstra (c1..): syllables change the spectrum every few tens of ms, a tone,
  a chord, hum or a slow chirp hardly does;
* **loudness modulation** — the spread (dB) of active frames' energy: speech
  rises and falls at the syllable rate, steady noise does not;
* **spectral peaks** — how far the strongest mel band stands above the
  frame's mean (dB, median over frames): voiced speech has formants and
  harmonics, white or pink noise a flat spectrum.

The thresholds are set so that the clean clips of every shared corpus pass (``tests/test_speech_check.py``
checks a sample of each; the benchmark report counts the clips each corpus loses), while every synthetic
signal of :func:`benchmarks.signals.non_speech` (tones, square waves, chirps, hum, white and pink noise,
clicks, a single sample, noise bursts) does not. Brown noise and a harmonic tone with vibrato and tremolo
still pass: they look like speech in these four numbers, and the measures that separate them also refuse
real TurEV-DB words (docs/experiments.md). They hold for the default :class:`FeatureConfig`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .config import FeatureConfig
from .features import dct_matrix


class NotSpeechError(ValueError):
    """The audio is loud enough but is not speech (a tone, hum, noise, a click, too short)."""


@dataclass(frozen=True)
class SpeechCheck:
    """Thresholds of :func:`not_speech_reason` (see the module's docstring)."""

    active_db: float = 25.0
    min_active_seconds: float = 0.15   # TurEV-DB's single words hold 0.16 s of sound at the least
    min_change: float = 18.5
    min_modulation_db: float = 1.5
    min_peak_db: float = 12.0
    min_hz: float = 120.0      # mel bands centred below this are left out: mains hum (50/60 Hz) is not a voice


@dataclass(frozen=True)
class SpeechEvidence:
    """The four numbers the check compares with its thresholds."""

    active_seconds: float
    change: float
    modulation_db: float
    peak_db: float


def _band_centres(config: FeatureConfig) -> np.ndarray:
    """Centre frequency (Hz) of each mel band of ``config``."""
    from .features import mel_frequencies

    edges = mel_frequencies(config.n_mels, config.fmin, config.fmax)   # n_mels + 2 edges
    return edges[1:-1]


def speech_evidence(mfcc: np.ndarray, config: FeatureConfig, check: SpeechCheck = SpeechCheck()) -> SpeechEvidence:
    """Measure one ``(n_frames, n_features)`` window (as :func:`edge_runtime.features.features` returns it; only
    its MFCC columns are read)."""
    mfcc = np.asarray(mfcc, dtype=np.float64)[:, :config.n_mfcc]
    log_mel = mfcc @ dct_matrix(mfcc.shape[1], config.n_mels)            # dB, the part the MFCCs keep
    log_mel = log_mel[:, _band_centres(config) >= check.min_hz]
    energy = 10.0 * np.log10(np.sum(10.0 ** (log_mel / 10.0), axis=1))   # dB per frame
    active = energy > energy.max() - check.active_db
    both = active[1:] & active[:-1]
    cepstra = log_mel @ dct_matrix(log_mel.shape[1], log_mel.shape[1]).T      # of the bands kept
    steps = np.sqrt(np.sum(np.diff(cepstra[:, 1:], axis=0) ** 2, axis=1))[both]
    peaks = (log_mel.max(axis=1) - log_mel.mean(axis=1))[active]
    return SpeechEvidence(active_seconds=float(active.sum() * config.hop_length / config.sample_rate),
                          change=float(np.median(steps)) if steps.size else 0.0,
                          modulation_db=float(energy[active].std()),
                          peak_db=float(np.median(peaks)))


def not_speech_reason(mfcc: np.ndarray, config: FeatureConfig, check: SpeechCheck = SpeechCheck()) -> Optional[str]:
    """``None`` for speech, else a short reason why the window is not speech.

    >>> from edge_runtime.features import features
    >>> cfg = FeatureConfig()
    >>> t = np.arange(2 * cfg.sample_rate) / cfg.sample_rate
    >>> not_speech_reason(features(0.5 * np.sin(2 * np.pi * 440 * t), cfg), cfg)
    'a steady tone or hum (the spectrum hardly changes)'
    """
    e = speech_evidence(mfcc, config, check)
    if e.active_seconds < check.min_active_seconds:
        return f"too short ({e.active_seconds:.2f} s of sound; a word takes at least {check.min_active_seconds:g} s)"
    if e.change < check.min_change:
        return "a steady tone or hum (the spectrum hardly changes)"
    if e.modulation_db < check.min_modulation_db:
        return "steady noise (the loudness does not rise and fall like syllables)"
    if e.peak_db < check.min_peak_db:
        return "noise (no formants or harmonics in the spectrum)"
    return None
