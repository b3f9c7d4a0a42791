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


def _stats_json(**change) -> str:
    from edge_runtime.speaker_norm import SpeakerStats

    stats = SpeakerStats(40)
    x, sr = read_audio(SAMPLE)
    from edge_runtime import EmotionClassifier
    stats.update(EmotionClassifier().features(x, sr))
    d = {**stats.to_dict(), **change}
    return json.dumps(d, allow_nan=True)


@pytest.mark.parametrize("change, reason", [
    ({"n_windows": float("inf")}, "n_windows must be a whole number"),
    ({"columns": 10**10}, "statistics of 10000000000 columns, the model needs 40"),
    ({"frames": 0}, "1 windows but 0 frames"),
    ({"sum": [float("nan")] * 40}, "NaN or infinite"),
    ({"sum": [1e308] * 40}, "beyond 10000"),
    ({"sumsq": [0.0] * 40}, "variance is negative"),
    ({"memory": 0.5}, "memory must be a number of windows"),
    ({"sum": [1.0] * 3}, "lists of 40 numbers"),
])
def test_poisoned_speaker_statistics_are_refused_in_one_line(change, reason):
    from edge_runtime.speaker_norm import read_stats

    with pytest.raises(ValueError, match=reason):
        read_stats(_stats_json(**change), 40)


def test_poisoned_statistics_files_stop_the_cli_and_are_never_written_back(tmp_path):
    cases = {"deep.json": "[" * 100_000 + "]" * 100_000,
             "nan.json": _stats_json(sum=[float("nan")] * 40),
             "huge.json": " " * (2 << 20) + "{}"}
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        proc = _edge("classify", "--same-speaker", SAMPLE, "--speaker-stats", path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (name, proc.stderr[-500:])
        assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {path}: not a speaker statistics file")
        assert path.read_text() == text                   # left as it was, not overwritten


@pytest.mark.parametrize("args, reason", [
    (["--segments", "--csv", "/nonexistent/folder/x.csv"], "its folder does not exist"),
    (["--segments", "--csv", "{tmp}"], "it is a folder"),
    (["--segments", "--csv", "/dev/full"], "not a regular file"),
    (["--same-speaker", "--speaker-stats", "{tmp}/fifo"], "not a regular file"),
])
def test_output_paths_are_checked_before_the_work(tmp_path, args, reason):
    import os

    os.mkfifo(tmp_path / "fifo")
    proc = _edge("classify", *[a.format(tmp=tmp_path) for a in args], SAMPLE, timeout=60)
    assert proc.returncode == 2 and reason in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""                             # nothing classified, nothing lost


def test_a_write_that_fails_after_the_work_keeps_the_results(tmp_path, monkeypatch, capsys):
    from edge_runtime import cli, segments

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(segments, "write_csv", full_disk)
    code = cli.main(["classify", "--segments", str(SAMPLE), "--csv", str(tmp_path / "s.csv")])
    out, err = capsys.readouterr()
    assert code == 1 and "angry" in out and "summary" in out
    n = sum(1 for line in out.splitlines() if " s  " in line)          # the segments printed
    assert n >= 2 and err.strip().splitlines()[-1] == (
        f"error: could not write {n} segments to {tmp_path / 's.csv'} (No space left on device); "
        f"the results above are complete")


def test_statistics_are_written_atomically_and_only_when_sound(tmp_path):
    import os

    from edge_runtime import AdaptiveClassifier

    clf = AdaptiveClassifier()
    x, sr = read_audio(SAMPLE)
    clf.enrol(clf.features(x, sr))
    path = tmp_path / "me.json"
    path.write_text("old")
    inode = path.stat().st_ino
    clf.save_stats(path)
    assert path.stat().st_ino != inode and json.loads(path.read_text())["n_windows"] == 1   # replaced whole
    assert os.listdir(tmp_path) == ["me.json"]                                             # no temp file left
    clf.speaker._sum[0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        clf.save_stats(path)
    assert json.loads(path.read_text())["n_windows"] == 1


def test_files_that_are_not_audio_say_what_they_are(tmp_path):
    import os

    (tmp_path / "garbage.mp3").write_bytes(np.random.default_rng(0).bytes(5000))
    os.symlink(tmp_path / "loop_b", tmp_path / "loop_a")
    os.symlink(tmp_path / "loop_a", tmp_path / "loop_b")
    os.mkfifo(tmp_path / "pipe.wav")
    proc = _edge("classify", tmp_path / "garbage.mp3", tmp_path / "loop_a", tmp_path / "pipe.wav", SAMPLE, timeout=60)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "angry" in proc.stdout   # the batch went on
    assert errors == [f"error: {tmp_path / 'garbage.mp3'}: cannot read audio (not an audio format it knows, or corrupt)",
                      f"error: {tmp_path / 'loop_a'}: too many levels of symbolic links",
                      f"error: {tmp_path / 'pipe.wav'}: not a regular file (a pipe or a device); save the audio to a "
                      f"file first"]


def test_listen_warns_about_a_cut_off_file(tmp_path):
    x, sr = sf.read(SAMPLE, dtype="float32")
    sf.write(tmp_path / "full.wav", x, sr, subtype="PCM_16")
    data = (tmp_path / "full.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[:len(data) // 2])
    proc = _edge("listen", "--fast", "--input", tmp_path / "cut.wav", timeout=60)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert f"warning: {tmp_path / 'cut.wav'}: the header promises 1.7" in proc.stderr and "(cut off?)" in proc.stderr
    whole = _edge("listen", "--fast", "--input", tmp_path / "full.wav", timeout=60)
    assert "cut off" not in whole.stderr


def test_no_microphone_is_said_plainly(monkeypatch):
    from edge_runtime import sources

    class NoDevices:
        def query_devices(self, device=None, kind=None):
            raise ValueError("Error querying device -1")
    monkeypatch.setattr(sources, "_sounddevice", lambda: NoDevices())
    with pytest.raises(sources.MicrophoneError) as err:
        sources.MicrophoneSource()
    assert str(err.value).startswith("no microphone found (the system has no default input device)")
    with pytest.raises(sources.MicrophoneError, match=r"no input device 'USB' \(Error querying device -1\)"):
        sources.MicrophoneSource("USB")


def test_converter_refuses_a_corrupt_model_before_tensorflow_and_an_unwritable_out(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    keras_file = ROOT / "runs" / "corpus-crema-d" / "model.keras"
    (run / "model.keras").write_bytes(keras_file.read_bytes()[:1000])        # a cut-off copy
    proc = subprocess.run([sys.executable, "-m", "convert", str(run), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"error: {run / 'model.keras'} is not a Keras model archive (truncated or corrupt); train the run again or "
        f"restore the file"]                                                   # one line, no TensorFlow log
    assert not (tmp_path / "out").exists()
    (run / "model.keras").write_bytes(keras_file.read_bytes())
    proc = subprocess.run([sys.executable, "-m", "convert", str(run), "--out", "/dev/null/models"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2 and "--out /dev/null/models: cannot write there: /dev/null is not a folder" in proc.stderr


def test_control_characters_in_file_names_never_reach_the_terminal(tmp_path):
    evil = tmp_path / "clip\x1b[31mred\x07\nforged.wav"
    evil.write_bytes(SAMPLE.read_bytes())
    broken = tmp_path / "broken\x1b[2J.wav"
    broken.write_bytes(b"RIFF" + b"\x00" * 40)
    proc = _edge("classify", evil, broken, timeout=60)
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr
    assert "clip\\x1b[31mred\\x07\\x0aforged.wav" in proc.stdout and "angry" in proc.stdout
    assert len(proc.stdout.strip().splitlines()) == 2                      # the header and one row: no forged line
    assert "broken\\x1b[2J.wav" in proc.stderr
    rows = [json.loads(line) for line in _edge("classify", "--json", evil, timeout=60).stdout.splitlines()]
    assert rows[0]["path"] == str(evil)                                    # JSON keeps the name exactly


@pytest.mark.slow
def test_an_uncertain_answer_is_shown_as_such(tmp_path):
    """A clip the library answers at under 40 % confidence (the first such of every 15th CREMA-D clip: about one
    in ten of them is): the table marks it with '?' and a legend, JSON says ``uncertain``; a confident answer is
    unmarked."""
    from edge_runtime import EmotionClassifier
    from train.corpora import shared_data_dir

    clf = EmotionClassifier()
    unsure = next(p for p in sorted((shared_data_dir() / "crema-d").glob("*.opus"))[::15]
                  if clf.predict_file(p).confidence < 0.4)
    table = _edge("classify", SAMPLE, unsure, timeout=60)
    rows = {line.split()[0]: line.split()[1] for line in table.stdout.splitlines()[1:]}
    assert rows[str(unsure)].endswith("?") and not rows[str(SAMPLE)].endswith("?")
    assert "? = uncertain: under 40% confident" in table.stderr
    rows = [json.loads(line) for line in _edge("classify", "--json", SAMPLE, unsure, timeout=60).stdout.splitlines()]
    assert [r["uncertain"] for r in rows] == [False, True] and rows[1]["confidence"] < 0.4
