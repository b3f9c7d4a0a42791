"""How much each training example weighs when corpora and classes are mixed.

Corpora differ in size (CREMA-D has 4x RAVDESS's clips) and in their classes
(RAVDESS alone has calm and surprised; neutral is half as common in RAVDESS as
any other emotion). Drawn uniformly, the big corpus drowns the small one, and
a class that only one corpus has is learned as "that corpus's voice". So the
draws are balanced in two steps:

1. each corpus gets a share of the draws proportional to ``n ** corpus_power``
   (``n`` its examples): 1 is "as they come", 0 is "every corpus equal", 0.5
   (the default) lets the big corpus lead without drowning the small ones;
2. within a corpus, every emotion it has gets the same share.

The same weights with ``corpus_power = 0`` turn plain accuracy into the mean
over corpora of each corpus's unweighted average recall (UAR): that is what
early stopping watches on the validation part.
"""
from __future__ import annotations

from collections import Counter

import numpy as np


def balanced_weights(corpus: np.ndarray, y: np.ndarray, corpus_power: float = 0.5) -> np.ndarray:
    """Per-example weights (mean 1) that give corpus ``c`` a total of ``n_c ** corpus_power`` and split it
    equally among the classes present in ``c``.

    >>> w = balanced_weights(np.array(["a", "a", "a", "b"]), np.array([0, 0, 1, 0]), corpus_power=0.0)
    >>> w.round(3).tolist()        # corpus a: class 0 (2 clips) and class 1 (1 clip) half each; b alone
    [0.5, 0.5, 1.0, 2.0]
    """
    corpus, y = np.asarray(corpus), np.asarray(y)
    if len(y) == 0:
        return np.zeros(0, np.float64)
    sizes = Counter(corpus.tolist())
    groups = Counter(zip(corpus.tolist(), y.tolist()))
    classes = Counter(c for c, _ in groups)
    share = {c: n ** corpus_power for c, n in sizes.items()}
    total = sum(share.values())
    w = np.array([share[c] / total / classes[c] / groups[c, k] for c, k in zip(corpus.tolist(), y.tolist())])
    return w * (len(w) / w.sum())


def corpus_shares(corpus: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """The share of the draws each corpus gets under ``weights``."""
    corpus = np.asarray(corpus)
    total = float(np.sum(weights))
    return {c: float(np.sum(weights[corpus == c]) / total) for c in sorted(set(corpus.tolist()))}
