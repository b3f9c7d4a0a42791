"""Resampling to the model's rate with libsoxr (python-soxr), for files and live streams alike.

A microphone delivers 44.1 or 48 kHz; the model wants ``FeatureConfig.sample_rate``.
soxr is librosa's own default resampler, a small compiled library with wheels
for x86-64 and aarch64 (the Raspberry Pi), and it costs bounded time and
memory for any pair of rates (its filters do not grow with the rates' least
common multiple, as a plain polyphase bank does: 192001 Hz is as cheap as
192000). :func:`resample` converts a whole array; :class:`StreamResampler`
converts chunk by chunk with soxr's stream state, and a stream fed in pieces
gives the same samples as one call (to float32 rounding).

Rates are checked first: :func:`check_rate` refuses anything that is not a
whole number of Hz between :data:`MIN_RATE` and :data:`MAX_RATE` with one line.

Examples
--------
>>> sr_in, sr_out = 48000, 16000
>>> t = np.arange(sr_in) / sr_in
>>> y = resample(np.sin(2 * np.pi * 440 * t), sr_in, sr_out)
>>> len(y)
16000
>>> ref = np.sin(2 * np.pi * 440 * np.arange(sr_out) / sr_out)
>>> bool(np.max(np.abs(y[200:-200] - ref[200:-200])) < 1e-3)
True
"""
from __future__ import annotations

import numbers

import numpy as np

#: The sample rates accepted, in Hz (telephone audio to the fastest studio converters).
MIN_RATE, MAX_RATE = 4000, 768000
#: soxr's recipe: "HQ" (20-bit, passband to 91 % of Nyquist), as librosa's default ``soxr_hq``.
QUALITY = "HQ"


class SampleRateError(ValueError):
    """A sample rate that is not a whole number of Hz in [MIN_RATE, MAX_RATE]."""


def check_rate(sr) -> int:
    """``sr`` as an int, or :class:`SampleRateError` with one line saying why not.

    >>> check_rate(44100.0)
    44100
    >>> try:
    ...     check_rate(True)
    ... except SampleRateError as err:
    ...     print(err)
    sample rate must be a number of Hz, got True
    """
    if isinstance(sr, (bool, np.bool_)) or not isinstance(sr, numbers.Real):
        raise SampleRateError(f"sample rate must be a number of Hz, got {sr!r}")
    if not np.isfinite(sr) or sr != int(sr):
        raise SampleRateError(f"sample rate must be a whole number of Hz, got {sr!r}")
    if not MIN_RATE <= int(sr) <= MAX_RATE:
        raise SampleRateError(f"sample rate {int(sr)} Hz is outside the supported {MIN_RATE}-{MAX_RATE} Hz")
    return int(sr)


class StreamResampler:
    """Resample a stream of mono chunks from ``orig_sr`` to ``target_sr``.

    :meth:`process` returns what is ready; :meth:`flush` ends the stream and
    returns the rest, so a whole stream yields about
    ``len(input) * target_sr / orig_sr`` samples.

    >>> r = StreamResampler(44100, 16000)
    >>> x = np.random.default_rng(0).standard_normal(44100).astype(np.float32)
    >>> pieces = [r.process(c) for c in np.array_split(x, 7)] + [r.flush()]
    >>> y = np.concatenate(pieces)
    >>> len(y), bool(np.allclose(y, resample(x, 44100, 16000), atol=1e-5))
    (16000, True)
    """

    def __init__(self, orig_sr: int, target_sr: int) -> None:
        import soxr

        self.orig_sr, self.target_sr = check_rate(orig_sr), check_rate(target_sr)
        self.identity = self.orig_sr == self.target_sr
        self._stream = None if self.identity else soxr.ResampleStream(
            self.orig_sr, self.target_sr, 1, dtype="float32", quality=QUALITY)
        self._n_in = self._n_out = 0

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed mono samples; return the output samples that are now complete."""
        chunk = np.ascontiguousarray(chunk, dtype=np.float32).reshape(-1)
        if self.identity:
            return chunk.copy()
        out = self._stream.resample_chunk(chunk, last=False)
        self._n_in += len(chunk)
        self._n_out += len(out)
        return out

    def flush(self) -> np.ndarray:
        """End the stream and return the remaining output samples (up to :func:`output_length` in all)."""
        if self.identity:
            return np.zeros(0, np.float32)
        rest = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
        return _fit(rest, output_length(self._n_in, self.orig_sr, self.target_sr) - self._n_out)


def output_length(n: int, orig_sr: int, target_sr: int) -> int:
    """Samples that ``n`` input samples become: ``ceil(n * target_sr / orig_sr)``, librosa's convention (soxr
    alone may give one fewer; one sample decides where a centre crop starts).

    >>> output_length(51786 * 3, 48000, 16000), output_length(10, 44100, 16000)
    (51786, 4)
    """
    return -(-n * target_sr // orig_sr)


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    """``y`` cut or zero-padded at the end to ``n`` samples."""
    n = max(n, 0)
    return y[:n] if len(y) >= n else np.concatenate([y, np.zeros(n - len(y), np.float32)])


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample mono ``audio`` from ``orig_sr`` to ``target_sr`` (float32), soxr "HQ", to
    :func:`output_length` samples: the same samples as ``librosa.resample(..., res_type="soxr_hq")``."""
    orig_sr, target_sr = check_rate(orig_sr), check_rate(target_sr)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if orig_sr == target_sr:
        return audio
    import soxr

    y = soxr.resample(audio, orig_sr, target_sr, quality=QUALITY).astype(np.float32, copy=False)
    return _fit(y, output_length(len(audio), orig_sr, target_sr))
