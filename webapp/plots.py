"""Matplotlib figures for the page: waveform, MFCC image, the 8 scores."""
from __future__ import annotations

from typing import Mapping

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

#: Points drawn for a waveform; longer clips are drawn as a min/max envelope.
WAVEFORM_POINTS = 4000


def waveform_figure(audio: np.ndarray, sr: int) -> Figure:
    """Amplitude over time (a min/max envelope for long clips)."""
    fig, ax = plt.subplots(figsize=(8, 2.2), layout="constrained")
    n = len(audio)
    if n > WAVEFORM_POINTS:
        step = n // (WAVEFORM_POINTS // 2)
        blocks = audio[: n // step * step].reshape(-1, step)
        t = (np.arange(len(blocks)) + 0.5) * step / sr
        ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), color="#1f77b4", linewidth=0)
    else:
        ax.plot(np.arange(n) / sr, audio, color="#1f77b4", linewidth=0.8)
    ax.set(xlabel="time (s)", ylabel="amplitude", xlim=(0, n / sr), ylim=(-1.05, 1.05))
    ax.grid(alpha=0.3)
    return fig


def mfcc_figure(mfcc: np.ndarray, hop_seconds: float) -> Figure:
    """The model's input: MFCC coefficients (rows) over the frames of its window.

    Each coefficient is standardised over the window for display only (c0, the
    loudness, is ten times larger than the rest and would flatten the image).
    """
    shown = (mfcc - mfcc.mean(axis=0)) / (mfcc.std(axis=0) + 1e-6)
    fig, ax = plt.subplots(figsize=(8, 2.6), layout="constrained")
    image = ax.imshow(shown.T, origin="lower", aspect="auto", cmap="magma", vmin=-3, vmax=3,
                      extent=(0, mfcc.shape[0] * hop_seconds, -0.5, mfcc.shape[1] - 0.5))
    ax.set(xlabel="time in the model window (s)", ylabel="MFCC coefficient")
    fig.colorbar(image, ax=ax, pad=0.01, label="z-score")
    return fig


def scores_figure(scores: Mapping[str, float]) -> Figure:
    """Horizontal bars of every emotion's probability, the winner highlighted."""
    labels = list(scores)
    values = np.array([scores[k] for k in labels])
    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    colours = ["#d62728" if i == values.argmax() else "#9aa5b1" for i in range(len(values))]
    ax.barh(labels[::-1], values[::-1], color=colours[::-1])
    for y, v in enumerate(values[::-1]):
        inside = v > 0.85   # no room to the right: write it in white inside the bar
        ax.text(v - 0.01 if inside else v + 0.01, y, f"{v:.0%}", va="center", fontsize=9,
                ha="right" if inside else "left", color="white" if inside else "black")
    ax.set(xlim=(0, 1), xlabel="probability")
    ax.grid(axis="x", alpha=0.3)
    return fig


#: One colour per emotion for the timeline; silence and non-speech are grey.
EMOTION_COLOURS = {"neutral": "#7f7f7f", "calm": "#17becf", "happy": "#ffbf00", "sad": "#1f77b4",
                   "angry": "#d62728", "fearful": "#9467bd", "disgust": "#2ca02c", "surprised": "#ff7f0e"}


def timeline_figure(segments, seconds: float) -> Figure:
    """Emotion over time: each segment a coloured band (silence grey), its confidence as a line above it."""
    fig, (band, line) = plt.subplots(2, 1, figsize=(8, 3.2), sharex=True, layout="constrained",
                                     gridspec_kw={"height_ratios": [1, 2]})
    seen = {}
    for s in segments:
        colour = EMOTION_COLOURS.get(s.label, "#d9d9d9")
        bar = band.barh(0, s.end - s.start, left=s.start, color=colour, height=1.0,
                        alpha=1.0 if s.is_speech else 0.5)
        if s.is_speech and s.label not in seen:
            seen[s.label] = bar
        if s.is_speech:
            line.plot([s.start, s.end], [s.confidence, s.confidence], color=colour, linewidth=2.5)
    band.set(yticks=[], xlim=(0, seconds))
    band.legend(seen.values(), seen.keys(), loc="upper center", bbox_to_anchor=(0.5, 1.9), ncol=min(8, len(seen)),
                fontsize=8, frameon=False)
    line.set(ylim=(0, 1), ylabel="confidence", xlabel="time (s)")
    line.grid(alpha=0.3)
    return fig
