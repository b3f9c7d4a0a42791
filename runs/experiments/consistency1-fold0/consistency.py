"""Consistency training: each batch holds pairs of two waveform copies of one clip (clean / stretch / pitch / noise),
and the loss adds lam x the symmetric KL between the pair's predictions to the cross-entropy.
Monkeypatches train.trainer / train.batches; otherwise the shipped recipe (prosody, one member).
PYTHONPATH=. python cache/exp/consistency.py FOLD LAM OUT"""
import sys
from pathlib import Path
import numpy as np
import keras
import train.trainer as T
import train.batches as B
from edge_runtime import FeatureConfig
from train.trainer import TrainConfig


fold, lam, out = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
GROUPS = {}

_part_arrays = T.part_arrays
def part_arrays(feats, jobs, where, tc):
    parts = _part_arrays(feats, jobs, where, tc)
    keys = np.array([str(j.clip.path) for j in parts["train"]["jobs"]])
    _, inv = np.unique(keys, return_inverse=True)
    rows = {}
    for r, g in enumerate(inv):
        rows.setdefault(g, []).append(r)
    GROUPS["partners"] = [np.array(rows[g]) for g in inv]     # row -> rows of the same clip
    GROUPS["n"] = len(keys)
    return parts
T.part_arrays = part_arrays

_draw = B.AugmentedBatches._draw
def _draw_pairs(self):
    if GROUPS.get("n") != len(self.x):
        return _draw(self)
    half = self.epoch_size // 2
    first = self.rng.choice(len(self.x), size=half, p=self.p) if self.p is not None else self.rng.integers(0, len(self.x), half)
    out = np.empty(2 * half, dtype=int)
    out[0::2] = first
    for i, r in enumerate(first):
        cands = GROUPS["partners"][r]
        others = cands[cands != r]
        out[2 * i + 1] = self.rng.choice(others) if len(others) else r
    return out
B.AugmentedBatches._draw = _draw_pairs

_compile = keras.Model.compile
def compile(self, optimizer=None, loss=None, **kw):
    ls = 0.1
    def paired(y_true, y_pred):
        ce = keras.losses.categorical_crossentropy(y_true, y_pred, label_smoothing=ls)
        p = keras.ops.clip(y_pred, 1e-7, 1.0)
        n = keras.ops.shape(p)[0]
        m = n // 2
        a, b = p[0:2 * m:2], p[1:2 * m:2]
        kl = 0.5 * keras.ops.sum((a - b) * (keras.ops.log(a) - keras.ops.log(b)), axis=-1)
        per = keras.ops.concatenate([keras.ops.repeat(kl, 2, axis=0), keras.ops.zeros((n - 2 * m,), dtype=kl.dtype)], 0)
        return ce + lam * per
    return _compile(self, optimizer=optimizer, loss=paired, **kw)
keras.Model.compile = compile

T.train_run(out, feature_config=FeatureConfig(prosody=True),
            train_config=TrainConfig(fold=fold, members=1), verbose=0)
print(open(out / "report.txt").read().split("corpus ")[-1])
