"""Training batches with on-the-fly feature augmentation (SpecAugment-style).

The waveform augmentation (:mod:`train.augment`) makes 4 fixed copies of each
training clip; on top of that, every batch draws fresh random time shifts,
time masks and coefficient masks, so the network never sees the exact same
matrix twice. Masked cells are set to the training mean, which the model's
``Normalization`` layer maps to zero. Validation and test data never pass
through here. With ``weights`` (see :mod:`train.sampling`) an epoch is
``epoch_size`` examples drawn with replacement in proportion to them.
"""
from __future__ import annotations

import math
from typing import Optional

import keras
import numpy as np

from .hparams import SpecAugmentConfig


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled, augmented ``(x, one_hot_y)`` batches for ``model.fit``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, n_classes: int, batch_size: int,
                 fill: np.ndarray, config: SpecAugmentConfig, seed: int = 0,
                 weights: Optional[np.ndarray] = None, epoch_size: Optional[int] = None):
        super().__init__()
        self.x, self.y = x, keras.utils.to_categorical(y, n_classes).astype(np.float32)
        self.batch_size, self.fill, self.config = batch_size, fill.astype(np.float32), config
        self.rng = np.random.default_rng(seed)
        self.p = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
        self.epoch_size = int(epoch_size or len(x))
        self.order = self._draw()

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
        for i in range(n):
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
        return x, y
