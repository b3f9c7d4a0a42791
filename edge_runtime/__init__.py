"""edge_runtime: speech emotion recognition on small devices (numpy + a TFLite interpreter).

This package must never import tensorflow, librosa or numba.

>>> import edge_runtime
>>> clf = edge_runtime.EmotionClassifier()          # the bundled int8 model
>>> clf.labels == edge_runtime.EMOTIONS
True
"""
from .adaptive import AdaptiveClassifier
from .classifier import EmotionClassifier, Prediction
from .config import EMOTIONS, FEATURE_PIPELINE_VERSION, FeatureConfig
from .features import mfcc
from .model_card import ModelError
from .preprocess import SilentAudioError, prepare_window
from .resample import resample
from .stream import StreamClassifier, StreamConfig

__all__ = ["AdaptiveClassifier", "EMOTIONS", "FEATURE_PIPELINE_VERSION", "EmotionClassifier", "FeatureConfig", "ModelError",
           "Prediction", "SilentAudioError", "StreamClassifier", "StreamConfig", "mfcc",
           "prepare_window", "resample"]
__version__ = "0.1.0"
