"""Evaluation artefacts: classification report, confusion matrix and training curves."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Sequence

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


def corpus_reports(y_true: np.ndarray, y_pred: np.ndarray, corpus: np.ndarray, labels: Sequence[str],
                   scores: Optional[np.ndarray] = None) -> dict:
    """Per corpus (and ``"all"``): clips, accuracy, UAR, chance, recall per class and the confusion matrix.

    UAR (unweighted average recall) is the mean recall over the classes the
    corpus has; ``chance`` is what guessing achieves on it (1 / those classes),
    ``majority`` the accuracy of always answering its most common class. With
    the models' ``scores``, ``accuracy_within``/``uar_within`` are the same
    figures when the answer is restricted to the corpus's own classes (the usual
    cross-corpus reading: a CREMA-D clip cannot be calm, so a calm answer
    becomes the best of its six classes).

    >>> r = corpus_reports(np.array([0, 1, 1, 2]), np.array([0, 1, 0, 2]), np.array(["a", "a", "a", "b"]), "xyz")
    >>> r["a"]["accuracy"], r["a"]["uar"], r["a"]["chance"], r["b"]["n"]
    (0.6667, 0.75, 0.5, 1)
    """
    y_true, y_pred, corpus = np.asarray(y_true), np.asarray(y_pred), np.asarray(corpus)
    out = {}
    for name in [*sorted(set(corpus.tolist())), "all"]:
        rows = np.ones(len(y_true), bool) if name == "all" else corpus == name
        t, p = y_true[rows], y_pred[rows]
        m = confusion(t, p, len(labels))
        present = np.flatnonzero(m.sum(axis=1))
        recall = {labels[k]: round(float(m[k, k] / m[k].sum()), 4) for k in present}
        out[name] = {"n": int(len(t)), "accuracy": round(float(np.mean(t == p)), 4),
                     "uar": round(float(np.mean(list(recall.values()))), 4),
                     "chance": round(1.0 / len(present), 4), "majority": round(float(m.sum(1).max() / len(t)), 4),
                     "recall": recall, "confusion": m.tolist()}
        if scores is not None and name != "all":
            within = present[np.asarray(scores)[rows][:, present].argmax(axis=1)]
            mw = confusion(t, within, len(labels))
            out[name]["accuracy_within"] = round(float(np.mean(t == within)), 4)
            out[name]["uar_within"] = round(float(np.mean([mw[k, k] / mw[k].sum() for k in present])), 4)
    return out


def corpus_table(reports: dict) -> str:
    """The per-corpus figures as a small text table (with the within-corpus-classes figures where known)."""
    lines = [f"{'corpus':<14} {'clips':>6} {'accuracy':>9} {'UAR':>6} {'chance':>7}  {'within its classes':>18}"]
    for name, r in reports.items():
        within = (f"  acc {r['accuracy_within']:.3f} UAR {r['uar_within']:.3f}" if "accuracy_within" in r else "")
        lines.append(f"{name:<14} {r['n']:>6} {r['accuracy']:>9.3f} {r['uar']:>6.3f} {r['chance']:>7.3f}{within}")
    return "\n".join(lines)


def write_reports(out_dir: Path, y_true: np.ndarray, scores: np.ndarray, corpus: np.ndarray,
                  labels: Sequence[str], title: str) -> dict:
    """``report.txt``/``report.json`` (overall and per corpus) from the model's ``scores``,
    ``confusion_matrix.png`` and one ``confusion_<corpus>.png`` per corpus; returns the report dictionary
    (scikit-learn's, plus ``per_corpus``)."""
    y_pred = np.asarray(scores).argmax(axis=1)
    text, rep = classification_report(y_true, y_pred, labels)
    per_corpus = corpus_reports(y_true, y_pred, corpus, labels, scores)
    (out_dir / "report.txt").write_text(text + "\n" + corpus_table(per_corpus) + "\n")
    rep = {**rep, "per_corpus": per_corpus}
    write_json(out_dir / "report.json", rep)
    plot_confusion(np.array(per_corpus["all"]["confusion"]), labels, out_dir / "confusion_matrix.png",
                   f"{title}, test accuracy {rep['accuracy']:.3f}")
    for name, r in per_corpus.items():
        if name != "all" and len(per_corpus) > 2:
            plot_confusion(np.array(r["confusion"]), labels, out_dir / f"confusion_{name}.png",
                           f"{title}: {name}, accuracy {r['accuracy']:.3f}, UAR {r['uar']:.3f} "
                           f"(chance {r['chance']:.2f})")
    return rep


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
