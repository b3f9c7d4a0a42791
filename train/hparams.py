"""Hyper-parameters of the model and of batch augmentation (no TensorFlow import)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, Mapping

from edge_runtime.config import fields_from


class ConfigError(ValueError):
    """A training setting out of its range (a user error: the CLI prints it in one line)."""


#: The modes of train.model.UtteranceNorm: a clip's mean over time removed, or the centred frames beside the raw ones.
UTTERANCE_NORM_MODES = ("subtract", "contrast")
#: ModelConfig.utterance_norm: "none" (no UtteranceNorm layer) or one of its modes.
UTTERANCE_NORMS = ("none", *UTTERANCE_NORM_MODES)


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and regularisation of the CNN-GRU-attention model.

    The dropouts suit the three corpora together. The RAVDESS-only recipe's (conv 0.3, dense 0.4,
    input 0.1) left the multi-corpus model underfitted (docs/training.md, "Regularisation, measured").
    """

    conv_filters: tuple[int, int] = (128, 128)
    kernel_sizes: tuple[int, int] = (5, 3)
    pool_sizes: tuple[int, int] = (2, 4)   # 200 frames -> 25 GRU steps of 64 ms
    conv_dropout: float = 0.1
    gru_units: int = 128
    attention_units: int = 64
    dense_dropout: float = 0.2
    l2: float = 1e-4
    input_dropout: float = 0.0
    utterance_norm: str = "none"   # "subtract" / "contrast": each clip's mean over time removed (train.model.UtteranceNorm)

    def to_dict(self) -> dict:
        """Plain-JSON dictionary."""
        return json.loads(json.dumps(asdict(self)))

    def __post_init__(self) -> None:
        if self.utterance_norm not in UTTERANCE_NORMS:
            raise ConfigError(f"utterance_norm is one of {', '.join(UTTERANCE_NORMS)}; got {self.utterance_norm!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        """Inverse of :meth:`to_dict` (JSON lists become tuples); unknown keys are an error.

        A run saved before ``utterance_norm`` existed had none, whatever today's default is.
        """
        return cls(**fields_from(cls, {"utterance_norm": "none", **data}, "model"))


#: Named member recipes for a mixed ensemble (``TrainConfig.recipes``, ``--recipes``): what a member changes
#: in the run's :class:`ModelConfig` and :class:`SpecAugmentConfig`. Members that differ in more than their
#: seed make errors that differ more, so their mean is right more often (docs/training.md).
RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "default": {},
    "deep": {"model": {"conv_filters": (128, 128, 128), "kernel_sizes": (5, 3, 3), "pool_sizes": (2, 2, 2)}},
    "mixup": {"spec_augment": {"mixup_alpha": 0.2}},
    "speakers": {"spec_augment": {"speaker_prob": 0.5}},
    "channel": {"spec_augment": {"eq_prob": 0.5, "reverb_prob": 0.25}},   # random microphones and rooms
}


def member_configs(recipe: str, model: "ModelConfig", spec: "SpecAugmentConfig") -> tuple["ModelConfig",
                                                                                           "SpecAugmentConfig"]:
    """The run's model and batch-augmentation settings as the named recipe changes them.

    >>> m, s = member_configs("deep", ModelConfig(), SpecAugmentConfig())
    >>> m.conv_filters, s.mixup_alpha, member_configs("mixup", m, s)[1].mixup_alpha
    ((128, 128, 128), 0.0, 0.2)
    >>> c = member_configs("channel", ModelConfig(), SpecAugmentConfig())[1]
    >>> c.eq_prob, c.reverb_prob, c.speaker_prob
    (0.5, 0.25, 0.0)
    """
    if recipe not in RECIPES:
        raise ConfigError(f"unknown member recipe {recipe!r}; one of {', '.join(RECIPES)}")
    changes = RECIPES[recipe]
    return replace(model, **changes.get("model", {})), replace(spec, **changes.get("spec_augment", {}))


@dataclass(frozen=True)
class SpecAugmentConfig:
    """How strongly each training batch is perturbed; zeros switch a perturbation off."""

    max_shift: int = 20        # frames, circular roll either way
    time_masks: int = 2
    max_time_mask: int = 20    # frames per mask
    coef_masks: int = 1
    max_coef_mask: int = 6     # MFCC coefficients per mask
    mixup_alpha: float = 0.0   # 0 = no mixup
    mel_masks: int = 0         # SpecAugment frequency masks in the mel domain (see train.batches)
    max_mel_mask: int = 10     # mel bands per mask
    eq_prob: float = 0.0       # share of examples heard through a random microphone (train.channel)
    reverb_prob: float = 0.0   # share of examples put in a random room (train.channel)
    speaker_prob: float = 0.0  # share of examples heard from a random speaker (train.speaker)
    max_warp: float = 0.1      # vocal tract length: formants scaled by 1 +- this at most
    max_register: float = 4.0  # semitones the pitch column moves with the largest warp (prosody runs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SpecAugmentConfig":
        """From ``run_config.json``; unknown keys are an error."""
        return cls(**fields_from(cls, data, "spec_augment"))

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_warp < 0.5:
            raise ConfigError(f"max_warp scales formants by 1 +- it: from 0 to below 0.5; got {self.max_warp}")
        for name in ("eq_prob", "reverb_prob", "speaker_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} is a share of examples, from 0 to 1; got {getattr(self, name)}")
