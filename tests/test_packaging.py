"""What `pip install ".[edge]"` puts on a device: edge_runtime and its models, nothing with a generic name."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow   # builds a wheel (about 15 s)
def test_the_wheel_holds_only_the_device_package(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"edge_runtime"}, top
    for model in ("model_int8.tflite", "model_float32.tflite", "model.json", "speaker_norm/model_int8.tflite",
                  "speaker_norm/model.json"):
        assert f"edge_runtime/models/{model}" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "ser = edge_runtime.cli:main" in scripts and "train" not in scripts
