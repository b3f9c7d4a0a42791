"""The streaming path: ``listen --input`` replays, flat memory over 10 minutes, a virtual microphone."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge_runtime import EmotionClassifier, StreamClassifier, resample

ROOT = Path(__file__).resolve().parents[1]
#: A clip the shipped model is sure about, so the test judges the stream, not the model.
CONFIDENT = "Actor_22/03-01-05-01-01-01-22.flac"


def listen(*args, timeout=300):
    proc = subprocess.run([sys.executable, "-m", "edge_runtime", "listen", "--json", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    return proc, [json.loads(line) for line in proc.stdout.splitlines()]


def majority(windows):
    speech = [w["label"] for w in windows if w["label"] != "silence"]
    return Counter(speech).most_common(1)[0][0] if speech else "silence"


def test_stream_labels_agree_with_classify_at_48k(data_root, tmp_path):
    path = data_root / CONFIDENT
    expected = EmotionClassifier().predict_file(path).label
    x, sr = sf.read(path, dtype="float32")
    padded = np.concatenate([np.zeros(sr, np.float32), x, np.zeros(sr, np.float32)])
    wav = tmp_path / "at48k.wav"
    sf.write(wav, resample(padded, sr, 48000), 48000, subtype="PCM_16")
    proc, windows = listen("--input", wav, "--fast")
    assert proc.returncode == 0, proc.stderr
    assert windows[0]["label"] == "silence" and windows[0]["time"] == 0.5
    assert sum(w["label"] != "silence" for w in windows) >= 4
    assert majority(windows) == expected
    assert windows[-1]["label"] == "silence"  # the silent tail after the speaker stops
    assert "windows" in proc.stderr.splitlines()[-1]


def test_stream_classifier_gates_silence_and_noise(clip_path):
    clf = EmotionClassifier()
    stream = StreamClassifier(clf, 16000)
    rng = np.random.default_rng(0)
    hum = 0.003 * rng.standard_normal(16000 * 12).astype(np.float32)  # steady room noise, about -50 dBFS
    results = stream.push(np.zeros(16000 * 2, np.float32))
    assert [r.label for r in results] == ["silence"] * 4 and results[0].level_db == -100.0
    stream = StreamClassifier(clf, 16000)
    results = stream.push(hum)
    assert all(r.label == "silence" for r in results)  # the floor follows a steady noise
    assert -55 < results[-1].level_db < -45 and results[-1].threshold_db > results[-1].level_db
    x, _ = sf.read(clip_path, dtype="float32")
    speech = stream.push(x + hum[: len(x)])
    assert any(r.is_speech for r in speech)
    assert stream.stats.windows == len(results) + len(speech)


def _rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024


def test_ten_minute_replay_runs_in_flat_memory(data_root, tmp_path):
    """10 minutes of real speech and pauses through ``listen --input --fast``: RSS stays flat."""
    files = sorted(data_root.glob("Actor_1[0-2]/*.flac"))
    path = tmp_path / "ten_minutes.wav"
    sr, total = 16000, 0
    with sf.SoundFile(path, "w", sr, 1, "PCM_16") as f:
        for i in range(10**6):
            x, _ = sf.read(files[i % len(files)], dtype="float32")
            f.write(np.concatenate([x, np.zeros(sr // 2, np.float32)]))
            total += len(x) + sr // 2
            if total >= 600 * sr:
                break
    proc = subprocess.Popen([sys.executable, "-m", "edge_runtime", "listen", "--json", "--input", str(path),
                             "--fast"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    start = end = None
    speech = 0
    for line in proc.stdout:
        w = json.loads(line)
        speech += w["label"] != "silence"
        if start is None and w["time"] >= 30:
            start = _rss_mb(proc.pid)
        if w["time"] >= 595 and end is None:
            end = _rss_mb(proc.pid)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    print(f"\nRSS after 30 s of audio: {start:.1f} MB, after 595 s: {end:.1f} MB; {speech} speech windows")
    assert speech > 600
    assert end - start < 8.0, (start, end)


# ---- a real (virtual) microphone: PulseAudio null sink + remapped source ---------------------------

def _pulse_tools():
    return all(shutil.which(t) for t in ("pulseaudio", "pactl", "paplay"))


@pytest.fixture
def virtual_mic(tmp_path):
    """Start a private PulseAudio with a null sink and a source that hears it; stop it by pid."""
    if not _pulse_tools():
        if os.environ.get("SER_REQUIRE_MIC_TEST"):
            pytest.fail("pulseaudio, pactl and paplay are needed (apt install pulseaudio pulseaudio-utils)")
        pytest.skip("PulseAudio is not installed (CI installs it; see README)")
    runtime = tmp_path / "pulse"
    runtime.mkdir()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime), PULSE_SERVER=f"unix:{runtime}/native",
               HOME=str(tmp_path))
    server = subprocess.Popen(
        ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes", "--use-pid-file=no",
         "-L", f"module-native-protocol-unix socket={runtime}/native auth-anonymous=1",
         "-L", "module-null-sink sink_name=virtual_speaker rate=48000",
         "-L", "module-remap-source master=virtual_speaker.monitor source_name=virtual_mic",
         "--log-target=stderr"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            pytest.fail("PulseAudio did not start: " + server.stderr.read1().decode(errors="replace"))
        subprocess.run(["pactl", "set-default-source", "virtual_mic"], env=env, check=True)
        subprocess.run(["pactl", "set-default-sink", "virtual_speaker"], env=env, check=True)
        yield env
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def test_live_microphone_hears_a_played_clip(virtual_mic, data_root):
    pytest.importorskip("sounddevice")
    path = data_root / CONFIDENT
    expected = EmotionClassifier().predict_file(path).label
    env = virtual_mic
    listener = subprocess.Popen([sys.executable, "-m", "edge_runtime", "listen", "--json", "--device", "pulse",
                                 "--duration", "12"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=ROOT)
    try:
        first = json.loads(listener.stdout.readline())  # the first window: samples are flowing
        assert first["label"] == "silence"
        subprocess.run(["paplay", "--device=virtual_speaker", str(path)], env=env, check=True, timeout=30)
        windows = [first] + [json.loads(line) for line in listener.stdout]
        assert listener.wait(timeout=30) == 0, listener.stderr.read()
    finally:
        if listener.poll() is None:
            listener.kill()
    summary = listener.stderr.read() if listener.stderr else ""
    speech = [w for w in windows if w["label"] != "silence"]
    assert len(speech) >= 4, windows
    assert majority(windows) == expected
    assert "input overflows" in summary
