"""Training-side features: librosa MFCC of one prepared window, as the config says."""
from __future__ import annotations

import numpy as np

from edge_runtime.config import FeatureConfig
from edge_runtime.preprocess import prepare_window
from edge_runtime.prosody import prosody


def librosa_mfcc(window: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """MFCC of one window with librosa, shape ``(frames, n_mfcc)``, float32.

    Written out step by step (power spectrogram with the bins below ``highpass_hz`` zeroed, mel, ``power_to_db`` relative
    to ``ref=1`` with ``top_db`` clipping, DCT-II ortho) so every parameter is
    explicit. This is the reference the device's numpy extractor is held to.
    """
    import librosa

    stft = librosa.stft(np.asarray(window, dtype=np.float32), n_fft=config.n_fft, hop_length=config.hop_length,
                        win_length=config.win_length, window=config.window, center=config.center,
                        pad_mode=config.pad_mode)
    power = np.abs(stft) ** config.power
    power[:config.highpass_bins] = 0.0    # DC leakage and rumble
    mel = librosa.feature.melspectrogram(S=power, sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                                         fmin=config.fmin, fmax=config.fmax, htk=False, norm="slaney")
    log_mel = librosa.power_to_db(mel, ref=1.0, amin=config.amin, top_db=config.top_db)
    mfcc = librosa.feature.mfcc(S=log_mel, n_mfcc=config.n_mfcc, dct_type=2, norm="ortho", lifter=0)
    return np.ascontiguousarray(mfcc.T, dtype=np.float32)


def window_features(window: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The model's input for one prepared window: librosa MFCC, then (with ``config.prosody``) the device's own
    :func:`edge_runtime.prosody.prosody` columns, shape ``(frames, n_features)``."""
    mfcc = librosa_mfcc(window, config)
    return np.concatenate([mfcc, prosody(window, config)], axis=1) if config.prosody else mfcc


def extract(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Mono audio at ``config.sample_rate`` -> the model's input ``(n_frames, n_features)`` via the full pipeline."""
    features = window_features(prepare_window(audio, config), config)
    expected = (config.n_frames, config.n_features)
    if features.shape != expected:
        raise AssertionError(f"feature shape {features.shape} != {expected}")
    return features
