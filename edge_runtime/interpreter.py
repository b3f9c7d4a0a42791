"""Pick a TFLite interpreter: ai-edge-litert if installed, else tflite-runtime.

Neither is TensorFlow: both are small wheels that run on a Raspberry Pi.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

BACKENDS = ("ai_edge_litert", "tflite_runtime")
_MODULES = {"ai_edge_litert": "ai_edge_litert.interpreter", "tflite_runtime": "tflite_runtime.interpreter"}


#: More interpreter threads than this is a mistake (and enough of them crash the interpreter).
MAX_THREADS = 64


class InterpreterUnavailable(ImportError):
    """No TFLite interpreter package is installed."""


def available_backends() -> list[str]:
    """The interpreter packages that import here, preferred first."""
    found = []
    for name in BACKENDS:
        try:
            importlib.import_module(_MODULES[name])
        except ImportError:
            continue
        found.append(name)
    return found


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (where the interpreter's C++ logging goes) while loading a model.

    Errors still reach the caller as exceptions; only the runtime's chatter is dropped.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):   # no real stderr (a notebook, an embedded interpreter)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def load_interpreter(model_path: Union[str, Path], num_threads: Optional[int] = None,
                     backend: Optional[str] = None):
    """An allocated ``Interpreter`` for ``model_path`` from ``backend`` (default: the first available)."""
    if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                    or not 1 <= num_threads <= MAX_THREADS):
        raise ValueError(f"num_threads must be a whole number from 1 to {MAX_THREADS}, got {num_threads!r}")
    names = [backend] if backend else list(BACKENDS)
    for name in names:
        if name not in _MODULES:
            raise ValueError(f"unknown interpreter backend {name!r}; choose from {BACKENDS}")
        try:
            module = importlib.import_module(_MODULES[name])
        except ImportError:
            continue
        with _quiet_stderr():   # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on every run
            interpreter = module.Interpreter(model_path=str(model_path), num_threads=num_threads)
            interpreter.allocate_tensors()
        interpreter.backend = name
        return interpreter
    raise InterpreterUnavailable(
        "no TFLite interpreter found: pip install ai-edge-litert (or tflite-runtime with numpy<2)")


def model_input(interpreter, x: np.ndarray) -> np.ndarray:
    """Float features -> the input tensor's shape and dtype (quantised with its scale and zero point)."""
    inp = interpreter.get_input_details()[0]
    x = np.asarray(x, dtype=np.float32).reshape(inp["shape"])
    if inp["dtype"] != np.float32:
        scale, zero = inp["quantization"]
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
    return x


def run_model(interpreter, x: np.ndarray) -> np.ndarray:
    """One inference on float features ``x`` of the model's input shape; returns float scores.

    Quantised (int8) inputs and outputs are converted with the tensors' own
    scale and zero point, so callers always deal in float.
    """
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]
    interpreter.set_tensor(inp["index"], model_input(interpreter, x))
    interpreter.invoke()
    y = interpreter.get_tensor(out["index"])
    if out["dtype"] != np.float32:
        scale, zero = out["quantization"]
        y = (y.astype(np.float32) - zero) * scale
    return y.reshape(-1)
