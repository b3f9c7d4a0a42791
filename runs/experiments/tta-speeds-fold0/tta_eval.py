"""Test-time speed perturbation: average the int8 ensemble's scores over the clip played at several speeds.
Usage: PYTHONPATH=. python cache/exp/tta_eval.py F   (0 = runs/speaker)"""
import json, sys, itertools
from pathlib import Path
import numpy as np
from benchmarks.accuracy import test_clips
from edge_runtime import EmotionClassifier
from edge_runtime.audio import load_audio
from edge_runtime.resample import resample

fold = sys.argv[1]
run = Path("runs/speaker" if fold == "0" else f"runs/fold{fold}-default")
models = Path("cache/benchmarks/speaker-models" if fold == "0" else f"cache/benchmarks/fold{fold}-default")
clf = EmotionClassifier(models / "model_int8.tflite")
from train.corpora import default_sources
clips = test_clips(run, default_sources())
sr = clf.config.sample_rate
speeds = [0.90, 0.94, 0.97, 1.0, 1.03, 1.06, 1.10]
P = np.zeros((len(clips), len(speeds), 8))
for i, c in enumerate(clips):
    a = load_audio(c.path, sr)
    for j, s in enumerate(speeds):
        b = a if s == 1.0 else resample(a, int(round(sr * s)), sr)   # played s times faster
        P[i, j] = clf.scores(clf.features(b, sr))
y = np.array([c.emotion for c in clips]); corpus = np.array([c.corpus for c in clips])
np.savez(f"cache/exp/tta{fold}.npz", P=P, y=y, corpus=corpus, speeds=speeds)
def acc(p):
    pred = p.argmax(1); r = {c: round(float(np.mean(pred[corpus == c] == y[corpus == c])), 3) for c in sorted(set(corpus))}
    r["all"] = round(float(np.mean(pred == y)), 3); return r
for sel in ([1.0], [0.97, 1.0, 1.03], [0.94, 1.0, 1.06], [0.94, 0.97, 1.0, 1.03, 1.06], [0.9, 1.0, 1.1], speeds):
    idx = [speeds.index(s) for s in sel]
    print(f"FOLD {fold} speeds {sel}: mean {acc(P[:, idx].mean(1))}  logmean {acc(np.log(P[:, idx] + 1e-6).mean(1))}", flush=True)
for j, s in enumerate(speeds):
    print(f"FOLD {fold} only {s}: {acc(P[:, j])}")
