"""Hostile inputs, round two: decoded-size bombs, many-channel files, the web app's command line."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge_runtime.audio import MAX_DECODED_SAMPLES, AudioFileError, load_audio, read_audio
from edge_runtime.resample import resample

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "03-01-05-01-02-01-11.flac"   # angry


def _edge(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "edge_runtime", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def _peak_mb(code: str) -> float:
    """Peak RSS in MB of a fresh Python process running ``code`` (with the repository importable)."""
    probe = code + "\nimport resource; print('RSS_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return float(proc.stdout.split("RSS_MB")[1])


def test_block_decoding_gives_the_samples_of_one_call(tmp_path):
    x, sr = read_audio(SAMPLE)
    rng = np.random.default_rng(0)
    for rate, channels in ((44100, 2), (22050, 9), (96000, 3), (16000, 1)):
        data = np.repeat(resample(x, sr, rate)[:, None], channels, axis=1) * 0.5
        data += rng.normal(0, 1e-3, data.shape).astype(np.float32)
        sf.write(tmp_path / "x.wav", data, rate, subtype="FLOAT")
        whole, whole_sr = read_audio(tmp_path / "x.wav")
        expected = resample(whole, whole_sr, 16000) if whole_sr != 16000 else whole
        np.testing.assert_array_equal(load_audio(tmp_path / "x.wav", 16000), expected)


def test_a_decoded_size_bomb_costs_what_the_same_sound_at_16k_does(tmp_path):
    """3.5 s of speech then a minute of silence at 655,350 Hz: 1.3 MB of FLAC, 160 MB once decoded."""
    x, sr = read_audio(SAMPLE)
    rate = 655350
    speech = resample(x, sr, rate)
    with sf.SoundFile(tmp_path / "bomb.flac", "w", rate, 1, subtype="PCM_16") as f:
        f.write(speech)
        for _ in range(60):
            f.write(np.zeros(rate, np.float32))
    sf.write(tmp_path / "plain.wav", np.concatenate([x, np.zeros(60 * sr, np.float32)]), sr)
    assert (tmp_path / "bomb.flac").stat().st_size < 5e6
    code = ("from webapp.analysis import analyse; from edge_runtime import EmotionClassifier; "
            "from pathlib import Path; import sys\n"
            "p = Path(sys.argv[1]) if len(sys.argv) > 1 else None\n")
    run = ("r = analyse(Path({path!r}).read_bytes(), 'upload', EmotionClassifier())\n"
           "assert r.sample_rate == 16000 and r.audio.nbytes < 5e6 and r.source_rate == {rate}, r.source_rate\n"
           "print('LABEL', r.prediction.label)")
    bomb = _peak_mb(code + run.format(path=str(tmp_path / "bomb.flac"), rate=rate))
    plain = _peak_mb(code + run.format(path=str(tmp_path / "plain.wav"), rate=sr))
    decoded_mb = 61 * rate * 4 / 2**20                       # what decoding at the file's own rate held
    assert bomb - plain < 0.25 * decoded_mb, (bomb, plain)
    # read_audio, which decodes whole, refuses what would not fit its budget, from the header
    sf.write(tmp_path / "wide.wav", np.zeros((MAX_DECODED_SAMPLES // 16 + 1, 16), np.int16), 48000, subtype="PCM_16")
    with pytest.raises(AudioFileError, match="more than the .* decoded at once"):
        read_audio(tmp_path / "wide.wav")
    assert load_audio(tmp_path / "wide.wav", 16000).shape == (((MAX_DECODED_SAMPLES // 16 + 1) + 2) // 3,)


@pytest.fixture(scope="module")
def nine_channels(tmp_path_factory):
    """The sample clip on 9 channels (a recorder's), and its mono copy."""
    folder = tmp_path_factory.mktemp("channels")
    x, sr = sf.read(SAMPLE, dtype="float32")
    sf.write(folder / "nine.wav", np.repeat(x[:, None], 9, axis=1) * 0.9, sr)
    sf.write(folder / "mono.wav", x * 0.9, sr)
    return folder


def test_any_channel_count_is_mixed_the_same_way_on_every_path(nine_channels):
    nine, mono = nine_channels / "nine.wav", nine_channels / "mono.wav"
    batch = _edge("classify", "--json", nine, SAMPLE, mono)
    rows = [json.loads(line) for line in batch.stdout.splitlines()]
    assert batch.returncode == 0 and "Traceback" not in batch.stderr and len(rows) == 3
    assert rows[0]["label"] == rows[2]["label"] == "angry"
    assert rows[0]["confidence"] == pytest.approx(rows[2]["confidence"], abs=1e-6)
    same = _edge("classify", "--json", "--same-speaker", nine, mono)
    assert same.returncode == 0 and [json.loads(line)["label"] for line in same.stdout.splitlines()] == ["angry"] * 2
    for command in (("classify", "--segments", "--json"), ("listen", "--fast", "--json", "--input")):
        a, b = _edge(*command, nine), _edge(*command, mono)
        assert a.returncode == b.returncode == 0 and "Traceback" not in a.stderr
        assert [json.loads(line)["label"] for line in a.stdout.splitlines()] == \
               [json.loads(line)["label"] for line in b.stdout.splitlines()]


@pytest.mark.parametrize("args, message", [(["--port", "99999"], "--port must be between 1 and 65535"),
                                           (["--max-upload-mb", "-5"], "--max-upload-mb must be between 1")])
def test_web_app_options_out_of_range_are_usage_errors(args, message):
    proc = subprocess.run([sys.executable, "-m", "webapp", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
