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
from .speaker_norm import normalise_speaker

#: Folder of the models shipped inside the package.
BUNDLED_DIR = Path(__file__).resolve().parent / "models"
#: Names accepted in place of a path: the bundled files.
BUNDLED = {"int8": "model_int8.tflite", "float32": "model_float32.tflite"}
#: How the corpora a card names (``training.corpora``) are written for people.
CORPUS_NAMES = {"ravdess": "RAVDESS speech", "ravdess-song": "RAVDESS song", "crema-d": "CREMA-D", "ased": "ASED",
                "emovo": "EMOVO", "turev": "TurEV-DB"}
#: The bundled speaker-adapted companion model (the companion recipe), see :mod:`edge_runtime.adaptive`.
COMPANION_DIR = BUNDLED_DIR / "speaker_norm"
#: A speaker's statistics are used once this many of their windows have been heard: one per file (classify
#: --same-speaker) or per utterance a stream cuts at its pauses (how it was chosen: docs/experiments.md).
ENROL_WINDOWS = 10
#: Weight of the speaker-adapted model's scores in the average with the default model's, once enrolled.
ADAPT_WEIGHT = 0.667
SIDECAR = "model.json"
#: Version of the ``model.json`` schema written by :func:`build_card`, the one this runtime reads.
CARD_FORMAT = 2


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
    speaker_norm: Optional[dict] = None
    temperature: float = 1.0     # the card's ``calibration``: scores become p ** (1 / T), renormalised

    def calibrate(self, probs: np.ndarray) -> np.ndarray:
        """Class probabilities tempered by :attr:`temperature` (fitted on held-out speakers, see
        ``benchmarks/calibration.py``), so that a confidence of 0.7 is right about 7 times in 10; the ranking is
        unchanged.

        >>> card = dataclasses.replace(load_card(), temperature=2.0)
        >>> card.calibrate(np.array([0.81, 0.09, 0.09, 0.01])).round(3).tolist()
        [0.562, 0.188, 0.188, 0.063]
        """
        if self.temperature == 1.0:
            return probs
        with np.errstate(divide="ignore"):
            logp = np.log(np.maximum(probs, 1e-12)) / self.temperature
        tempered = np.exp(logp - logp.max())
        return tempered / tempered.sum()

    def normalise(self, features: np.ndarray, speaker: Optional[tuple] = None) -> np.ndarray:
        """The model's input: ``(mfcc - mean) / std`` per coefficient, float32.

        A model trained with ``train.speaker_norm`` (the companion recipe) first standardises the MFCC columns with the speaker's
        ``(mean, std)`` (``speaker``; without it, the training population's average, which costs accuracy:
        see :class:`edge_runtime.adaptive.AdaptiveClassifier`). Other models ignore ``speaker``.
        """
        if self.speaker_norm is not None:
            if speaker is None:
                speaker = (self.speaker_norm["population_mean"], self.speaker_norm["population_std"])
            features = normalise_speaker(features, *speaker)
        return ((features - self.mean) / self.std).astype(np.float32)


def build_card(*, members: int, feature_config: FeatureConfig, mean: np.ndarray, std: np.ndarray, files: dict,
               training: dict, verification: dict, evaluation: Optional[dict] = None,
               speaker_norm: Optional[dict] = None) -> dict:
    """The ``model.json`` dictionary: the one place its fields are named (the converter writes it, :func:`load_card`
    reads it). ``training`` says what the model learned from (protocol, corpora with their clip counts and
    licences); ``evaluation`` holds held-out figures of runs made with the same recipe; ``speaker_norm`` (a model
    of the companion recipe) the speaker standardisation it expects before the input normalisation."""
    card = {
        "format": CARD_FORMAT, "model": "cnn_gru_attention", "members": members,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "labels": list(feature_config.labels), "feature_config": feature_config.to_dict(),
        "input_normalisation": {"description": "model input = (mfcc - mean) / std, per coefficient, in float",
                                "mean": np.asarray(mean).tolist(), "std": np.asarray(std).tolist()},
        "files": files, "training": training, "evaluation": evaluation or {}, "verification": verification,
    }
    if speaker_norm is not None:
        card["speaker_norm"] = speaker_norm
    return card


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
        if meta.get("format") != CARD_FORMAT:
            raise ModelError(f"{sidecar}: model card format {meta.get('format')} is not the one this runtime reads "
                             f"({CARD_FORMAT}); reconvert the model or use the package that made it")
        version = meta["feature_config"].get("version")
        if version != FEATURE_PIPELINE_VERSION:
            raise ModelError(f"{path}: made for feature pipeline version {version}, this runtime implements "
                             f"version {FEATURE_PIPELINE_VERSION}; upgrade the package or reconvert the model")
        config = FeatureConfig.from_dict(meta["feature_config"])
        norm = meta["input_normalisation"]
        mean = np.asarray(norm["mean"], dtype=np.float32)
        std = np.asarray(norm["std"], dtype=np.float32)
        labels = tuple(meta["labels"])
        speaker_norm = _speaker_norm_block(meta.get("speaker_norm"), config)
        temperature = float(meta.get("calibration", {}).get("temperature", 1.0))
        if not 0.05 <= temperature <= 20.0:
            raise ValueError(f"calibration temperature {temperature} is outside 0.05-20")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ModelError(f"{sidecar}: unusable model metadata ({type(err).__name__}: {err})") from None
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
                     training=meta.get("training", {}), evaluation=meta.get("evaluation", {}),
                     speaker_norm=speaker_norm, temperature=temperature)


def _speaker_norm_block(block: Optional[dict], config: FeatureConfig) -> Optional[dict]:
    """The card's ``speaker_norm`` block with its statistics as float arrays, checked; ``None`` if absent."""
    if block is None:
        return None
    columns = int(block["columns"])
    mean = np.asarray(block["population_mean"], dtype=np.float64)
    std = np.asarray(block["population_std"], dtype=np.float64)
    if not 0 < columns <= config.n_features or mean.shape != (columns,) or std.shape != (columns,) or np.any(std <= 0):
        raise ValueError(f"speaker_norm must hold {columns} population means and positive stds")
    return {**block, "columns": columns, "population_mean": mean, "population_std": std,
            "enrol_windows": int(block.get("enrol_windows", ENROL_WINDOWS)),
            "weight": float(block.get("weight", ADAPT_WEIGHT))}
