"""Peak resident memory of a fresh process that loads a model and classifies one clip."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Peak RSS of this process image (VmHWM), which unlike ``ru_maxrss`` does not inherit the parent's peak.
_PEAK = """
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

_EDGE = _PEAK + """
import json, sys, edge_runtime
clf = edge_runtime.EmotionClassifier(sys.argv[2])
label = clf.predict_file(sys.argv[1]).label
print(json.dumps({"label": label, "peak_rss_mb": peak()}))
"""

_TENSORFLOW = _PEAK + """
import json, sys
from pathlib import Path
import numpy as np
from edge_runtime import FeatureConfig
from train.model import load_model
from train.audio import load_audio
from train.features import extract
model = load_model(sys.argv[2])
config = FeatureConfig.load(Path(sys.argv[2]).with_name("feature_config.json"))   # the run's: MFCCs, perhaps prosody
x = extract(load_audio(sys.argv[1], config.sample_rate), config)
label = int(np.argmax(model.predict(x[None], verbose=0)))
print(json.dumps({"label": __import__("edge_runtime").EMOTIONS[label],
                  "peak_rss_mb": peak()}))
"""


def peak_rss(kind: str, clip: Path, model: str) -> dict:
    """``kind`` 'edge' (``model`` = int8/float32/path) or 'tensorflow' (``model`` = a .keras file)."""
    script = _EDGE if kind == "edge" else _TENSORFLOW
    proc = subprocess.run([sys.executable, "-c", script, str(clip), str(model)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} memory run failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
