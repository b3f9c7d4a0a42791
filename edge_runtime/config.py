"""The one source of truth for the label order and the feature configuration.

Both the trainer (``train``) and the device (``edge_runtime``) read these. A
:class:`FeatureConfig` is serialised as JSON next to every trained model, so a
device can refuse a model whose features it cannot reproduce.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Union

import numpy as np

#: The 8 RAVDESS emotions, in the order of the RAVDESS emotion codes 01..08
#: and of the model's output units.
EMOTIONS: tuple[str, ...] = (
    "neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised",
)

#: The columns appended to the MFCCs when ``FeatureConfig.prosody`` is on (see :mod:`edge_runtime.prosody`).
PROSODY_COLUMNS: tuple[str, ...] = ("voicing", "pitch", "relative_pitch")

#: Version of the feature pipeline implementation. Bump it whenever the meaning
#: of a field changes, so caches and models made before are not silently reused.
FEATURE_PIPELINE_VERSION = 2


def fields_from(cls, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The keyword arguments of dataclass ``cls`` from a JSON ``data`` dictionary: unknown keys are an error,
    JSON lists become tuples. Every configuration's ``from_dict`` goes through here.

    >>> fields_from(FeatureConfig, {"n_mfcc": 20, "labels": ["a", "b"]}, "feature")
    {'n_mfcc': 20, 'labels': ('a', 'b')}
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"unknown {what} config field(s): {', '.join(unknown)}")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


@dataclass(frozen=True)
class FeatureConfig:
    """Everything needed to turn raw audio into the model's input, reproducibly.

    The pipeline, in order (see :mod:`edge_runtime.preprocess`):

    1. mix to mono and resample to ``sample_rate``; with ``remove_dc``,
       subtract the mean (a cheap sound card's DC offset);
    2. trim leading and trailing silence: frames of ``trim_frame_length``
       samples (hop ``trim_hop_length``) whose RMS is more than ``trim_top_db``
       below the loudest frame are cut;
    3. scale to a peak of ``peak_level`` (silence stays silence);
    4. fit to exactly ``window_samples`` samples: a longer clip keeps its
       centre, a shorter one is zero-padded equally on both sides;
    5. MFCC of that window, librosa-compatible: Hann window, ``center=True``
       with zero padding, Slaney mel filterbank with Slaney area norm, power
       spectrum with the bins below ``highpass_hz`` zeroed (DC leakage and
       rumble), ``power_to_db`` with ``top_db`` clipped relative to the
       window's own peak, DCT-II with orthonormal scaling, no lifter;
    6. with ``prosody``, three more columns per frame from the same window:
       voicing, pitch and pitch relative to the window's median
       (:data:`PROSODY_COLUMNS`, computed by :func:`edge_runtime.prosody.prosody`
       on both sides, so there is nothing to hold to parity).

    Because step 5 always sees one fixed-length window, a file and a streaming
    window are treated identically: ``top_db`` is relative to the window.

    Examples
    --------
    >>> cfg = FeatureConfig()
    >>> cfg.n_mfcc, cfg.n_frames, cfg.window_samples, cfg.n_features
    (40, 200, 50944, 40)
    >>> FeatureConfig(prosody=True).n_features
    43
    >>> FeatureConfig.from_json(cfg.to_json()) == cfg
    True
    """

    sample_rate: int = 16000
    n_fft: int = 512
    win_length: int = 512
    hop_length: int = 256
    window: str = "hann"
    center: bool = True
    pad_mode: str = "constant"
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 8000.0
    power: float = 2.0
    amin: float = 1e-10
    top_db: float = 80.0
    n_mfcc: int = 40
    n_frames: int = 200
    trim_top_db: float = 30.0
    trim_frame_length: int = 2048
    trim_hop_length: int = 512
    peak_level: float = 0.95
    remove_dc: bool = True
    highpass_hz: float = 50.0
    prosody: bool = False
    labels: tuple[str, ...] = EMOTIONS
    version: int = FEATURE_PIPELINE_VERSION

    def __post_init__(self) -> None:
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        if self.win_length > self.n_fft:
            raise ValueError("win_length cannot exceed n_fft")
        if not 0 < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"fmax must be in (0, {self.sample_rate / 2}]")
        if not 0.0 <= self.highpass_hz < self.fmax:
            raise ValueError(f"highpass_hz must be in [0, fmax), got {self.highpass_hz}")
        if self.window != "hann" or not self.center or self.pad_mode != "constant":
            raise ValueError("only window='hann', center=True, pad_mode='constant' are implemented")
        object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def highpass_bins(self) -> int:
        """How many of the lowest FFT bins (DC first) lie below ``highpass_hz`` and are zeroed.

        >>> FeatureConfig().highpass_bins   # 0 and 31.25 Hz
        2
        """
        return int(np.ceil(self.highpass_hz * self.n_fft / self.sample_rate - 1e-9)) if self.highpass_hz > 0 else 0

    @property
    def n_features(self) -> int:
        """Columns of the model's input: the MFCCs, then the prosody columns if ``prosody`` is on."""
        return self.n_mfcc + (len(PROSODY_COLUMNS) if self.prosody else 0)

    @property
    def window_samples(self) -> int:
        """Samples in one model window: exactly ``n_frames`` frames with ``center=True``."""
        return self.hop_length * (self.n_frames - 1)

    @property
    def window_seconds(self) -> float:
        """Length of one model window in seconds."""
        return self.window_samples / self.sample_rate

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary of every field."""
        d = dataclasses.asdict(self)
        d["labels"] = list(self.labels)
        return d

    def to_json(self) -> str:
        """Stable JSON text (sorted keys), the form hashed for caches."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureConfig":
        """Build from a dictionary; unknown keys are an error, not ignored (so is a config of another pipeline
        version, whose fields may mean something else: :data:`FEATURE_PIPELINE_VERSION`)."""
        version = data.get("version", 1)
        if version != FEATURE_PIPELINE_VERSION:
            raise ValueError(f"made for feature pipeline version {version}, this code implements version "
                             f"{FEATURE_PIPELINE_VERSION}; retrain or reconvert the model")
        return cls(**fields_from(cls, data, "feature"))

    @classmethod
    def from_json(cls, text: str) -> "FeatureConfig":
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: Union[str, Path]) -> Path:
        """Write the config as JSON to ``path`` and return it."""
        path = Path(path)
        path.write_text(self.to_json() + "\n")
        return path

    @classmethod
    def load(cls, path: Union[str, Path]) -> "FeatureConfig":
        """Read a config written by :meth:`save`."""
        return cls.from_json(Path(path).read_text())
