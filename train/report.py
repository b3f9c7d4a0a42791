"""Evaluation artefacts: classification report, confusion matrix and training curves."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> tuple[str, dict]:
    """Per-class precision/recall/F1 as text (the seed's table) and as a dictionary."""
    from sklearn.metrics import classification_report as sk_report

    kwargs = dict(labels=list(range(len(labels))), target_names=list(labels), zero_division=0, digits=3)
    return sk_report(y_true, y_pred, **kwargs), sk_report(y_true, y_pred, output_dict=True, **kwargs)


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion counts, rows = true class, columns = predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def plot_confusion(matrix: np.ndarray, labels: Sequence[str], path: Path, title: str) -> Path:
    """Save a row-normalised confusion matrix with counts in each cell."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                    color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046, label="fraction of true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_curves(history: dict, path: Path, best_epoch: int | None = None) -> Path:
    """Save accuracy and loss per epoch, train vs validation.

    ``history`` is one Keras history (``{"loss": [...], ...}``) or, for an
    ensemble, ``{member name: history}``: the members are drawn in turn.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = history if "loss" not in history and history else {"": history}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in zip(axes, ("accuracy", "loss")):
        for i, (member, h) in enumerate(runs.items()):
            epochs = np.arange(1, len(h.get("loss", [])) + 1)
            for prefix, style in (("", "-"), ("val_", "--")):
                if prefix + key in h:
                    label = " ".join(filter(None, (member, (prefix or "train_").rstrip("_"))))
                    ax.plot(epochs, h[prefix + key], style, color=f"C{i}", label=label)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", lw=0.8, ls=":", label=f"best (epoch {best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_json(path: Path, data) -> Path:
    """Write indented JSON (numpy scalars converted)."""
    path.write_text(json.dumps(data, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o)) + "\n")
    return path
