"""Per-inference latency of a .tflite file, batch 1: median and p95 over many runs.

Runs in-process for ai-edge-litert and TensorFlow's own interpreter, and in the
tflite-runtime venv (numpy<2) through ``python -m benchmarks.latency``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def time_invocations(interpreter, x: np.ndarray, runs: int, warmup: int = 10) -> dict:
    """Time ``runs`` invocations on input ``x`` already quantised to the input tensor's dtype."""
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], x)
    for _ in range(warmup):
        interpreter.invoke()
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter()
        interpreter.invoke()
        times[i] = time.perf_counter() - t0
    return {"median_ms": float(np.median(times) * 1e3), "p95_ms": float(np.percentile(times, 95) * 1e3),
            "runs": runs}


def measure(model: Path, features: np.ndarray, backend: str, threads: int, runs: int) -> dict:
    """Latency of ``model`` in ``backend`` ('ai_edge_litert', 'tflite_runtime' or 'tensorflow')."""
    if backend == "tflite_runtime" and "tflite_runtime" not in sys.modules:
        return _measure_in_venv(model, features, threads, runs)
    if backend == "tensorflow":
        import tensorflow as tf

        interpreter = tf.lite.Interpreter(model_path=str(model), num_threads=threads)
        interpreter.allocate_tensors()
    else:
        from edge_runtime.interpreter import load_interpreter

        interpreter = load_interpreter(model, num_threads=threads, backend=backend)
    from edge_runtime.interpreter import model_input

    return time_invocations(interpreter, model_input(interpreter, features), runs)


def _measure_in_venv(model: Path, features: np.ndarray, threads: int, runs: int) -> dict:
    from .venvs import tflite_runtime_python

    npy = ROOT / "cache" / "benchmark_input.npy"
    npy.parent.mkdir(exist_ok=True)
    np.save(npy, features.astype(np.float32))
    proc = subprocess.run([str(tflite_runtime_python()), "-m", "benchmarks.latency", str(model), str(npy),
                           str(threads), str(runs)], capture_output=True, text=True, timeout=900, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if proc.returncode != 0:
        raise RuntimeError(f"tflite-runtime latency run failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":  # inside the tflite-runtime venv
    import tflite_runtime  # noqa: F401  (marks the backend as in-process)

    model_path, npy_path, n_threads, n_runs = sys.argv[1:5]
    print(json.dumps(measure(Path(model_path), np.load(npy_path), "tflite_runtime", int(n_threads), int(n_runs))))
