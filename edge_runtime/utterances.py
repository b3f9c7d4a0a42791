"""Cut a stream into utterances at its pauses: what ``listen`` enrols a speaker with.

A speaker's statistics (:mod:`edge_runtime.speaker_norm`) are measured, in
training, over windows that each hold one utterance, trimmed, peak-normalised
and fitted to the model's window. The sliding windows of a stream straddle
utterances instead (one loud and one soft half share a peak), which moves the
statistics and costs accuracy (docs/experiments.md). :class:`UtteranceCutter` ends an utterance at the first pause of
``pause_seconds``, or once it holds ``max_seconds``; the caller then gives it
the file pipeline (trim, normalise, fit, MFCC) as if it were a clip.

Examples
--------
>>> from edge_runtime.preprocess import frame_rms
>>> sr = 16000
>>> cutter = UtteranceCutter(sr, frame=512, hop=256)
>>> speech = 0.3 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)       # 1 s of "speech"
>>> audio = np.concatenate([np.zeros(sr // 2), speech, np.zeros(sr), speech, np.zeros(sr)])
>>> levels = lambda x: 20 * np.log10(np.maximum(frame_rms(x, 512, 256), 1e-5))
>>> done = []
>>> for block in np.split(audio, 9):                                    # 0.5 s blocks
...     done += cutter.push(block, levels(block), threshold_db=-40.0)
>>> [round(len(u) / sr, 1) for u, _ in done], [round(s, 1) for _, s in done]
([1.3, 1.3], [1.0, 1.0])
>>> [(round(a, 2), round(b, 2)) for a, b in cutter.spans]               # where the sound is, in the stream
[(0.5, 1.5), (2.5, 3.5)]
"""
from __future__ import annotations

from typing import Optional

import numpy as np


class UtteranceCutter:
    """Collects the samples of one utterance at a time from blocks of a stream and their frame levels.

    ``frame`` and ``hop`` are those of the levels given to :meth:`push` (level ``i`` describes the samples
    around ``i * hop``). An utterance starts at the first frame at or above the threshold and ends after
    ``pause_seconds`` below it, or when it holds ``max_seconds`` of audio. :attr:`spans` collects, for every
    utterance returned, where its sound starts and ends in the stream (seconds; the end is its last loud
    frame's, not the pause's).
    """

    def __init__(self, sr: int, frame: int, hop: int, pause_seconds: float = 0.3,
                 max_seconds: Optional[float] = None) -> None:
        self.sr, self.frame, self.hop = int(sr), int(frame), int(hop)
        self.pause = max(1, int(round(pause_seconds * sr)))
        self.max_samples = int(round((max_seconds or 5.0) * sr))
        self._parts: list[np.ndarray] = []
        self._length = 0
        self._quiet = 0
        self._speech = 0
        self._active = False
        self._offset = 0          # samples pushed before the current block
        self._start = 0           # stream sample where the open utterance starts
        self._last_loud = 0       # stream sample where its last loud frame ends
        self.spans: list[tuple[float, float]] = []

    def push(self, samples: np.ndarray, levels_db: np.ndarray, threshold_db: float) -> list[tuple[np.ndarray, float]]:
        """Feed one block and its frame levels (dB); return the utterances it completed, each with its seconds
        of frames above the threshold."""
        done = []
        start = 0 if self._active else None
        for i, level in enumerate(levels_db):
            pos = min(len(samples), i * self.hop)
            if level >= threshold_db:
                if not self._active:
                    self._active, start = True, max(0, pos - self.frame)
                    self._start = self._offset + start
                self._quiet = 0
                self._speech += self.hop
                self._last_loud = self._offset + min(len(samples), pos + self.frame)
            elif self._active:
                self._quiet += self.hop
                if self._quiet >= self.pause:
                    done.append(self._finish(samples[start:pos]))
                    start = None
            if self._active and self._length + pos - start >= self.max_samples:
                self._last_loud = self._offset + pos
                done.append(self._finish(samples[start:pos]))
                self._active, start = True, pos       # a talker who does not pause: the next one starts here
                self._start = self._offset + pos
        if self._active:
            self._parts.append(samples[start:])
            self._length += len(samples) - start
        self._offset += len(samples)
        return done

    def _finish(self, tail: np.ndarray) -> tuple[np.ndarray, float]:
        audio = np.concatenate(self._parts + [tail]).astype(np.float32, copy=False)
        speech = self._speech / self.sr
        self.spans.append((self._start / self.sr, max(self._last_loud, self._start) / self.sr))
        self._parts, self._length, self._quiet, self._speech, self._active = [], 0, 0, 0, False
        return audio, speech
