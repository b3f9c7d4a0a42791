"""Matplotlib figures for the page: waveform, MFCC image, the 8 scores."""
from __future__ import annotations

from typing import Mapping

import numpy as np

import matplotlib

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
