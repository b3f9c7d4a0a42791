"""Hyper-parameters of the model and of batch augmentation (no TensorFlow import)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional

from edge_runtime.config import fields_from


class ConfigError(ValueError):
    """A training setting out of its range (a user error: the CLI prints it in one line)."""


def config_from(cls, data: Mapping[str, Any], what: str):
    """Configuration dataclass ``cls`` from a JSON dictionary (:func:`edge_runtime.config.fields_from`): an unknown
    field or a value out of range is a :class:`ConfigError`. Every training configuration's ``from_dict``."""
    try:
        return cls(**fields_from(cls, data, what))
    except ValueError as err:
        raise ConfigError(str(err)) from None


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (a recipe's ``train`` block) and the protocol of one run (:data:`PROTOCOL_FIELDS`,
    given on the command line, never in a recipe)."""

    protocol: str = "speaker"
    seed: int = 42
    epochs: int = 40
    batch_size: int = 32
    learning_rate: float = 1e-3   # peak of a cosine decay over ``epochs`` to 2 % of it
    patience: int = 12               # early stopping, only with average_last = 0
    average_last: int = 10           # keep the mean weights of the last N epochs (0: best validation epoch)
    label_smoothing: float = 0.1
    test_fraction: float = 0.2       # random protocol only
    val_fraction: float = 0.1        # random protocol only
    test_speakers: Optional[tuple[str, ...]] = None   # None: the protocol's default (see train.splits)
    val_speakers: Optional[tuple[str, ...]] = None
    fold: int = 0                    # speaker protocol: which speakers are held out (0 = the default lists)
    test_corpus: Optional[str] = None   # corpus protocol: the corpus left out
    augment: bool = True             # 4 waveform copies of each training clip (train.augment.VARIANTS)
    include_song: bool = True
    max_clips: Optional[int] = None  # a small, stratified subset for smoke runs
    members: int = 5                 # an ensemble of this many models, seeds differing, scores averaged
    balance: bool = True             # sample training examples so corpora and classes weigh as below
    corpus_power: float = 0.5        # a corpus's share of the draws grows as (its examples) ** corpus_power
    epoch_size: Optional[int] = 8000   # examples drawn per epoch, at most as many as there are (None: all)
    speaker_norm: bool = False       # standardise each speaker's MFCC columns over their own windows (train.speaker_norm)

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ConfigError(f"members must be at least 1, got {self.members}")
        if self.average_last < 0:
            raise ConfigError(f"average_last is a number of epochs, 0 or more; got {self.average_last}")
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of ``asdict`` (JSON lists become tuples); unknown keys are an error."""
        return config_from(cls, data, "train")


#: TrainConfig fields that say which clips train and test, set per run (command line), not by a recipe.
PROTOCOL_FIELDS = ("protocol", "test_speakers", "val_speakers", "fold", "test_corpus", "max_clips")


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and regularisation of the CNN-GRU-attention model (a recipe's ``model`` block)."""

    conv_filters: tuple[int, int] = (128, 128)
    kernel_sizes: tuple[int, int] = (5, 3)
    pool_sizes: tuple[int, int] = (2, 4)   # 200 frames -> 25 GRU steps of 64 ms
    conv_dropout: float = 0.1
    gru_units: int = 128
    attention_units: int = 64
    dense_dropout: float = 0.2
    l2: float = 1e-4
    input_dropout: float = 0.0

    def to_dict(self) -> dict:
        """Plain-JSON dictionary."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        """Inverse of :meth:`to_dict` (JSON lists become tuples); unknown keys are an error."""
        return config_from(cls, data, "model")


@dataclass(frozen=True)
class SpecAugmentConfig:
    """How strongly each training batch is perturbed (a recipe's ``spec_augment`` block); zeros switch a
    perturbation off."""

    max_shift: int = 20        # frames, circular roll either way
    time_masks: int = 2
    max_time_mask: int = 20    # frames per mask
    coef_masks: int = 1
    max_coef_mask: int = 6     # MFCC coefficients per mask

    def to_dict(self) -> dict:
        """Plain-JSON dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SpecAugmentConfig":
        """From ``run_config.json``; unknown keys are an error."""
        return config_from(cls, data, "spec_augment")
