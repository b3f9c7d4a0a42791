"""Bad and unusual files: each gets a result or one clear line on stderr, never a traceback."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def zoo(tmp_path_factory, clip_path):
    """A folder of good-but-unusual and broken files made from one real clip."""
    d = tmp_path_factory.mktemp("zoo")
    x, sr = sf.read(clip_path, dtype="float32")
    sf.write(d / "pcm16.wav", x, sr, subtype="PCM_16")
    sf.write(d / "pcm24.wav", x, sr, subtype="PCM_24")
    sf.write(d / "float.wav", x, sr, subtype="FLOAT")
    sf.write(d / "pcm8.wav", x, sr, subtype="PCM_U8")
    from edge_runtime import resample
    sf.write(d / "rate8k.wav", resample(x, sr, 8000), 8000, subtype="PCM_16")
    whole = (d / "pcm16.wav").read_bytes()
    (d / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    flac = Path(clip_path).read_bytes()
    (d / "truncated.flac").write_bytes(flac[: len(flac) // 2])
    (d / "header_only.wav").write_bytes(whole[:30])
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("not audio at all\n" * 50)
    sf.write(d / "zeros.wav", np.zeros(sr * 2, np.float32), sr, subtype="PCM_16")
    y = x.copy()
    y[len(y) // 2] = np.nan
    sf.write(d / "nan.wav", y, sr, subtype="FLOAT")
    with sf.SoundFile(d / "hour.wav", "w", 8000, 1, "PCM_U8") as f:  # 1 h, 29 MB
        minute = 0.1 * np.sin(2 * np.pi * 200 * np.arange(8000 * 60) / 8000).astype(np.float32)
        for _ in range(60):
            f.write(minute)
    return d


@pytest.fixture(scope="module")
def classified(zoo):
    proc = subprocess.run([sys.executable, "-m", "edge_runtime", "classify", "--json", str(zoo)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    errors = {}
    for line in proc.stderr.splitlines():
        if line.startswith(("error: ", "warning: ")):
            kind, rest = line.split(": ", 1)
            errors[Path(rest.split(": ", 1)[0]).name] = (kind, rest.split(": ", 1)[1])
    return proc, rows, errors


@pytest.mark.parametrize("name, reason", [
    ("empty.wav", "empty file"),
    ("text.wav", "cannot read audio"),
    ("header_only.wav", "cannot read audio"),
    ("truncated.flac", "cannot decode audio"),
    ("zeros.wav", "silent"),
    ("nan.wav", "NaN"),
    ("hour.wav", "3600.0 s long"),
])
def test_broken_files_get_one_clear_line(classified, name, reason):
    proc, rows, errors = classified
    assert name not in rows
    kind, message = errors[name]
    assert kind == "error" and reason in message


def test_unusual_but_valid_files_are_classified(classified):
    proc, rows, errors = classified
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    # 24-bit and float hold the 16-bit recording exactly enough to give the same answer.
    assert rows["pcm24.wav"]["label"] == rows["float.wav"]["label"] == rows["pcm16.wav"]["label"]
    assert abs(rows["pcm24.wav"]["confidence"] - rows["pcm16.wav"]["confidence"]) < 0.05
    for name in ("pcm8.wav", "rate8k.wav", "truncated.wav"):   # classified: 8 scores summing to 1, label the best
        scores = rows[name]["scores"]
        assert len(scores) == 8 and abs(sum(scores.values()) - 1) < 1e-3
        assert rows[name]["label"] == max(scores, key=scores.get)
    assert errors["rate8k.wav"][0] == "warning" and "8000 Hz" in errors["rate8k.wav"][1]
    assert f"{len(rows)} of {len(rows) + 7} files classified, 7 failed" in proc.stderr


def test_the_hour_long_file_streams_in_flat_memory(zoo):
    """``listen --input`` takes any length: one hour of a steady tone, replayed as fast as possible."""
    proc = subprocess.run([sys.executable, "-m", "edge_runtime", "listen", "--input", str(zoo / "hour.wav"),
                           "--fast", "--json", "--hop", "2.0"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    windows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(windows) >= 1800 and windows[-1]["time"] >= 3600
    assert " s of audio, " in proc.stderr.splitlines()[-1]  # the closing summary
