"""Waveform preprocessing shared by training and the device (numpy only).

These are steps 1-4 of the pipeline documented on
:class:`edge_runtime.config.FeatureConfig`; the trainer imports them from here
so that both sides cut, scale and pad audio identically.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .config import FeatureConfig

#: More channels than this in a 2-D array is not audio as a microphone or file delivers it.
MAX_CHANNELS = 8
#: A clip whose peak stays below this (about -80 dBFS) holds no usable signal.
SILENCE_PEAK = 1e-4
#: The same floor in dBFS, for messages.
SILENCE_DBFS = 20.0 * float(np.log10(SILENCE_PEAK))


class SilentAudioError(ValueError):
    """The audio holds no signal above :data:`SILENCE_PEAK`."""


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Mix ``(samples,)`` or ``(samples, channels)`` audio down to float32 mono.

    A 2-D array with at most :data:`MAX_CHANNELS` rows and more columns is
    taken to be channels-first ``(channels, samples)``.

    >>> to_mono(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
    [0.5, 0.5]
    >>> to_mono(np.ones((2, 1000))).shape
    (1000,)
    """
    audio = np.asarray(audio)
    if audio.ndim == 2:
        if audio.shape[0] <= MAX_CHANNELS < audio.shape[1]:
            audio = audio.T          # (channels, samples), as librosa and torchaudio hold audio
        elif audio.shape[1] > MAX_CHANNELS:
            raise ValueError(f"expected (samples, channels) audio with at most {MAX_CHANNELS} channels, "
                             f"got shape {audio.shape}")
        audio = audio.mean(axis=1)
    elif audio.ndim != 1:
        raise ValueError(f"expected 1-D or (samples, channels) audio, got shape {audio.shape}")
    return audio.astype(np.float32, copy=False)


def remove_dc(audio: np.ndarray) -> np.ndarray:
    """``audio`` minus its mean, float32: a sound card's DC offset is not speech.

    >>> [round(float(v), 3) for v in remove_dc(np.array([0.5, 0.7, 0.6]))]
    [-0.1, 0.1, 0.0]
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        return audio
    return (audio - np.float32(np.mean(audio, dtype=np.float64))).astype(np.float32, copy=False)


def centred_frames(audio: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """Float64 frames of ``frame_length`` every ``hop_length`` with ``frame_length // 2`` zeros padded on each side
    (``center=True``), shape ``(frames, frame_length)`` (no frames when the audio is too short).

    >>> centred_frames(np.arange(4.0), 4, 2).tolist()
    [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 2.0, 3.0], [2.0, 3.0, 0.0, 0.0]]
    """
    pad = frame_length // 2
    padded = np.pad(np.asarray(audio, dtype=np.float64), (pad, pad))
    n_frames = max(0, 1 + (len(padded) - frame_length) // hop_length)
    if n_frames == 0:
        return np.zeros((0, frame_length))
    return np.lib.stride_tricks.sliding_window_view(padded, frame_length)[::hop_length][:n_frames]


def nonzero_span(x: np.ndarray) -> Optional[tuple[int, int]]:
    """Indices of the first and last non-zero element of a 1-D array, or ``None`` if all are zero.

    Searches the bytes of the ``x != 0`` mask with ``bytes.find``/``rfind``
    (memchr): an ``argmax`` on a reversed view walks the whole array slowly.
    """
    mask = (x != 0).tobytes()
    first = mask.find(1)
    return None if first < 0 else (first, mask.rfind(1))


def touched_frames(span: tuple[int, int], frame_length: int, hop_length: int, n_frames: int) -> slice:
    """The centred frames (as :func:`centred_frames` makes them) that hold a sample of ``span``.

    ``span`` is the first and last index of the non-zero samples; every other frame reads only zeros.

    >>> touched_frames((2, 3), 4, 2, 3)   # frames 0-2 hold samples -2..1, 0..3, 2..5
    slice(1, 3, None)
    """
    pad = frame_length // 2
    first = max(0, (span[0] + pad - frame_length) // hop_length + 1)
    last = min(n_frames, (span[1] + pad) // hop_length + 1)
    return slice(first, last)


#: Frames squared at a time by :func:`frame_rms`: an hour of audio would otherwise square 3 GB of frames at once.
RMS_CHUNK = 512


def frame_rms(audio: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """RMS of centred frames (zero padding of ``frame_length // 2`` on each side), :data:`RMS_CHUNK` frames at a
    time: the numbers of :func:`centred_frames` squared all at once, in the memory of one chunk whatever the
    length (an hour of audio would otherwise square gigabytes of overlapping frames)."""
    audio = np.asarray(audio)
    pad = frame_length // 2
    n_frames = max(0, 1 + (len(audio) + 2 * pad - frame_length) // hop_length)
    out = np.zeros(n_frames)
    for first in range(0, n_frames, RMS_CHUNK):
        count = min(RMS_CHUNK, n_frames - first)
        start = first * hop_length - pad                         # of the chunk's first frame, in the audio
        stop = start + (count - 1) * hop_length + frame_length
        piece = np.zeros(stop - start)
        lo, hi = max(start, 0), min(stop, len(audio))
        piece[lo - start:hi - start] = audio[lo:hi]              # float64, zeros where the padding is
        frames = np.lib.stride_tricks.sliding_window_view(piece, frame_length)[::hop_length][:count]
        out[first:first + count] = np.sqrt(np.mean(frames ** 2, axis=1))
    return out


def trim_bounds(audio: np.ndarray, config: FeatureConfig) -> tuple[int, int]:
    """``(start, end)`` samples of :func:`trim_silence`: the first and last frames within ``trim_top_db`` of the
    loudest. Raises :class:`SilentAudioError` when nothing is above :data:`SILENCE_PEAK`."""
    if audio.size == 0 or not np.all(np.isfinite(audio)) or np.max(np.abs(audio)) < SILENCE_PEAK:
        raise SilentAudioError("audio is empty, silent or not finite")
    rms = frame_rms(audio, config.trim_frame_length, config.trim_hop_length)
    floor = rms.max() * 10.0 ** (-config.trim_top_db / 20.0)
    loud = np.flatnonzero(rms > floor)
    start = int(loud[0]) * config.trim_hop_length
    end = min(len(audio), (int(loud[-1]) + 1) * config.trim_hop_length)
    return start, end


def trim_silence(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Cut leading and trailing frames more than ``trim_top_db`` below the loudest frame.

    Raises :class:`SilentAudioError` when nothing is above :data:`SILENCE_PEAK`.

    >>> cfg = FeatureConfig()
    >>> x = np.zeros(32000, np.float32); x[12000:20000] = 0.5
    >>> y = trim_silence(x, cfg)
    >>> 8000 <= len(y) < 12000
    True
    """
    start, end = trim_bounds(audio, config)
    return audio[start:end]


def normalise_peak(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Scale so that the absolute peak equals ``config.peak_level``."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < SILENCE_PEAK:
        raise SilentAudioError("audio is silent")
    return (audio * (config.peak_level / peak)).astype(np.float32)


def fit_window(audio: np.ndarray, n_samples: int) -> np.ndarray:
    """Centre-crop or centre-pad (zeros) ``audio`` to exactly ``n_samples``.

    >>> fit_window(np.arange(5.0), 3).tolist()
    [1.0, 2.0, 3.0]
    >>> fit_window(np.ones(2), 4).tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    n = len(audio)
    if n >= n_samples:
        start = (n - n_samples) // 2
        return np.ascontiguousarray(audio[start:start + n_samples])
    left = (n_samples - n) // 2
    return np.pad(audio, (left, n_samples - n - left))


def speech_span(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Steps 1-2 after resampling: mono, DC removed (if ``config.remove_dc``), silence trimmed."""
    mono = to_mono(audio)
    return trim_silence(remove_dc(mono) if config.remove_dc else mono, config)


def prepare_window(audio: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Steps 1-4 of the pipeline after resampling: DC removal, trim, peak-normalise, fit to one model window.

    ``audio`` must already be at ``config.sample_rate``.
    """
    return fit_window(normalise_peak(speech_span(audio, config), config), config.window_samples)
