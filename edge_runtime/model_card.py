"""The sidecar ``model.json`` that travels with every ``.tflite`` file, and the bundled models.

It holds what the device needs to feed the model: the label order, the feature
configuration and the input normalisation. A model whose configuration this
runtime cannot reproduce is refused with :class:`ModelError`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .config import FEATURE_PIPELINE_VERSION, FeatureConfig

#: Feature pipeline versions this runtime reproduces (version 1 had no DC removal or high-pass).
SUPPORTED_VERSIONS = (1, FEATURE_PIPELINE_VERSION)

#: Folder of the models shipped inside the package.
BUNDLED_DIR = Path(__file__).resolve().parent / "models"
#: Names accepted in place of a path: the bundled files.
BUNDLED = {"int8": "model_int8.tflite", "float32": "model_float32.tflite"}
SIDECAR = "model.json"
#: Version of the ``model.json`` schema written by :func:`build_card` (1: before corpora and evaluation).
CARD_FORMAT = 2
SUPPORTED_FORMATS = (1, 2)


class ModelError(Exception):
    """A model file or its sidecar is missing, unreadable or incompatible with this runtime."""


@dataclass(frozen=True)
class ModelCard:
    """A ``.tflite`` path with the metadata read from its sidecar."""

    path: Path
    labels: tuple[str, ...]
    feature_config: FeatureConfig
    mean: np.ndarray
    std: np.ndarray
    variant: str
    training: dict
    evaluation: dict = dataclasses.field(default_factory=dict)

    def normalise(self, features: np.ndarray) -> np.ndarray:
        """The model's input: ``(mfcc - mean) / std`` per coefficient, float32."""
        return ((features - self.mean) / self.std).astype(np.float32)


def build_card(*, members: int, feature_config: FeatureConfig, mean: np.ndarray, std: np.ndarray, files: dict,
               training: dict, verification: dict, evaluation: Optional[dict] = None) -> dict:
    """The ``model.json`` dictionary: the one place its fields are named (the converter writes it, :func:`load_card`
    reads it). ``training`` says what the model learned from (protocol, corpora with their clip counts and
    licences); ``evaluation`` holds held-out figures of runs made with the same recipe."""
    return {
        "format": CARD_FORMAT, "model": "cnn_gru_attention", "members": members,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "labels": list(feature_config.labels), "feature_config": feature_config.to_dict(),
        "input_normalisation": {"description": "model input = (mfcc - mean) / std, per coefficient, in float",
                                "mean": np.asarray(mean).tolist(), "std": np.asarray(std).tolist()},
        "files": files, "training": training, "evaluation": evaluation or {}, "verification": verification,
    }


def save_card(card: dict, folder: Union[str, Path]) -> Path:
    """Write ``card`` as ``folder/model.json``."""
    path = Path(folder) / SIDECAR
    path.write_text(json.dumps(card, indent=2) + "\n")
    return path


def resolve_model_path(model: Optional[Union[str, Path]] = None) -> Path:
    """``None`` -> the bundled int8 file; ``"int8"``/``"float32"`` -> that bundled file; else the path."""
    if model is None:
        model = "int8"
    if isinstance(model, str) and model in BUNDLED:
        return BUNDLED_DIR / BUNDLED[model]
    return Path(model)


def load_card(model: Optional[Union[str, Path]] = None) -> ModelCard:
    """Read and check the sidecar of ``model`` (see :func:`resolve_model_path`).

    >>> card = load_card()
    >>> card.variant, card.labels[0], card.feature_config.n_mfcc
    ('int8', 'neutral', 40)
    """
    path = resolve_model_path(model)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if path.suffix != ".tflite":
        raise ModelError(f"{path}: expected a .tflite file")
    sidecar = path.with_suffix(".json") if path.with_suffix(".json").is_file() else path.parent / SIDECAR
    if not sidecar.is_file():
        raise ModelError(f"{path}: no {SIDECAR} beside it (the converter writes one; it holds labels and features)")
    try:
        meta = json.loads(sidecar.read_text())
        if meta.get("format", 1) not in SUPPORTED_FORMATS:
            raise ModelError(f"{sidecar}: model card format {meta.get('format')} is not one this runtime reads "
                             f"({', '.join(map(str, SUPPORTED_FORMATS))}); upgrade the package")
        config = FeatureConfig.from_dict(meta["feature_config"])
        norm = meta["input_normalisation"]
        mean = np.asarray(norm["mean"], dtype=np.float32)
        std = np.asarray(norm["std"], dtype=np.float32)
        labels = tuple(meta["labels"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelError(f"{sidecar}: unusable model metadata ({type(err).__name__}: {err})") from None
    if config.version not in SUPPORTED_VERSIONS:
        raise ModelError(f"{path}: made for feature pipeline version {config.version}, this runtime implements "
                         f"versions {', '.join(map(str, SUPPORTED_VERSIONS))}; upgrade the package or reconvert "
                         f"the model")
    if labels != config.labels:
        raise ModelError(f"{sidecar}: labels differ from the feature config's labels")
    if mean.shape != (config.n_features,) or std.shape != (config.n_features,) or np.any(std <= 0):
        raise ModelError(f"{sidecar}: input normalisation must hold {config.n_features} means and positive stds")
    entry = next(((name, e) for name, e in meta.get("files", {}).items() if e.get("file") == path.name), None)
    variant = entry[0] if entry else "unknown"
    if entry and entry[1].get("sha256"):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry[1]["sha256"]:
            raise ModelError(f"{path}: contents differ from the SHA-256 in {sidecar.name} (corrupted or replaced; "
                             f"reinstall or reconvert it)")
    return ModelCard(path=path, labels=labels, feature_config=config, mean=mean, std=std, variant=variant,
                     training=meta.get("training", {}), evaluation=meta.get("evaluation", {}))
