"""``python -m benchmarks``: accuracy, size, latency, end-to-end time and memory, side by side in one run.

``--only SECTION ...`` measures some sections again (after a retrain: ``--only accuracy robustness utterances
adaptation``) and keeps the others from the existing ``results.json``; the report says when each was measured.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, Optional, Sequence

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
    p.add_argument("--only", nargs="+", choices=list(SECTIONS), default=None, metavar="SECTION",
                   help=f"measure these sections and keep the rest from OUT/results.json ({', '.join(SECTIONS)})")
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


def tflite_runtime_version() -> str:
    from .venvs import tflite_runtime_python

    proc = subprocess.run([str(tflite_runtime_python()), "-c", "import tflite_runtime; print(tflite_runtime.__version__)"],
                          capture_output=True, text=True)
    return proc.stdout.strip() or "?"


@dataclass
class Bench:
    """What the sections share: the parsed arguments, the corpora, and the speaker run's converted models."""

    args: argparse.Namespace
    sources: list = field(default_factory=list)

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)

    @property
    def limit(self) -> Optional[int]:
        return 24 if self.quick else None

    @cached_property
    def speaker_models(self) -> Path:
        from . import accuracy
        return accuracy.converted_models(self.args.speaker_run, ROOT / "cache" / "benchmarks" / "speaker-models",
                                         self.sources)

    @cached_property
    def sample(self) -> Path:
        return sorted((ROOT / "samples").glob("*.flac"))[0]

    @cached_property
    def clips(self) -> list[Path]:
        """RAVDESS clips of four actors (the samples where RAVDESS is not there): MFCC, segments, soak."""
        ravdess = next((s.root for s in self.sources if s.kind == "ravdess"), None)
        return (sorted(ravdess.glob("Actor_0[1-4]/*.flac"))[:: (60 if self.quick else 8)] if ravdess else
                sorted((ROOT / "samples").glob("*.flac")))


def accuracy_section(b: Bench) -> dict:
    """Keras float, TFLite float32 and int8 on held-out clips per corpus; leave-one-corpus-out; sizes."""
    from . import accuracy

    if b.quick:   # the shipped model, on a few of the speaker split's test clips (it trained on them: a smoke)
        acc = {"smoke": accuracy.evaluate(ROOT / "runs" / "default", MODELS, b.sources, b.limit,
                                          files_from=b.args.speaker_run)}
    else:
        acc = {"speaker": accuracy.evaluate(b.args.speaker_run, b.speaker_models, b.sources)}
    corpus_runs = b.args.corpus_runs if b.args.corpus_runs is not None else sorted((ROOT / "runs").glob("corpus-*"))
    return {"accuracy": acc, "corpus": accuracy.corpus_protocol(corpus_runs),
            "sizes_kb": {v: (MODELS / f"model_{v}.tflite").stat().st_size / 1024 for v in ("float32", "int8")}}


def robustness_section(b: Bench) -> dict:
    """int8 models under simulated microphones and rooms."""
    from edge_runtime import EmotionClassifier

    from . import robustness

    if b.quick:
        return {"robustness": {"smoke": robustness.evaluate(EmotionClassifier(), *robustness.test_split(
            b.args.speaker_run, b.sources, b.limit))}}
    # unseen voices: the speaker run's int8 file on its held-out speakers of every corpus
    return {"robustness": {"speaker": robustness.evaluate(
        EmotionClassifier(b.speaker_models / "model_int8.tflite"), *robustness.test_split(b.args.speaker_run, b.sources))}}


def utterances_section(b: Bench) -> dict:
    """Emotion per utterance of held-out clips joined into recordings."""
    from edge_runtime import EmotionClassifier

    from . import accuracy, utterances

    if b.quick:   # the shipped model on a few clips: a smoke of the code path
        clips = accuracy.test_clips(b.args.speaker_run, b.sources)[::100]
        return {"utterances": {"smoke": utterances.measure(EmotionClassifier(), *zip(*[(c.path, c.label)
                                                                                          for c in clips]))}}
    return {"utterances": utterances.held_out(b.args.speaker_run, b.speaker_models, b.sources)}


def adaptation_section(b: Bench) -> dict:
    """The default model, the speaker-normalised companion and the pair, per corpus."""
    from . import accuracy, adaptation

    if b.quick:   # the shipped pair on a few clips it trained on: a smoke of the code path
        result = adaptation.evaluate(b.args.speaker_run, MODELS, MODELS / "speaker_norm", b.sources,
                                     ks=(None,), limit=b.limit, variants=("int8",))   # the one shipped
        result["conditions"] = adaptation.under_conditions(
            b.args.speaker_run, MODELS, MODELS / "speaker_norm", b.sources, k=None, limit=b.limit)
        return {"adaptation": result}
    companion = accuracy.converted_models(b.args.companion_run, ROOT / "cache" / "benchmarks" / "companion-models",
                                          b.sources)
    result = adaptation.evaluate(b.args.speaker_run, b.speaker_models, companion, b.sources,
                                 ks=(None, 10, 30), companion_run=b.args.companion_run)
    result["conditions"] = adaptation.under_conditions(b.args.speaker_run, b.speaker_models, companion, b.sources,
                                                       k=10)
    return {"adaptation": result}


def latency_section(b: Bench) -> dict:
    """Batch-1 latency per runtime, model and thread count."""
    from tqdm.auto import tqdm

    from edge_runtime import EmotionClassifier
    from edge_runtime.audio import read_audio

    from . import latency

    runs = b.args.runs or (30 if b.quick else 300)
    runtimes = ["ai_edge_litert"] + ([] if b.args.no_tflite_runtime else ["tflite_runtime"]) + ["tensorflow"]
    clf = EmotionClassifier()
    window = clf.card.normalise(clf.features(*read_audio(b.sample)))
    rows = []
    for rt, m, t in tqdm([(rt, m, t) for rt in runtimes for m in ("float32", "int8") for t in (1, 2)],
                         desc="latency", file=sys.stderr):
        rows.append({"runtime": rt, "model": m, "threads": t,
                     **latency.measure(MODELS / f"model_{m}.tflite", window, rt, t, runs)})
    median = {(r["runtime"], r["model"], r["threads"]): r["median_ms"] for r in rows}
    out = {"latency": rows,
           "int8_speedup": [{"runtime": rt, "threads": t, "speedup": median[rt, "float32", t] / median[rt, "int8", t]}
                            for rt in runtimes for t in (1, 2)]}
    if "tflite_runtime" in runtimes:
        out["tflite_runtime_version"] = tflite_runtime_version()
    return out


def pipeline_section(b: Bench) -> dict:
    """End to end per 4 s of 48 kHz audio, edge MFCC vs librosa, resampling, long recordings."""
    from . import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        out = {"end_to_end": pipeline.end_to_end(b.sample, Path(tmp), repeats=5 if b.quick else 50)}
    out["mfcc"] = pipeline.mfcc_versus_librosa(b.clips, repeats=3 if b.quick else 7)
    out["resample"] = pipeline.resample_rates(repeats=5 if b.quick else 30)
    with tempfile.TemporaryDirectory() as tmp:
        out["segments"] = pipeline.segments_scaling(b.clips[:6], Path(tmp),
                                                    durations=(10.0, 60.0) if b.quick else (10.0, 600.0, 3600.0))
    return out


def speech_check_section(b: Bench) -> dict:
    """Real clips refused and synthetic non-speech accepted by the speech check."""
    from . import pipeline

    return {"speech_check": pipeline.speech_check(b.sources, limit=200 if b.quick else None)}


def memory_section(b: Bench) -> dict:
    """Peak RSS of the edge runtime against a TensorFlow process."""
    from . import memory

    return {"memory": {
        "edge_runtime int8 (ai-edge-litert)": memory.peak_rss("edge", b.sample, "int8"),
        "edge_runtime float32 (ai-edge-litert)": memory.peak_rss("edge", b.sample, "float32"),
        "TensorFlow + Keras model": memory.peak_rss("tensorflow", b.sample, ROOT / "runs" / "default" / "model.keras"),
    }}


def soak_section(b: Bench) -> dict:
    """Threads sharing one classifier, memory over many uploads, the web server under browsers."""
    from . import soak

    few = b.clips[:: max(1, len(b.clips) // 8)][:8]
    out = {"shared_classifier": soak.shared_classifier(few, threads=4, calls=10 if b.quick else 50),
           "soak": soak.soak(few, uploads=40 if b.quick else 300, sessions=4, every=10 if b.quick else 25)}
    if not b.quick and Path("/usr/bin/chromium").exists():
        with tempfile.TemporaryDirectory() as tmp:
            out["server_soak"] = soak.server_soak(few, Path(tmp), uploads=80)
    return out


#: The sections of a run, in order (each function's docstring says what it measures).
SECTIONS: dict[str, Callable[[Bench], dict]] = {
    "accuracy": accuracy_section, "robustness": robustness_section, "utterances": utterances_section,
    "adaptation": adaptation_section, "latency": latency_section, "pipeline": pipeline_section,
    "speech_check": speech_check_section, "memory": memory_section, "soak": soak_section,
}


def carried_over(earlier: dict, results: dict) -> dict:
    """The sections of an earlier ``results.json`` that ``results`` has not measured, with the date each was
    measured (``measured``, or the earlier run's date)."""
    skip = {"quick", "date", "machine", "measured"}
    dates = earlier.get("measured", {})
    kept = {k: v for k, v in earlier.items() if k not in skip and k not in results}
    return {**kept, "measured": {k: dates.get(k, earlier.get("date", "?")) for k in kept}}


def run(args) -> Path:
    from train.corpora import Source, default_sources

    from .machine import machine_info
    from .report import timestamp, write_report

    earlier = args.out / "results.json"
    if args.only and not earlier.exists():
        raise FileNotFoundError(f"--only keeps the other sections from {earlier}, which does not exist")
    if args.only and json.loads(earlier.read_text()).get("quick") != args.quick:
        raise RuntimeError(f"{earlier} is a {'full' if args.quick else 'quick'} report: --only must measure "
                           f"the same way ({'without' if args.quick else 'with'} --quick)")
    bench = Bench(args, [Source.parse(d) for d in args.data] if args.data else default_sources())
    names = args.only or list(SECTIONS)
    results = {"quick": args.quick, "date": timestamp(), "machine": machine_info()}
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name}: {SECTIONS[name].__doc__.splitlines()[0]}", file=sys.stderr, flush=True)
        results.update(SECTIONS[name](bench))
    results["measured"] = {k: results["date"] for k in results if k not in ("quick", "date", "machine")}

    if earlier.exists():    # sections measured by their own commands (and, with --only, the others) are kept
        old = carried_over(json.loads(earlier.read_text()), results)
        keep = set(old) - {"measured"} if args.only else set(SEPARATE_SECTIONS) & set(old)
        results.update({k: old[k] for k in keep})
        results["measured"].update({k: old["measured"][k] for k in keep})
    print(f"report: {args.out}", file=sys.stderr, flush=True)
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
