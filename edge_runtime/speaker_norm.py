"""Speaker normalisation: each MFCC column standardised with one speaker's own mean and spread.

A speaker's register, vocal tract and microphone shift every MFCC of every
clip they record in the same way; what emotion changes is how one clip departs
from how that person usually sounds. A model trained with ``train.speaker_norm`` (the companion recipe)
sees each speaker's MFCC columns standardised over all of that speaker's
windows (the prosody columns are left as they are), so on a device it needs
the statistics of the voice it hears: :class:`SpeakerStats` keeps them as a
running sum over every window that voice has said (unlabelled audio; about 10
windows of varied speech are needed, see ``docs/experiments.md``).

Examples
--------
>>> rng = np.random.default_rng(0)
>>> windows = rng.normal(5.0, 2.0, size=(4, 200, 43))
>>> stats = SpeakerStats(columns=40)
>>> for w in windows:
...     stats.update(w)
>>> mean, std = stats.mean_std()
>>> np.allclose(mean, column_stats(windows, 40)[0]), stats.n_windows
(True, 4)
>>> z = normalise_speaker(windows, mean, std)
>>> round(float(z[..., :40].mean()), 4), round(float(z[..., :40].std()), 2), np.allclose(z[..., 40:], windows[..., 40:])
(0.0, 1.0, True)
"""
from __future__ import annotations

import json
from typing import Optional, Union

import numpy as np

#: Added to every standard deviation, so a column that never moves (a padded silence) stays finite.
STD_FLOOR = 1e-3
#: The largest statistics file read (40 columns take about 2 KB).
MAX_STATS_BYTES = 1 << 20
#: No MFCC column's mean reaches this (they stay within a few hundred): a file saying otherwise is damaged.
MAX_ABS_MEAN = 1e4


def column_stats(windows: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the first ``columns`` columns over every frame of ``windows``
    (``(n_windows, n_frames, n_features)`` or one ``(n_frames, n_features)`` window), float64."""
    frames = np.asarray(windows, dtype=np.float64)[..., :columns].reshape(-1, columns)
    if len(frames) == 0:
        raise ValueError("speaker statistics need at least one window")
    return frames.mean(axis=0), frames.std(axis=0) + STD_FLOOR


def normalise_speaker(windows: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``windows`` with their first ``len(mean)`` columns standardised as ``(x - mean) / std``; a float32 copy."""
    out = np.array(windows, dtype=np.float32)
    k = len(mean)
    out[..., :k] = (out[..., :k] - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return out


class SpeakerStats:
    """Running mean and standard deviation of one speaker's first ``columns`` feature columns, over every frame
    of the windows given to :meth:`update` (what :func:`column_stats` gives for all of them at once).

    With ``memory`` (in windows), older windows fade: before each update the sums are scaled by
    ``1 - 1 / memory``, so the statistics follow the last ``memory`` or so windows and a new voice takes over
    from an earlier one (``listen`` uses 20 utterances; ``docs/device.md``).
    """

    def __init__(self, columns: int, memory: Optional[float] = None) -> None:
        if memory is not None and not memory >= 1:
            raise ValueError(f"memory is a number of windows, 1 or more; got {memory}")
        self.columns = int(columns)
        self.memory = None if memory is None else float(memory)
        self.n_windows = 0
        self._frames = 0.0
        self._sum = np.zeros(self.columns)
        self._sumsq = np.zeros(self.columns)

    def update(self, window: np.ndarray) -> None:
        """Add one ``(n_frames, n_features)`` window (the model's input before any normalisation)."""
        frames = np.asarray(window, dtype=np.float64)[..., :self.columns].reshape(-1, self.columns)
        if self.memory is not None:
            keep = 1.0 - 1.0 / self.memory
            self._sum *= keep
            self._sumsq *= keep
            self._frames *= keep
        # Shifted sums would be more robust; MFCCs stay within a few hundred, so float64 keeps ~10 digits here.
        self._sum += frames.sum(axis=0)
        self._sumsq += np.square(frames).sum(axis=0)
        self._frames += len(frames)
        self.n_windows += 1

    def to_dict(self) -> dict:
        """The running sums as plain JSON (:meth:`from_dict` reads them back)."""
        return {"columns": self.columns, "memory": self.memory, "n_windows": self.n_windows, "frames": self._frames,
                "sum": self._sum.tolist(), "sumsq": self._sumsq.tolist()}

    def to_json(self) -> str:
        """:meth:`to_dict` as one line of JSON (what ``--speaker-stats`` files and :func:`read_stats` hold)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: dict) -> "SpeakerStats":
        """The statistics written by :meth:`to_dict`, checked (:meth:`check`); ``ValueError`` if they are not.

        >>> s = SpeakerStats(2); s.update(np.array([[1.0, 2.0], [3.0, 6.0]]))
        >>> t = SpeakerStats.from_dict(s.to_dict())
        >>> t.n_windows, t.mean_std()[0].tolist()
        (1, [2.0, 4.0])
        """
        if not isinstance(d, dict):
            raise ValueError(f"expected a JSON object, got {type(d).__name__}")
        for key in ("columns", "n_windows"):
            if not isinstance(d.get(key), int) or isinstance(d.get(key), bool) or d[key] < 0:
                raise ValueError(f"{key} must be a whole number, 0 or more; got {d.get(key)!r}")
        memory = d.get("memory")
        if memory is not None and not (isinstance(memory, (int, float)) and np.isfinite(memory) and memory >= 1):
            raise ValueError(f"memory must be a number of windows, 1 or more; got {memory!r}")
        columns = d["columns"]
        sums = [np.asarray(d.get(k), dtype=np.float64) if isinstance(d.get(k), list) and len(d[k]) == columns
                else None for k in ("sum", "sumsq")]
        if any(x is None or x.shape != (columns,) for x in sums):
            raise ValueError(f"sum and sumsq must be lists of {columns} numbers")
        stats = cls(columns, memory)
        stats.n_windows, stats._frames = d["n_windows"], d.get("frames")
        stats._sum, stats._sumsq = sums
        stats.check()
        return stats

    def check(self) -> None:
        """``ValueError`` with one line unless these are statistics a speaker can have: finite sums, frames
        when (and only when) windows were heard, a non-negative variance and MFCC-sized means."""
        frames = self._frames
        if isinstance(frames, bool) or not isinstance(frames, (int, float)) or not np.isfinite(frames) or frames < 0:
            raise ValueError(f"frames must be a finite number, 0 or more; got {frames!r}")
        if (self.n_windows > 0) != (frames > 0):
            raise ValueError(f"{self.n_windows} windows but {frames:g} frames")
        if not (np.all(np.isfinite(self._sum)) and np.all(np.isfinite(self._sumsq))):
            raise ValueError("the sums hold NaN or infinite values")
        if frames > 0:
            with np.errstate(over="ignore", invalid="ignore"):
                mean = self._sum / frames
                var = self._sumsq / frames - np.square(mean)
            if not np.all(np.abs(mean) < MAX_ABS_MEAN):
                raise ValueError(f"a column's mean is beyond {MAX_ABS_MEAN:g}, which no MFCC reaches")
            if not np.all(var >= -1e-6 * (1.0 + np.square(mean))):
                raise ValueError("a column's variance is negative (sumsq below sum squared)")

    def mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """The speaker's mean and standard deviation per column so far."""
        if self._frames == 0:
            raise ValueError("no window of this speaker yet")
        mean = self._sum / self._frames
        var = np.maximum(self._sumsq / self._frames - np.square(mean), 0.0)
        return mean, np.sqrt(var) + STD_FLOOR


def read_stats(text: Union[str, bytes], columns: int, memory: Optional[float] = None) -> SpeakerStats:
    """Statistics saved as JSON by :meth:`SpeakerStats.to_dict`, for a model reading ``columns`` columns, fading
    with ``memory`` from now on (whatever wrote them); ``ValueError`` with one line saying why not. The size
    (:data:`MAX_STATS_BYTES`) and the column count are checked before anything is allocated.

    >>> s = SpeakerStats(2); s.update(np.array([[1.0, 2.0], [3.0, 6.0]]))
    >>> read_stats(s.to_json(), 2, memory=20).memory
    20
    >>> try:
    ...     read_stats(s.to_json(), 40)
    ... except ValueError as err:
    ...     print(err)
    statistics of 2 columns, the model needs 40
    """
    if len(text) > MAX_STATS_BYTES:
        raise ValueError(f"not a speaker statistics file ({len(text):,} bytes; such files are about 2 KB)")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:     # a UnicodeDecodeError is a ValueError
        why = str(err).splitlines()[0][:80] if str(err) else ""
        raise ValueError(f"not a speaker statistics file ({type(err).__name__}: {why})") from None
    if isinstance(data, dict) and isinstance(data.get("columns"), int) and data["columns"] != columns:
        raise ValueError(f"statistics of {data['columns']} columns, the model needs {columns}")
    try:
        stats = SpeakerStats.from_dict(data)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"not a speaker statistics file ({str(err).splitlines()[0][:120]})") from None
    stats.memory = memory
    return stats
