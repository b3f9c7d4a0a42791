"""Reading audio files on the device (soundfile) and bringing them to the model's rate.

The trainer reads its clips with :func:`load_audio` as well, so both sides decode
and resample identically (see :mod:`edge_runtime.resample`).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .preprocess import SILENCE_PEAK
from .resample import SampleRateError, check_rate

#: File name endings :func:`find_audio` collects from folders.
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


class AudioFileError(Exception):
    """A file could not be used: missing, empty, corrupt, not audio, too long, not finite or at an unusable rate."""


class TruncatedAudioWarning(UserWarning):
    """A file holds fewer samples than its header says (a cut-off download or recording)."""


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _not_a_file(path: Path) -> str:
    """Why ``path`` is not a regular file to read ("" if it is): missing, a folder, a pipe or device, a link loop."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such file" if not path.is_symlink() else "a link to nothing (no such file)"
    except OSError as err:                     # ELOOP, EACCES, ...
        return (err.strerror or type(err).__name__).lower()
    if stat.S_ISDIR(mode):
        return "a folder, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a pipe or a device); save the audio to a file first"
    return ""


def audio_info(path: Union[str, Path]) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` from the file header, without decoding the samples."""
    import soundfile as sf

    path = Path(path)
    problem = _not_a_file(path)
    if problem:
        raise AudioFileError(f"{path}: {problem}")
    if path.stat().st_size == 0:
        raise AudioFileError(f"{path}: empty file (0 bytes)")
    try:
        info = sf.info(str(path))
    except Exception as err:  # LibsndfileError, RuntimeError, TypeError, ...
        reason = _first_line(err)
        if "does not exist" in reason or "possibly a pipe" in reason:   # libsndfile's words for "unknown format"
            reason = "not an audio format it knows, or corrupt"
        raise AudioFileError(f"{path}: cannot read audio ({reason})") from None
    try:
        sr = check_rate(info.samplerate)
    except SampleRateError as err:
        raise AudioFileError(f"{path}: {err}") from None
    return sr, int(info.frames), int(info.channels)


def wav_shortfall(path: Union[str, Path]) -> int:
    """Frames a WAV file's ``data`` chunk header promises beyond what the file holds (0 if none or not WAV).

    libsndfile silently reads what is there, so a cut-off recording would go
    unnoticed; this reads the RIFF chunk headers only.
    """
    import struct

    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return 0
        block_align = 0
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return 0
            cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(length)
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else 0
                f.seek(length % 2, 1)
            elif cid == b"data":
                if not block_align or length in (0, 0xFFFFFFFF):   # 0 / -1: written by a live recorder
                    return 0
                return max(0, (length - (size - f.tell())) // block_align)
            else:
                f.seek(length + length % 2, 1)


#: Frames decoded at a time by :func:`load_audio` (per channel): peak memory stays near the resampled result,
#: whatever the source's rate and channel count.
DECODE_BLOCK = 1 << 16
#: The most samples (frames x channels) :func:`read_audio` decodes into memory at once (10 minutes of 48 kHz
#: stereo); :func:`load_audio` decodes in blocks and has no such limit.
MAX_DECODED_SAMPLES = 600 * 48000 * 2


def _check_length(path: Path, sr: int, frames: int, max_seconds: Optional[float]) -> None:
    if max_seconds is not None and frames > max_seconds * sr:
        raise AudioFileError(f"{path}: {frames / sr:.1f} s long, more than the {max_seconds:g} s limit")


def _mix(data: np.ndarray) -> np.ndarray:
    """``(frames, channels)`` from the decoder, any number of channels, to float32 mono (their mean)."""
    return data[:, 0].copy() if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)


def _cancelled(path: Path, channels: int) -> AudioFileError:
    return AudioFileError(f"{path}: its {channels} channels cancel out when mixed to mono (one is the "
                          f"other upside down, opposite phase); fix the wiring or keep one channel")


def _warn_cut_off(path: Path, frames: int, decoded: int, sr: int) -> None:
    missing = max(frames - decoded, wav_shortfall(path))
    if missing > 0:
        warnings.warn(f"{path}: the header promises {(decoded + missing) / sr:.2f} s but the file holds "
                      f"{decoded / sr:.2f} s (cut off?)", TruncatedAudioWarning, stacklevel=3)


def read_audio(path: Union[str, Path], max_seconds: Optional[float] = None) -> tuple[np.ndarray, int]:
    """Decode a WAV/FLAC/OGG/... file to float32 mono at its own rate; returns ``(audio, sample_rate)``.

    8-, 16-, 24- and 32-bit integer and float files are all scaled to [-1, 1];
    any number of channels is mixed down. Raises :class:`AudioFileError` with a one-line reason
    for a missing, empty, corrupt or non-finite file, one longer than
    ``max_seconds``, or one of more than :data:`MAX_DECODED_SAMPLES` samples (both checked from the header,
    before decoding; :func:`load_audio` reads any size in blocks).
    """
    import soundfile as sf

    path = Path(path)
    sr, frames, channels = audio_info(path)
    _check_length(path, sr, frames, max_seconds)
    if frames * channels > MAX_DECODED_SAMPLES:
        raise AudioFileError(f"{path}: {frames * channels:,} samples ({channels} channels at {sr} Hz) are more "
                             f"than the {MAX_DECODED_SAMPLES:,} decoded at once")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioFileError(f"{path}: cannot decode audio ({_first_line(err)})") from None
    if data.size == 0:
        raise AudioFileError(f"{path}: file holds no samples")
    if not np.all(np.isfinite(data)):
        raise AudioFileError(f"{path}: audio holds NaN or infinite samples")
    _warn_cut_off(path, frames, len(data), sr)
    mono = _mix(data)
    if data.shape[1] > 1 and np.max(np.abs(mono)) < SILENCE_PEAK <= np.max(np.abs(data)):
        raise _cancelled(path, data.shape[1])
    return mono, int(sr)


def load_audio(path: Union[str, Path], sample_rate: int, max_seconds: Optional[float] = None) -> np.ndarray:
    """Decode, mix to mono and resample to ``sample_rate`` in blocks of :data:`DECODE_BLOCK` frames.

    The same samples as :func:`read_audio` followed by :func:`~edge_runtime.resample.resample` (soxr's
    stream gives what one call gives), but peak memory is the result at ``sample_rate`` plus one block,
    whatever the file's rate and channel count: a file at 655 kHz costs what one at 16 kHz does. The same
    one-line errors as :func:`read_audio`.
    """
    import soundfile as sf

    from .resample import StreamResampler

    path = Path(path)
    sr, frames, channels = audio_info(path)
    _check_length(path, sr, frames, max_seconds)
    resampler = StreamResampler(sr, sample_rate)
    pieces, decoded, loudest, loudest_mono = [], 0, 0.0, 0.0
    try:
        for block in sf.blocks(str(path), blocksize=DECODE_BLOCK, dtype="float32", always_2d=True):
            if not np.all(np.isfinite(block)):
                raise AudioFileError(f"{path}: audio holds NaN or infinite samples")
            mono = _mix(block)
            if channels > 1 and len(block):
                loudest = max(loudest, float(np.max(np.abs(block))))
                loudest_mono = max(loudest_mono, float(np.max(np.abs(mono))))
            decoded += len(block)
            pieces.append(resampler.process(mono))
    except AudioFileError:
        raise
    except Exception as err:
        raise AudioFileError(f"{path}: cannot decode audio ({_first_line(err)})") from None
    if decoded == 0:
        raise AudioFileError(f"{path}: file holds no samples")
    _warn_cut_off(path, frames, decoded, sr)
    if channels > 1 and loudest_mono < SILENCE_PEAK <= loudest:
        raise _cancelled(path, channels)
    pieces.append(resampler.flush())
    return np.concatenate(pieces)


def find_audio(paths: list[Union[str, Path]]) -> list[Path]:
    """Expand folders (recursively, sorted) into the audio files they hold; files pass through."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(q for q in p.rglob("*") if q.suffix.lower() in AUDIO_SUFFIXES and q.is_file()))
        else:
            found.append(p)
    return found
