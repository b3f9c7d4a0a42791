"""The tflite-runtime 2.14 environment (numpy<2, no TensorFlow), built once under ``cache/venvs/``."""
from __future__ import annotations

import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TFLITE_RUNTIME_VENV = ROOT / "cache" / "venvs" / "tflite-runtime-2.14"


def tflite_runtime_python(folder: Path = TFLITE_RUNTIME_VENV) -> Path:
    """Path of the Python in a venv holding ``tflite-runtime==2.14.*`` and ``numpy<2``; created if missing."""
    python = folder / "bin" / "python"
    if not python.exists():
        venv.create(folder, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tflite-runtime==2.14.*", "numpy<2", "soxr>=0.3"],
                       check=True, timeout=600)
    return python
