"""Training batches with on-the-fly feature augmentation (SpecAugment-style).

The waveform augmentation (:mod:`train.augment`) makes 4 fixed copies of each
training clip; on top of that, every batch draws fresh random time shifts,
time masks and coefficient masks, so the network never sees the exact same
matrix twice. Masked cells are set to the training mean, which the model's
``Normalization`` layer maps to zero. Validation and test data never pass
through here. With ``weights`` (see :mod:`train.sampling`) an epoch is
``epoch_size`` examples drawn with replacement in proportion to them.

Frequency masks (``mel_masks``) work in the mel domain, as in SpecAugment, not
on cepstral coefficients: the MFCCs are projected back to log-mel bands with
the transposed orthonormal DCT, ``w`` adjacent bands are lowered to the frame's
quietest band, and the result is projected forward again (half of the masks
start at the lowest or highest band, like a microphone with a narrower band).
Random microphones (``eq_prob``) and rooms (``reverb_prob``) work in the same
log-mel domain, see :mod:`train.channel`, and so do random speakers
(``speaker_prob``: vocal tract length and register, see :mod:`train.speaker`).
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

import keras

from edge_runtime.config import FeatureConfig
from edge_runtime.features import dct_matrix

from .channel import apply_gain, band_centres, random_eq_db, reverberate
from .hparams import SpecAugmentConfig
from .speaker import shift_register, warp_speaker


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented ``(x, one_hot_y)`` batches for ``model.fit``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int,
                 fill: np.ndarray, config: SpecAugmentConfig, seed: int = 0,
                 feature_config: FeatureConfig = FeatureConfig(), weights: Optional[np.ndarray] = None,
                 epoch_size: Optional[int] = None):
        super().__init__()
        self.x, self.y = x, keras.utils.to_categorical(y, n_classes).astype(np.float32)
        self.batch_size, self.fill, self.config = batch_size, fill.astype(np.float32), config
        self.rng = np.random.default_rng(seed)
        self.p = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
        self.epoch_size = int(epoch_size or len(x))
        self.order = self._draw()
        self.feature_config = feature_config
        self.dct = dct_matrix(feature_config.n_mfcc, feature_config.n_mels).astype(np.float32)   # orthonormal
        self.band_hz = band_centres(feature_config)

    def __len__(self) -> int:
        return math.ceil(self.epoch_size / self.batch_size)

    def _draw(self) -> np.ndarray:
        """One epoch's example order: drawn with replacement by ``weights``, else a shuffle of every example."""
        if self.p is not None:
            return self.rng.choice(len(self.x), size=self.epoch_size, p=self.p)
        reps = -(-self.epoch_size // len(self.x))
        return np.concatenate([self.rng.permutation(len(self.x)) for _ in range(reps)])[:self.epoch_size]

    def on_epoch_end(self) -> None:
        self.order = self._draw()

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        x, y = self.x[rows].copy(), self.y[rows].copy()
        c, rng = self.config, self.rng
        n, frames, coefs = x.shape
        k = self.feature_config.n_mfcc     # the channel and mel masks touch the MFCCs, not prosody columns
        for i in range(n):
            if c.speaker_prob and rng.random() < c.speaker_prob:
                x[i] = self._speaker(x[i])
            if c.eq_prob or c.reverb_prob:
                x[i, :, :k] = self._channel(x[i, :, :k])
            if c.mel_masks:
                x[i, :, :k] = self._mask_mel_bands(x[i, :, :k])
            if c.max_shift:
                x[i] = np.roll(x[i], rng.integers(-c.max_shift, c.max_shift + 1), axis=0)
            for _ in range(c.time_masks):
                w = rng.integers(0, c.max_time_mask + 1)
                t = rng.integers(0, frames - w + 1)
                x[i, t:t + w] = self.fill
            for _ in range(c.coef_masks):
                w = rng.integers(0, c.max_coef_mask + 1)
                f = rng.integers(1, coefs - w + 1)  # c0 (loudness) is never masked
                x[i, :, f:f + w] = self.fill[f:f + w]
        if c.mixup_alpha > 0:
            lam = rng.beta(c.mixup_alpha, c.mixup_alpha, size=(n, 1)).astype(np.float32)
            lam = np.maximum(lam, 1 - lam)
            perm = rng.permutation(n)
            x = lam[:, :, None] * x + (1 - lam[:, :, None]) * x[perm]
            y = lam * y + (1 - lam) * y[perm]
        return x, y

    def _channel(self, m: np.ndarray) -> np.ndarray:
        """One MFCC matrix heard, perhaps, through a random microphone and in a random room."""
        c, rng, fc = self.config, self.rng, self.feature_config
        eq, room = rng.random() < c.eq_prob, rng.random() < c.reverb_prob
        if not (eq or room):
            return m
        log_mel = (m @ self.dct).astype(np.float64)
        if room:
            log_mel = reverberate(log_mel, rng, fc.sample_rate / fc.hop_length, top_db=fc.top_db)
        if eq:
            log_mel = apply_gain(log_mel, random_eq_db(self.band_hz, rng), top_db=fc.top_db)
        return (log_mel @ self.dct.T).astype(np.float32)

    def _speaker(self, m: np.ndarray) -> np.ndarray:
        """One feature matrix as a random speaker would say it: formants warped, register moved (prosody)."""
        c, fc, k = self.config, self.feature_config, self.feature_config.n_mfcc
        u = self.rng.uniform(-1.0, 1.0)
        out = shift_register(m, u * c.max_register, k) if fc.prosody and c.max_register else m.copy()
        log_mel = (m[:, :k] @ self.dct).astype(np.float64)
        out[:, :k] = (warp_speaker(log_mel, 1.0 + u * c.max_warp, fc) @ self.dct.T).astype(np.float32)
        return out

    def _mask_mel_bands(self, m: np.ndarray) -> np.ndarray:
        """One MFCC matrix with ``mel_masks`` bands of its log-mel spectrum lowered to each frame's floor."""
        c, rng = self.config, self.rng
        log_mel = m @ self.dct                           # (frames, n_mels), the part the MFCCs keep
        floor = log_mel.min(axis=1, keepdims=True)
        n_mels = log_mel.shape[1]
        for _ in range(c.mel_masks):
            w = int(rng.integers(1, c.max_mel_mask + 1))
            edge = rng.random()
            start = 0 if edge < 0.25 else n_mels - w if edge < 0.5 else int(rng.integers(0, n_mels - w + 1))
            log_mel[:, start:start + w] = floor
        return log_mel @ self.dct.T
