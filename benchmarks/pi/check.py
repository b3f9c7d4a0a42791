"""What the emulated Raspberry Pi must show: run by ``benchmarks/pi/emulate.sh``, on x86 and under qemu.

On the host (``--record``) it writes what the x86 build prints; inside the
emulated arm64 Debian 12 it runs the same commands with one interpreter
backend and compares. It uses only the standard library and the installed
package with its edge extras, exactly as a Pi user's venv holds it (no TensorFlow, no librosa).

    python benchmarks/pi/check.py --clips DIR --record expected.json
    python benchmarks/pi/check.py --clips DIR --expected expected.json --backend tflite_runtime --out result.json
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import platform
import subprocess
import sys
from pathlib import Path

# The checkout's root goes at the END of the path: `benchmarks` (not installed) imports from it, while
# `edge_runtime` still comes from the installed package, which is what this checks.
sys.path.append(str(Path(__file__).resolve().parents[2]))

MODELS = ("int8", "float32")
FORBIDDEN = ("tensorflow", "librosa", "numba", "keras")


def run(args: list[str], backend: str | None) -> str:
    """Run ``python -m edge_runtime ...`` (with ``--backend``) and return its stdout; fail loudly with its stderr."""
    args = [*args, "--backend", backend] if backend else args
    proc = subprocess.run([sys.executable, "-m", "edge_runtime", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"FAIL: edge_runtime {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def classify(clips: list[Path], model: str, backend: str | None) -> dict[str, str]:
    """File name -> label from ``classify --json``."""
    lines = run(["classify", "--json", "--model", model, *map(str, clips)], backend).splitlines()
    return {Path(d["path"]).name: d["label"] for d in map(json.loads, lines)}


def adapted(clips: list[Path], backend: str | None) -> dict[str, str]:
    """File name -> label of the bundled pair (default + speaker-adapted companion) after hearing every clip as
    one speaker's (``enrol_windows=1``, so that a few clips are enough for the companion to join)."""
    from edge_runtime import AdaptiveClassifier
    from edge_runtime.audio import load_audio

    clf = AdaptiveClassifier(backend=backend, enrol_windows=1)
    sr = clf.config.sample_rate
    windows = {c.name: clf.features(load_audio(c, sr), sr) for c in clips}
    for window in windows.values():
        clf.enrol(window)
    return {name: clf.predict_features(window).label for name, window in windows.items()}


def listen(clip: Path, backend: str | None) -> dict:
    """Window labels of ``listen --input CLIP --fast --json`` and the majority speech label."""
    windows = [json.loads(line) for line in run(["listen", "--input", str(clip), "--fast", "--json"], backend).splitlines()]
    speech = [w["label"] for w in windows if w["label"] != "silence"]
    majority = collections.Counter(speech).most_common(1)[0][0] if speech else "silence"
    return {"windows": [w["label"] for w in windows], "majority": majority}


def latency(clip: Path, model: str, backend: str | None, runs: int) -> dict:
    """Median milliseconds of the edge MFCC and of one inference (1 thread)."""
    from benchmarks.pipeline import median_ms
    from edge_runtime import EmotionClassifier
    from edge_runtime.audio import load_audio

    clf = EmotionClassifier(model, num_threads=1, backend=backend)
    audio = load_audio(clip, clf.config.sample_rate)
    mfcc = clf.features(audio, clf.config.sample_rate)
    clf.scores(mfcc)
    mfcc_ms, _ = median_ms(lambda: clf.features(audio, clf.config.sample_rate), runs)
    inference_ms, _ = median_ms(lambda: clf.scores(mfcc), runs)
    return {"mfcc_ms": round(mfcc_ms, 3), "inference_ms": round(inference_ms, 3), "backend": clf.backend}


def portaudio() -> str:
    """The PortAudio version the ``mic`` extra's sounddevice loads (fails if libportaudio2 is missing)."""
    try:
        import sounddevice
    except OSError as err:
        raise SystemExit(f"FAIL: sounddevice cannot load PortAudio ({err})") from None
    return sounddevice.get_portaudio_version()[1]


def observe(clips: list[Path], backend: str | None, runs: int) -> dict:
    """Everything this machine prints for ``clips``."""
    return {"machine": platform.machine(), "python": platform.python_version(),
            "classify": {m: classify(clips, m, backend) for m in MODELS},
            "listen": listen(clips[0], backend),
            "adapted": adapted(clips, backend),
            "latency": {m: latency(clips[0], m, backend, runs) for m in MODELS}}


def compare(seen: dict, expected: dict) -> list[str]:
    """One line per difference that matters (labels), empty when the device agrees with x86."""
    problems = []
    for model in MODELS:
        for name, label in expected["classify"][model].items():
            got = seen["classify"][model].get(name)
            if got != label:
                problems.append(f"classify {model} {name}: {got} on {seen['machine']}, {label} on x86")
    for name, label in expected["adapted"].items():
        if seen["adapted"].get(name) != label:
            problems.append(f"adapted {name}: {seen['adapted'].get(name)} on {seen['machine']}, {label} on x86")
    if seen["listen"]["majority"] != expected["listen"]["majority"]:
        problems.append(f"listen majority {seen['listen']['majority']} vs {expected['listen']['majority']} on x86")
    return problems


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=Path, required=True, help="folder of audio clips")
    p.add_argument("--record", type=Path, help="write this machine's observations here (the x86 reference)")
    p.add_argument("--expected", type=Path, help="x86 observations to compare with")
    p.add_argument("--backend", default=None, help="ai_edge_litert or tflite_runtime")
    p.add_argument("--runs", type=int, default=30, help="timed runs per latency figure")
    p.add_argument("--out", type=Path, help="write this machine's observations and verdict here")
    args = p.parse_args()

    present = [m for m in FORBIDDEN if importlib.util.find_spec(m) is not None]
    if present and not args.record:   # the x86 reference may be a full dev environment
        print(f"FAIL: the edge environment holds {', '.join(present)}", file=sys.stderr)
        return 1
    clips = sorted(c for c in args.clips.iterdir() if c.suffix in (".wav", ".flac"))
    seen = observe(clips, args.backend, args.runs)
    if not args.record:
        seen["portaudio"] = portaudio()
    if args.record:
        args.record.write_text(json.dumps(seen, indent=2))
        return 0
    problems = compare(seen, json.loads(args.expected.read_text()))
    seen["agrees_with_x86"] = not problems
    if args.out:
        args.out.write_text(json.dumps(seen, indent=2))
    agree = sum(len(v) for v in seen["classify"].values()) + len(seen["adapted"])
    for line in problems:
        print(f"FAIL: {line}", file=sys.stderr)
    lat = "  ".join(f"{m} inference {v['inference_ms']} ms, MFCC {v['mfcc_ms']} ms"
                    for m, v in seen["latency"].items())
    print(f"{seen['machine']} python {seen['python']} {seen['latency']['int8']['backend']}: "
          f"{agree - len(problems)}/{agree} labels as on x86, listen majority {seen['listen']['majority']}; "
          f"emulated latency (relative only): {lat}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
