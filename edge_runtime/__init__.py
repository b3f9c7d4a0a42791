"""edge_runtime: speech emotion recognition on small devices (numpy + a TFLite interpreter).

This package must never import tensorflow, librosa or numba.
"""
from .config import EMOTIONS, FEATURE_PIPELINE_VERSION, FeatureConfig
from .preprocess import SilentAudioError, prepare_window

__all__ = ["EMOTIONS", "FEATURE_PIPELINE_VERSION", "FeatureConfig", "SilentAudioError", "prepare_window"]
__version__ = "0.1.0"
