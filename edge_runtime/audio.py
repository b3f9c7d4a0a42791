"""Reading audio files on the device (soundfile) and bringing them to the model's rate.

The trainer reads its clips with :func:`load_audio` as well, so both sides decode
and resample identically (see :mod:`edge_runtime.resample`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from .preprocess import to_mono
from .resample import resample

#: File name endings :func:`find_audio` collects from folders.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


class AudioFileError(Exception):
    """A file could not be used: missing, empty, corrupt, not audio, too long or not finite."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def audio_info(path: Union[str, Path]) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` from the file header, without decoding the samples."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: empty file (0 bytes)")
    try:
        info = sf.info(str(path))
    except Exception as err:  # LibsndfileError, RuntimeError, TypeError, ...
        raise AudioFileError(f"{path}: cannot read audio ({_first_line(err)})") from None
    return int(info.samplerate), int(info.frames), int(info.channels)


def read_audio(path: Union[str, Path], max_seconds: Optional[float] = None) -> tuple[np.ndarray, int]:
    """Decode a WAV/FLAC/OGG/... file to float32 mono; returns ``(audio, sample_rate)``.

    8-, 16-, 24- and 32-bit integer and float files are all scaled to [-1, 1];
    stereo is mixed down. Raises :class:`AudioFileError` with a one-line reason
    for a missing, empty, corrupt or non-finite file, or one longer than
    ``max_seconds`` (checked from the header, before decoding).
    """
    import soundfile as sf

    sr, frames, _ = audio_info(path)
    if max_seconds is not None and frames > max_seconds * sr:
        raise AudioFileError(f"{path}: {frames / sr:.1f} s long, more than the {max_seconds:g} s limit")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as err:
        raise AudioFileError(f"{path}: cannot decode audio ({_first_line(err)})") from None
    if data.size == 0:
        raise AudioFileError(f"{path}: file holds no samples")
    mono = to_mono(data)
    if not np.all(np.isfinite(mono)):
        raise AudioFileError(f"{path}: audio holds NaN or infinite samples")
    return mono, int(sr)


def load_audio(path: Union[str, Path], sample_rate: int, max_seconds: Optional[float] = None) -> np.ndarray:
    """:func:`read_audio`, then :func:`~edge_runtime.resample.resample` to ``sample_rate``."""
    audio, sr = read_audio(path, max_seconds=max_seconds)
    return resample(audio, sr, sample_rate) if sr != sample_rate else audio


def find_audio(paths: list[Union[str, Path]]) -> list[Path]:
    """Expand folders (recursively, sorted) into the audio files they hold; files pass through."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES and q.is_file()))
        else:
            found.append(p)
    return found
