"""Why is song brittle under a 3 % speed-up? Pitch only, tempo only, speed (both) on the fold-0 test clips, int8."""
from pathlib import Path
import numpy as np, librosa
from benchmarks.accuracy import test_clips
from edge_runtime import EmotionClassifier
from edge_runtime.audio import load_audio
from edge_runtime.resample import resample
from train.corpora import default_sources
clf = EmotionClassifier("cache/benchmarks/speaker-models/model_int8.tflite")
clips = [c for c in test_clips(Path("runs/speaker"), default_sources()) if c.corpus != "crema-d"]
sr = 16000
def acc(fn, corpus):
    sel = [c for c in clips if c.corpus == corpus]
    return np.mean([np.argmax(clf.scores(clf.features(fn(load_audio(c.path, sr)), sr))) == c.emotion for c in sel])
tests = {"clean": lambda a: a,
         "speed 1.03": lambda a: resample(a, int(sr * 1.03), sr),
         "speed 0.97": lambda a: resample(a, int(sr * 0.97), sr),
         "pitch +0.5 st": lambda a: librosa.effects.pitch_shift(a, sr=sr, n_steps=0.5),
         "pitch -0.5 st": lambda a: librosa.effects.pitch_shift(a, sr=sr, n_steps=-0.5),
         "pitch +1 st": lambda a: librosa.effects.pitch_shift(a, sr=sr, n_steps=1.0),
         "tempo 1.03": lambda a: librosa.effects.time_stretch(a, rate=1.03),
         "tempo 0.97": lambda a: librosa.effects.time_stretch(a, rate=0.97)}
for name, fn in tests.items():
    print(f"{name:14s} song {acc(fn, 'ravdess-song'):.3f} speech {acc(fn, 'ravdess'):.3f}", flush=True)
