"""What a hostile but realistic user does: share one classifier between threads, odd sample rates, DC
offsets, channels-first arrays, broken streams, corrupted models. Each gets the right answer or one line."""
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge_runtime import EmotionClassifier
from edge_runtime.audio import read_audio
from edge_runtime.resample import SampleRateError, resample

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.flac"))


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "edge_runtime", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def clf():
    return EmotionClassifier()


@pytest.fixture(scope="module")
def real_clips(data_root):
    """Eight real clips of different actors and emotions, as (audio, rate)."""
    names = ["Actor_01/03-01-05-02-01-01-01.flac", "Actor_02/03-01-04-02-02-02-02.flac",
             "Actor_05/03-01-03-02-01-01-05.flac", "Actor_08/03-01-06-01-02-01-08.flac",
             "Actor_11/03-01-07-02-01-02-11.flac", "Actor_14/03-01-08-01-01-01-14.flac",
             "Actor_17/03-01-01-01-02-02-17.flac", "Actor_20/03-01-02-02-01-01-20.flac"]
    return [read_audio(data_root / n) for n in names]


def test_one_classifier_shared_by_threads_gives_the_serial_answers(clf, real_clips):
    serial = [clf.predict(a, sr).scores for a, sr in real_clips]
    assert len({max(s, key=s.get) for s in serial}) > 1      # the clips do not all look alike
    results, errors = [], []

    def worker(k: int) -> None:
        try:
            for i in range(40):
                j = (i + k) % len(real_clips)
                results.append((j, clf.predict(*real_clips[j]).scores))
        except Exception as err:  # noqa: BLE001 - any error is the failure being tested
            errors.append(repr(err))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(results) == 160
    for j, scores in results:
        assert scores == serial[j]     # exactly: no call got another clip's (or another thread's) scores


@pytest.mark.parametrize("sr", [1, True, 10**9, 44100.5, float("nan"), "16000", 0, -48000])
def test_python_api_refuses_unusable_rates_in_one_line(clf, sr):
    x = np.zeros(16000, np.float32)
    x[4000:12000] = 0.3 * np.sin(np.arange(8000) / 5.0)
    with pytest.raises(SampleRateError) as err:
        clf.predict(x, sr)
    assert len(str(err.value).splitlines()) == 1 and "sample rate" in str(err.value)


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 44101, 48000, 96000, 192001])
def test_resampling_any_rate_keeps_the_label(clf, sr):
    x, sr0 = read_audio(SAMPLES[0])
    at_rate = resample(x, sr0, sr)
    assert abs(len(at_rate) - len(x) * sr / sr0) <= 1
    ref = clf.predict(x, sr0)
    pred = clf.predict(at_rate, sr)
    if sr >= 16000:                     # the band the model hears is all there
        assert pred.label == ref.label and abs(pred.confidence - ref.confidence) < 0.05


def test_odd_rate_files_cost_bounded_memory_and_a_bad_rate_does_not_stop_the_batch(tmp_path):
    x, sr = read_audio(SAMPLES[1])
    for rate in (192001, 44101):
        sf.write(tmp_path / f"b_{rate}.wav", resample(x, sr, rate), rate, subtype="PCM_16")
    sf.write(tmp_path / "a_1000000.wav", x, 1_000_000, subtype="PCM_16")   # a rate no microphone has
    shutil.copy(SAMPLES[1], tmp_path / "c_good.flac")
    probe = ("import resource, subprocess, sys; p = subprocess.run([sys.executable, '-m', 'edge_runtime', "
             f"'classify', '--json', {str(tmp_path)!r}], capture_output=True, text=True); "
             "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr); "
             "print('RSS_MB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr); "
             "sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=ROOT)
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert set(rows) == {"b_192001.wav", "b_44101.wav", "c_good.flac"}
    assert rows["b_192001.wav"]["label"] == rows["b_44101.wav"]["label"] == rows["c_good.flac"]["label"]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "a_1000000.wav" in errors[0] and "outside the supported" in errors[0]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    rss = float(proc.stderr.split("RSS_MB")[1])
    assert rss < 400, f"classify peaked at {rss:.0f} MB"   # the numpy polyphase bank took 3.1 GB at 192001 Hz


def test_dc_offset_does_not_change_the_answer(clf):
    assert clf.config.remove_dc
    x, sr = read_audio(SAMPLES[0])
    ref = clf.predict(x, sr)
    for offset in (0.005, -0.02, 0.1):
        shifted = clf.predict(np.clip(x + offset, -1, 1), sr)
        assert shifted.label == ref.label and abs(shifted.confidence - ref.confidence) < 0.02


def test_dc_only_input_is_silence_everywhere(tmp_path):
    sf.write(tmp_path / "dc.wav", np.full(32000, 0.2, np.float32), 16000, subtype="PCM_16")
    proc = _run("classify", tmp_path / "dc.wav")
    assert proc.returncode == 1 and "silent" in proc.stderr
    proc = _run("listen", "--input", tmp_path / "dc.wav", "--fast", "--json")
    windows = [json.loads(line) for line in proc.stdout.splitlines()]
    # No emotion: silence, or "no speech" where the stream's zero-filled start makes a step out of the offset.
    assert proc.returncode == 0 and windows and all(w["label"] in ("silence", "no speech") for w in windows)


def test_channels_first_arrays_are_mixed_along_the_channel_axis(clf):
    from edge_runtime import mfcc

    x, sr = read_audio(SAMPLES[0])
    mono = clf.predict(x, sr)
    assert clf.predict(np.stack([x, x]), sr).scores == pytest.approx(mono.scores, abs=1e-6)
    assert clf.predict(np.stack([x, x], axis=1), sr).scores == pytest.approx(mono.scores, abs=1e-6)
    with pytest.raises(ValueError, match="mono 1-D"):
        mfcc(np.stack([x, x], axis=1), sr)


def test_opposite_phase_stereo_says_why_it_is_silent(tmp_path):
    x, sr = read_audio(SAMPLES[0])
    sf.write(tmp_path / "phase.wav", np.stack([x, -x], axis=1), sr, subtype="FLOAT")
    proc = _run("classify", tmp_path / "phase.wav")
    assert proc.returncode == 1 and "opposite phase" in proc.stderr and "Traceback" not in proc.stderr


def test_listen_refuses_a_file_with_nan_samples(tmp_path):
    x, sr = read_audio(SAMPLES[0])
    x[len(x) // 2] = np.nan
    sf.write(tmp_path / "nan.wav", x, sr, subtype="FLOAT")
    proc = _run("listen", "--input", tmp_path / "nan.wav", "--fast", "--json")
    assert proc.returncode == 1 and "NaN" in proc.stderr and "Traceback" not in proc.stderr


def test_a_header_promising_more_frames_gets_a_warning(tmp_path):
    x, sr = read_audio(SAMPLES[0])
    path = tmp_path / "short.wav"
    sf.write(path, x, sr, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: 44 + 2 * (len(x) * 2 // 3)])          # cut the samples, keep the header's length
    proc = _run("classify", path)
    assert proc.returncode == 0
    warning = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "header promises" in warning[0]


def test_a_model_with_corrupted_weights_is_refused(tmp_path):
    from edge_runtime.model_card import BUNDLED_DIR

    for name in ("model_int8.tflite", "model.json"):
        shutil.copy(BUNDLED_DIR / name, tmp_path / name)
    blob = bytearray((tmp_path / "model_int8.tflite").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (tmp_path / "model_int8.tflite").write_bytes(bytes(blob))
    proc = _run("classify", "--model", tmp_path / "model_int8.tflite", SAMPLES[0])
    assert proc.returncode == 2 and "SHA-256" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("option", [["--hop", "inf"], ["--hop", "0.0001"], ["--threads", "100000"],
                                    ["--smoothing", "0"]])
def test_listen_options_out_of_range_are_usage_errors(option):
    proc = _run("listen", *option, "--input", SAMPLES[0], "--fast", timeout=60)
    assert proc.returncode == 2 and "must be between" in proc.stderr and "Traceback" not in proc.stderr


def test_runs_print_no_interpreter_chatter():
    proc = _run("classify", SAMPLES[0])
    assert proc.returncode == 0 and proc.stderr == ""       # no "INFO: Created TensorFlow Lite XNNPACK delegate"


def test_convert_without_tensorflow_is_one_line(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.keras").write_bytes(b"")
    probe = ("import importlib.util, sys; real = importlib.util.find_spec; "
             "importlib.util.find_spec = lambda name, *a: None if name == 'tensorflow' else real(name, *a); "
             "from convert.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "run")], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "pip install -e '.[train]'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
