"""Pitch/tempo sensitivity of single Keras runs on fold 0 (RAVDESS speech + song test clips), via their int8 conversion.
PYTHONPATH=. python cache/exp/shift_single.py RUN..."""
import sys
from pathlib import Path
import numpy as np, librosa
from benchmarks.accuracy import converted_models, test_clips
from edge_runtime import EmotionClassifier
from edge_runtime.audio import load_audio
from train.corpora import default_sources
src = default_sources()
for run in map(Path, sys.argv[1:]):
    clf = EmotionClassifier(converted_models(run, Path("cache/benchmarks/exp") / run.name, src) / "model_int8.tflite")
    clips = test_clips(run, src)
    sr = 16000
    audio = {c.path: load_audio(c.path, sr) for c in clips}
    tests = {"clean": lambda a: a,
             "pitch +0.5": lambda a: librosa.effects.pitch_shift(a, sr=sr, n_steps=0.5),
             "pitch -0.5": lambda a: librosa.effects.pitch_shift(a, sr=sr, n_steps=-0.5),
             "pitch +1": lambda a: librosa.effects.pitch_shift(a, sr=sr, n_steps=1.0)}
    for name, fn in tests.items():
        r = {}
        for corpus in ("crema-d", "ravdess", "ravdess-song"):
            sel = [c for c in clips if c.corpus == corpus][:: 4 if corpus == "crema-d" else 1]
            r[corpus] = round(float(np.mean([np.argmax(clf.scores(clf.features(fn(audio[c.path]), sr))) == c.emotion for c in sel])), 3)
        print(run.name, f"{name:11s}", r, flush=True)
