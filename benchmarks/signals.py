"""Synthetic sounds that are not speech, for the speech check's tests and benchmark."""
from __future__ import annotations

import numpy as np

SR = 16000


def non_speech() -> dict:
    """Synthetic signals a microphone may hear that are not speech, 3 s each unless said."""
    t = np.arange(3 * SR) / SR
    rng = np.random.default_rng(0)
    white = rng.standard_normal(len(t))
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    pink = np.fft.irfft(spectrum, len(t))
    return {
        "tone 440 Hz": 0.5 * np.sin(2 * np.pi * 440 * t),
        "tone 100 Hz": 0.5 * np.sin(2 * np.pi * 100 * t),
        "tone 3 kHz": 0.5 * np.sin(2 * np.pi * 3000 * t),
        "square 220 Hz": 0.3 * np.sign(np.sin(2 * np.pi * 220 * t)),
        "chord": sum(0.2 * np.sin(2 * np.pi * f * t) for f in (262, 330, 392)),
        "chirp 100-4000 Hz": 0.5 * np.sin(2 * np.pi * (100 * t + 3900 / 6 * t**2)),
        "mains hum": 0.3 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t),
        "tone pulsing at 4 Hz": 0.5 * np.sin(2 * np.pi * 300 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)),
        "white noise": 0.3 * white / white.std(),
        "pink noise": 0.3 * pink / pink.std(),
        "noise bursts": 0.3 * white / white.std() * (np.sin(2 * np.pi * 3 * t) > 0),
        "clicks": np.where(np.arange(len(t)) % 8000 < 20, 0.8, 0.0),
        "one sample": np.r_[np.zeros(800), [0.9], np.zeros(800)],
        "0.1 s of noise": np.r_[np.zeros(8000), 0.5 * white[:1600], np.zeros(8000)],
    }
