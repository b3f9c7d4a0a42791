"""``python -m benchmarks``: accuracy, size, latency, end-to-end time and memory, side by side in one run."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.cli import HelpFormatter

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "edge_runtime" / "models"
#: Report sections made by their own commands (benchmarks.upload_memory, benchmarks.calibration), kept by a full run.
SEPARATE_SECTIONS = ("upload_memory", "calibration")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="few clips and runs (CI): the shipped model on a few clips, no speaker-run conversion")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="report folder")
    p.add_argument("--runs", type=int, default=None, help="timed inferences per cell (default 300, quick 30)")
    p.add_argument("--data", action="append", default=None, metavar="KIND=PATH",
                   help="corpus folders as for python -m train (default: every shared folder)")
    p.add_argument("--speaker-run", type=Path, default=ROOT / "runs" / "speaker",
                   help="run folder of the speaker protocol (converted into cache/ if needed)")
    p.add_argument("--companion-run", type=Path, default=ROOT / "runs" / "speaker-sn",
                   help="the companion recipe's speaker-protocol run (converted into the cache if needed)")
    p.add_argument("--corpus-runs", type=Path, nargs="*", default=None,
                   help="run folders of the corpus protocol (default: runs/corpus-*)")
    p.add_argument("--no-tflite-runtime", action="store_true", help="skip the tflite-runtime 2.14 venv")
    return p


def _step(i: int, n: int, text: str) -> None:
    print(f"[{i}/{n}] {text}", file=sys.stderr, flush=True)


def tflite_runtime_version() -> str:
    from .venvs import tflite_runtime_python

    proc = subprocess.run([str(tflite_runtime_python()), "-c", "import tflite_runtime; print(tflite_runtime.__version__)"],
                          capture_output=True, text=True)
    return proc.stdout.strip() or "?"


def run(args) -> Path:
    from tqdm.auto import tqdm

    from edge_runtime import EmotionClassifier
    from edge_runtime.audio import read_audio
    from train.corpora import Source, default_sources

    from . import accuracy, latency, memory, pipeline, robustness, soak
    from .machine import machine_info

    sources = [Source.parse(d) for d in args.data] if args.data else default_sources()
    runs = args.runs or (30 if args.quick else 300)
    limit = 24 if args.quick else None
    runtimes = ["ai_edge_litert"] + ([] if args.no_tflite_runtime else ["tflite_runtime"]) + ["tensorflow"]
    n = 10
    results = {"quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine_info()}
    if "tflite_runtime" in runtimes:
        results["tflite_runtime_version"] = tflite_runtime_version()

    _step(1, n, "accuracy: Keras float, TFLite float32 and int8 on held-out test clips, per corpus")
    if args.quick:   # the shipped model, on a few of the speaker split's test clips (it trained on them: a smoke)
        results["accuracy"] = {"smoke": accuracy.evaluate(ROOT / "runs" / "default", MODELS, sources, limit,
                                                          files_from=args.speaker_run)}
    else:
        speaker_models = accuracy.converted_models(args.speaker_run, ROOT / "cache" / "benchmarks" / "speaker-models",
                                                   sources)
        results["accuracy"] = {"speaker": accuracy.evaluate(args.speaker_run, speaker_models, sources)}
    corpus_runs = args.corpus_runs if args.corpus_runs is not None else sorted((ROOT / "runs").glob("corpus-*"))
    results["corpus"] = accuracy.corpus_protocol(corpus_runs)
    results["sizes_kb"] = {v: (MODELS / f"model_{v}.tflite").stat().st_size / 1024 for v in ("float32", "int8")}

    _step(2, n, "robustness: int8 models under simulated microphones and rooms")
    if args.quick:
        results["robustness"] = {"smoke": robustness.evaluate(EmotionClassifier(), *robustness.test_split(
            args.speaker_run, sources, limit))}
    else:   # unseen voices: the speaker run's int8 file on its held-out speakers of every corpus
        results["robustness"] = {"speaker": robustness.evaluate(
            EmotionClassifier(speaker_models / "model_int8.tflite"), *robustness.test_split(args.speaker_run, sources))}

    from . import utterances

    if args.quick:   # the shipped model on a few clips: a smoke of the code path
        results["utterances"] = {"smoke": utterances.measure(
            EmotionClassifier(), *zip(*[(c.path, c.label) for c in accuracy.test_clips(args.speaker_run, sources)[::100]]))}
    else:
        results["utterances"] = utterances.held_out(args.speaker_run, speaker_models, sources)

    _step(3, n, "speaker adaptation: default model, speaker-normalised companion and the pair, per corpus")
    from . import adaptation

    if args.quick:   # the shipped pair on a few clips it trained on: a smoke of the code path
        results["adaptation"] = adaptation.evaluate(args.speaker_run, MODELS, MODELS / "speaker_norm", sources,
                                                    ks=(None,), limit=limit, variants=("int8",))   # the one shipped
        results["adaptation"]["conditions"] = adaptation.under_conditions(
            args.speaker_run, MODELS, MODELS / "speaker_norm", sources, k=None, limit=limit)
    else:
        companion = accuracy.converted_models(args.companion_run, ROOT / "cache" / "benchmarks" / "companion-models",
                                              sources)
        results["adaptation"] = adaptation.evaluate(args.speaker_run, speaker_models, companion, sources,
                                                    ks=(None, 10, 30), companion_run=args.companion_run)
        results["adaptation"]["conditions"] = adaptation.under_conditions(args.speaker_run, speaker_models,
                                                                          companion, sources, k=10)

    _step(4, n, f"latency: {runs} runs per cell, {len(runtimes)} runtimes x 2 models x 1-2 threads")
    sample = sorted((ROOT / "samples").glob("*.flac"))[0]
    clf = EmotionClassifier()
    window = clf.card.normalise(clf.features(*read_audio(sample)))
    cells = [(rt, m, t) for rt in runtimes for m in ("float32", "int8") for t in (1, 2)]
    results["latency"] = []
    for rt, m, t in tqdm(cells, desc="latency", file=sys.stderr):
        r = latency.measure(MODELS / f"model_{m}.tflite", window, rt, t, runs)
        results["latency"].append({"runtime": rt, "model": m, "threads": t, **r})
    median = {(r["runtime"], r["model"], r["threads"]): r["median_ms"] for r in results["latency"]}
    results["int8_speedup"] = [{"runtime": rt, "threads": t, "speedup": median[rt, "float32", t] / median[rt, "int8", t]}
                               for rt in runtimes for t in (1, 2)]

    _step(5, n, "end to end: decode, resample, MFCC, inference per 4 s of 48 kHz audio")
    with tempfile.TemporaryDirectory() as tmp:
        results["end_to_end"] = pipeline.end_to_end(sample, Path(tmp), repeats=5 if args.quick else 50)

    _step(6, n, "edge MFCC vs librosa MFCC (librosa compiles itself first, ~30 s)")
    ravdess = next((s.root for s in sources if s.kind == "ravdess"), None)
    clips = (sorted(ravdess.glob("Actor_0[1-4]/*.flac"))[:: (60 if args.quick else 8)] if ravdess else
             sorted((ROOT / "samples").glob("*.flac")))
    results["mfcc"] = pipeline.mfcc_versus_librosa(clips, repeats=3 if args.quick else 7)
    results["resample"] = pipeline.resample_rates(repeats=5 if args.quick else 30)

    with tempfile.TemporaryDirectory() as tmp:
        results["segments"] = pipeline.segments_scaling(
            clips[:6], Path(tmp), durations=(10.0, 60.0) if args.quick else (10.0, 600.0, 3600.0))

    _step(7, n, "speech check: real clips refused, synthetic non-speech accepted")
    results["speech_check"] = pipeline.speech_check(sources, limit=200 if args.quick else None)

    _step(8, n, "peak memory: edge runtime vs TensorFlow process")
    results["memory"] = {
        "edge_runtime int8 (ai-edge-litert)": memory.peak_rss("edge", sample, "int8"),
        "edge_runtime float32 (ai-edge-litert)": memory.peak_rss("edge", sample, "float32"),
        "TensorFlow + Keras model": memory.peak_rss("tensorflow", sample, ROOT / "runs" / "default" / "model.keras"),
    }

    _step(9, n, "web app under load: uploads by threads sharing one classifier, memory over time")
    few = clips[:: max(1, len(clips) // 8)][:8]
    results["shared_classifier"] = soak.shared_classifier(few, threads=4, calls=10 if args.quick else 50)
    results["soak"] = soak.soak(few, uploads=40 if args.quick else 300, sessions=4, every=10 if args.quick else 25)
    if not args.quick and Path("/usr/bin/chromium").exists():
        with tempfile.TemporaryDirectory() as tmp:
            results["server_soak"] = soak.server_soak(few, Path(tmp), uploads=80)

    _step(10, n, f"report: {args.out}")
    from .report import write_report

    earlier = args.out / "results.json"     # sections measured by their own commands are carried over
    if earlier.exists():
        kept = json.loads(earlier.read_text())
        results.update({k: kept[k] for k in SEPARATE_SECTIONS if k in kept and k not in results})

    return write_report(results, args.out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        path = run(args)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(path.read_text())
    return 0
