"""The shipped float32 and int8 files give the same scores in ai-edge-litert (numpy 2, this
environment) and in tflite-runtime 2.14 (numpy<2, its own venv without TensorFlow): float32 to
rounding, int8 to a few quantisation steps (the two runtimes' int8 kernels round differently), so
their labels differ only where the top two scores are that close."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from benchmarks.venvs import tflite_runtime_python
from edge_runtime.interpreter import load_interpreter, run_model

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "edge_runtime" / "models"

SCRIPT = """
import json, sys
import numpy as np
from edge_runtime.interpreter import load_interpreter, run_model
data = np.load(sys.argv[1])
out = {}
for name in ("model_float32.tflite", "model_int8.tflite"):
    it = load_interpreter(sys.argv[2] + "/" + name, backend="tflite_runtime")
    out[name] = [np.asarray(run_model(it, x[None]), dtype=float).ravel().tolist() for x in data["x"]]
import importlib.util
out["tensorflow_installed"] = importlib.util.find_spec("tensorflow") is not None
out["numpy"] = np.__version__
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def features(data_root, tmp_path_factory):
    from edge_runtime.features import features as edge_features
    from edge_runtime.model_card import load_card
    from train.audio import load_audio

    card = load_card(MODELS / "model_int8.tflite")   # its features (MFCCs, and the prosody columns it takes)
    config = card.feature_config
    clips = sorted(data_root.glob("Actor_2[0-2]/*.flac"))[::6]
    x = np.stack([(edge_features(load_audio(f, config.sample_rate), config) - card.mean) / card.std for f in clips])
    path = tmp_path_factory.mktemp("runtimes") / "features.npz"
    np.savez(path, x=x.astype(np.float32))
    return path, x


def test_litert_and_tflite_runtime_agree(features):
    path, x = features
    proc = subprocess.run([str(tflite_runtime_python()), "-c", SCRIPT, str(path), str(MODELS)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    legacy = json.loads(proc.stdout.strip().splitlines()[-1])
    assert not legacy["tensorflow_installed"] and legacy["numpy"].startswith("1.")
    for name, tolerance in (("model_float32.tflite", 1e-4), ("model_int8.tflite", 8 / 256)):
        it = load_interpreter(MODELS / name, backend="ai_edge_litert")
        litert = np.array([np.asarray(run_model(it, xi[None]), dtype=float).ravel() for xi in x])
        other = np.array(legacy[name])
        assert np.abs(litert - other).max() <= tolerance, name
        top2 = np.sort(litert, axis=1)[:, -2:]
        decided = top2[:, 1] - top2[:, 0] > 2 * tolerance            # not a near tie
        assert decided.mean() > 0.9, name
        assert (litert.argmax(1) == other.argmax(1))[decided].all(), name
    assert len(x) >= 20
