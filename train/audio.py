"""Reading audio files for training (soundfile + librosa's soxr resampler)."""
from __future__ import annotations

from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf

from edge_runtime.preprocess import to_mono


class AudioReadError(Exception):
    """A clip could not be read: missing, empty, corrupt or not audio."""


def load_audio(path: Union[str, Path], sample_rate: int) -> np.ndarray:
    """Read a WAV/FLAC file as float32 mono at ``sample_rate``.

    Any input rate is accepted (resampled with soxr, high quality); stereo is
    mixed down. Raises :class:`AudioReadError` with a one-line reason.
    """
    import librosa  # heavy import, kept local

    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as err:  # soundfile raises several types (LibsndfileError, RuntimeError, ...)
        raise AudioReadError(f"{path}: cannot read audio ({str(err).strip().splitlines()[0]})") from None
    if data.size == 0:
        raise AudioReadError(f"{path}: file holds no samples")
    mono = to_mono(data)
    if not np.all(np.isfinite(mono)):
        raise AudioReadError(f"{path}: audio holds NaN or infinite samples")
    if sr != sample_rate:
        mono = librosa.resample(mono, orig_sr=sr, target_sr=sample_rate, res_type="soxr_hq")
    return mono.astype(np.float32, copy=False)
