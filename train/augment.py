"""Waveform augmentation for the training split: time stretch, pitch shift, noise.

Each training clip appears ``len(VARIANTS)`` = 4 times: unchanged, time-stretched,
pitch-shifted and with added noise (the seed project's recipe). Parameters are
drawn from a generator seeded by (seed, clip name, variant), so a clip's
augmented copies are the same in every run and in every worker process.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from .hparams import config_from

VARIANTS: tuple[str, ...] = ("clean", "stretch", "pitch", "noise")


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges the augmentation parameters are drawn from (uniformly): a recipe's ``augment`` block; ``seed`` is the
    run's seed."""

    stretch_min: float = 0.8
    stretch_max: float = 1.25
    pitch_semitones: float = 3.0
    min_pitch_semitones: float = 0.5
    snr_db_min: float = 10.0
    snr_db_max: float = 30.0
    seed: int = 0

    def to_json(self) -> str:
        """Stable JSON text (sorted keys)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "AugmentConfig":
        """From ``run_config.json``; unknown keys are an error."""
        return config_from(cls, data, "augment")


def variant_rng(seed: int, clip_name: str, variant: str) -> np.random.Generator:
    """A generator that depends only on its arguments (not on process or order)."""
    digest = hashlib.sha256(f"{seed}:{clip_name}:{variant}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White or pink (1/f power) Gaussian noise of unit RMS, chosen at random."""
    white = rng.standard_normal(n)
    if rng.random() < 0.5:
        spectrum = np.fft.rfft(white)
        f = np.arange(len(spectrum), dtype=np.float64)
        f[0] = 1.0
        white = np.fft.irfft(spectrum / np.sqrt(f), n)
    return white / (np.sqrt(np.mean(white**2)) + 1e-12)


def add_noise(audio: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Add noise at ``snr_db`` relative to the signal's RMS."""
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    noise = coloured_noise(len(audio), rng) * rms * 10.0 ** (-snr_db / 20.0)
    return (audio + noise).astype(np.float32)


def augment(audio: np.ndarray, sample_rate: int, variant: str, rng: np.random.Generator,
            config: AugmentConfig) -> np.ndarray:
    """Return ``audio`` transformed by one variant of :data:`VARIANTS`."""
    import librosa

    if variant == "clean":
        return audio
    if variant == "stretch":
        rate = rng.uniform(config.stretch_min, config.stretch_max)
        return librosa.effects.time_stretch(audio, rate=rate).astype(np.float32)
    if variant == "pitch":
        steps = rng.uniform(config.min_pitch_semitones, config.pitch_semitones) * rng.choice([-1.0, 1.0])
        return librosa.effects.pitch_shift(audio, sr=sample_rate, n_steps=steps).astype(np.float32)
    if variant == "noise":
        return add_noise(audio, rng.uniform(config.snr_db_min, config.snr_db_max), rng)
    raise ValueError(f"unknown augmentation variant {variant!r}; expected one of {VARIANTS}")
