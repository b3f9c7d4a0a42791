"""End-to-end time per 4 s of audio, stage by stage, and the edge MFCC against librosa's."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np

SECONDS = 4.0
CAPTURE_RATE = 48000


def median_ms(fn, repeats: int) -> tuple[float, object]:
    """Median wall time of ``fn()`` over ``repeats`` calls, in ms, and its last result."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3), result


def end_to_end(clip: Path, workdir: Path, model: str = "int8", repeats: int = 30) -> dict:
    """Decode a 4 s 48 kHz WAV, resample to 16 kHz, MFCC, infer: median ms of each stage, real-time factor."""
    import soundfile as sf

    from edge_runtime import EmotionClassifier, resample
    from edge_runtime.audio import read_audio
    from edge_runtime.features import features

    clf = EmotionClassifier(model, num_threads=1)
    sr = clf.config.sample_rate
    audio, clip_sr = read_audio(clip)
    audio = resample(audio, clip_sr, CAPTURE_RATE)
    n = int(SECONDS * CAPTURE_RATE)
    audio = np.pad(audio, (0, max(0, n - len(audio))))[:n]
    wav = workdir / "four_seconds_48k.wav"
    sf.write(wav, audio, CAPTURE_RATE, subtype="PCM_16")
    stages = {}
    stages["decode"], (raw, raw_sr) = median_ms(lambda: read_audio(wav), repeats)
    stages["resample"], at_sr = median_ms(lambda: resample(raw, raw_sr, sr), repeats)
    stages["mfcc"], mfcc = median_ms(lambda: features(at_sr, clf.config), repeats)
    stages["inference"], _ = median_ms(lambda: clf.scores(mfcc), repeats)
    total = sum(stages.values())
    return {"model": model, "audio_seconds": SECONDS, "capture_rate": CAPTURE_RATE, "stages_ms": stages,
            "total_ms": total, "real_time_factor": total / (SECONDS * 1e3), "repeats": repeats}


def mfcc_versus_librosa(clips: Sequence[Path], repeats: int = 5) -> dict:
    """Median time of the edge numpy MFCC and librosa's on the same prepared windows; ratio and max diff; and of
    the optional pitch and voicing columns (:mod:`edge_runtime.prosody`) on those windows."""
    from edge_runtime import FeatureConfig
    from edge_runtime.audio import load_audio
    from edge_runtime.features import mfcc
    from edge_runtime.preprocess import prepare_window
    from edge_runtime.prosody import prosody
    from train.features import librosa_mfcc

    config = FeatureConfig()
    windows = [prepare_window(load_audio(c, config.sample_rate), config) for c in clips]
    librosa_mfcc(windows[0], config)  # librosa's first call compiles with numba (~30 s); not counted
    edge_ms, librosa_ms, prosody_ms, worst = [], [], [], 0.0
    for w in windows:
        e, a = median_ms(lambda w=w: mfcc(w, config.sample_rate, config), repeats)
        b, ref = median_ms(lambda w=w: librosa_mfcc(w, config), repeats)
        edge_ms.append(e)
        librosa_ms.append(b)
        prosody_ms.append(median_ms(lambda w=w: prosody(w, config), repeats)[0])
        worst = max(worst, float(np.max(np.abs(a - ref))))
    e, b = float(np.median(edge_ms)), float(np.median(librosa_ms))
    return {"clips": len(windows), "edge_ms": e, "librosa_ms": b, "speedup": b / e, "max_abs_diff": worst,
            "prosody_ms": float(np.median(prosody_ms))}


#: Capture rates the resampling benchmark converts from (the odd ones cost a plain polyphase bank GBs).
RESAMPLE_RATES = (8000, 22050, 44100, 48000, 96000, 44101, 192001)


def resample_rates(repeats: int = 30) -> dict:
    """Median ms to bring 4 s of audio at each of :data:`RESAMPLE_RATES` to 16 kHz, whole and streamed in 0.1 s
    chunks (``edge_runtime.resample``, soxr HQ), and the largest difference between the two."""
    from edge_runtime.resample import StreamResampler, resample

    rng = np.random.default_rng(0)
    rows = {}
    for rate in RESAMPLE_RATES:
        x = rng.standard_normal(int(SECONDS * rate)).astype(np.float32) * 0.1
        whole_ms, whole = median_ms(lambda x=x, rate=rate: resample(x, rate, 16000), repeats)

        def streamed(x=x, rate=rate):
            r = StreamResampler(rate, 16000)
            return np.concatenate([r.process(c) for c in np.array_split(x, int(SECONDS * 10))] + [r.flush()])

        stream_ms, pieces = median_ms(streamed, max(1, repeats // 3))
        rows[str(rate)] = {"whole_ms": whole_ms, "streamed_ms": stream_ms,
                           "max_abs_diff": float(np.max(np.abs(whole - pieces))) if len(whole) == len(pieces)
                           else float("nan")}
    return {"seconds": SECONDS, "rows": rows}


def speech_check(sources, limit=None) -> dict:
    """The speech check on real clips of every corpus (refused share, per corpus) and on synthetic non-speech
    (accepted ones named). ``limit``: every k-th clip, about that many."""
    import warnings

    from edge_runtime import FeatureConfig
    from edge_runtime.features import features
    from edge_runtime.speech import not_speech_reason
    from train.corpora import scan_sources
    from train.dataset import Job, extract_features

    from .signals import non_speech

    config = FeatureConfig()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clips = scan_sources(sources)
    clips = clips[:: max(1, len(clips) // limit)] if limit else clips
    feats = extract_features([Job(c) for c in clips], config, progress=False)   # the clean windows, cached
    per_corpus: dict = {}
    for x, job in zip(feats.x, feats.jobs):
        row = per_corpus.setdefault(job.clip.corpus, {"clips": 0, "refused": 0, "examples": []})
        row["clips"] += 1
        reason = not_speech_reason(x, config)
        if reason:
            row["refused"] += 1
            row["examples"] = (row["examples"] + [f"{job.clip.stem}: {reason}"])[:3]
    synthetic = {name: not_speech_reason(features(x.astype(np.float32), config), config)
                 for name, x in non_speech().items()}
    return {"real": per_corpus, "synthetic": synthetic,
            "synthetic_accepted": [name for name, reason in synthetic.items() if reason is None]}


_SEGMENTS = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run([sys.executable, "-m", "edge_runtime", "classify", "--segments", "--json", "--quiet", sys.argv[1]],
                   capture_output=True, text=True)
seconds = time.perf_counter() - t0
print(json.dumps({"rc": p.returncode, "segments": len(p.stdout.splitlines()), "wall_s": seconds,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def long_recording(clips: Sequence[Path], path: Path, seconds: float, sr: int = 16000) -> Path:
    """A WAV of ``seconds``: the clips in turn with 2 s of silence after each, written block by block."""
    import soundfile as sf

    from edge_runtime.audio import load_audio

    pieces = [np.concatenate([load_audio(c, sr), np.zeros(2 * sr, np.float32)]) for c in clips]
    left = int(seconds * sr)
    with sf.SoundFile(path, "w", sr, 1, "PCM_16") as f:
        k = 0
        while left > 0:
            block = pieces[k % len(pieces)][:left]
            f.write(block)
            left -= len(block)
            k += 1
    return path


def segments_scaling(clips: Sequence[Path], workdir: Path, durations=(10.0, 600.0, 3600.0)) -> dict:
    """``classify --segments`` on recordings of each duration: wall time, real-time factor and peak RSS of the
    process (flat in the length: the file is streamed)."""
    import subprocess
    import sys

    rows = {}
    for seconds in durations:   # ROOT's edge_runtime, whichever folder the benchmark runs from
        path = long_recording(clips, Path(workdir) / f"long_{int(seconds)}s.wav", seconds)
        proc = subprocess.run([sys.executable, "-c", _SEGMENTS, str(path)], capture_output=True, text=True,
                              timeout=3600)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        row["real_time_factor"] = row["wall_s"] / seconds
        rows[f"{seconds:g}"] = row
        path.unlink()
    return {"rows": rows}
