"""Speaker normalisation (edge_runtime.speaker_norm, train.speaker_norm, --speaker-norm) on real voices."""
import json
import subprocess
import sys

import numpy as np
import pytest

from edge_runtime import FeatureConfig
from edge_runtime.audio import load_audio
from edge_runtime.features import features
from edge_runtime.speaker_norm import SpeakerStats, column_stats, normalise_speaker
from train.speaker_norm import FILENAME, group_keys, normalise_groups
from train.trainer import TrainConfig, train_run

from .conftest import SMOKE

CONFIG = FeatureConfig(prosody=True)
K = CONFIG.n_mfcc
ACTOR_03 = ("03-01-01-01-01-01-03", "03-01-03-02-01-01-03", "03-01-04-01-02-01-03", "03-01-05-02-01-02-03",
            "03-01-06-01-02-02-03")


def tilt(audio: np.ndarray, sr: int, db_per_octave: float) -> np.ndarray:
    """``audio`` through a microphone whose response falls (or rises) by ``db_per_octave`` around 1 kHz."""
    spectrum = np.fft.rfft(audio)
    f = np.maximum(np.fft.rfftfreq(len(audio), 1 / sr), 50.0)
    return np.fft.irfft(spectrum * 10 ** (db_per_octave * np.log2(f / 1000) / 20), len(audio))


@pytest.fixture(scope="module")
def actor_03(data_root):
    """Five clips of RAVDESS actor 3 (five emotions) as heard by two microphones: (plain, dark) windows."""
    sr = CONFIG.sample_rate
    audio = [load_audio(data_root / "Actor_03" / f"{name}.flac", sr) for name in ACTOR_03]
    plain = np.stack([features(a, CONFIG) for a in audio])
    dark = np.stack([features(tilt(a, sr, -4.0), CONFIG) for a in audio])
    return plain, dark


def test_running_statistics_equal_those_of_all_windows_at_once(actor_03):
    plain, _ = actor_03
    stats = SpeakerStats(columns=K)
    for window in plain:
        stats.update(window)
    mean, std = stats.mean_std()
    np.testing.assert_allclose(mean, column_stats(plain, K)[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(std, column_stats(plain, K)[1], rtol=1e-6)
    assert stats.n_windows == 5 and mean.shape == std.shape == (K,)
    z = normalise_speaker(plain, mean, std)
    np.testing.assert_allclose(z[..., :K].reshape(-1, K).mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(z[..., :K].reshape(-1, K).std(0), 1, atol=1e-2)
    np.testing.assert_array_equal(z[..., K:], plain[..., K:].astype(np.float32))   # pitch and voicing untouched
    with pytest.raises(ValueError, match="no window"):
        SpeakerStats(K).mean_std()


def test_a_speakers_own_statistics_take_out_a_fixed_microphone_colouring(actor_03):
    """The same five utterances through a dark microphone (-4 dB/octave) move each clip's long-term spectrum
    (its mean MFCC vector) by much the same amount; standardised by its own statistics, each set of clips lands
    near the other. (Frame by frame the two differ more: trimming and peak level follow the filtered audio.)"""
    plain, dark = actor_03
    raw_gap = np.abs(plain[..., :K].mean(1) - dark[..., :K].mean(1)).mean()
    zp = normalise_speaker(plain, *column_stats(plain, K))
    zd = normalise_speaker(dark, *column_stats(dark, K))
    spread = column_stats(plain, K)[1]   # back to MFCC units, so the two gaps compare
    norm_gap = (np.abs(zp[..., :K].mean(1) - zd[..., :K].mean(1)) * spread).mean()
    assert raw_gap > 1.5                  # the microphone moves the MFCCs
    assert norm_gap < 0.4 * raw_gap, (raw_gap, norm_gap)


def test_groups_are_normalised_each_with_their_own_statistics(actor_03):
    plain, dark = actor_03
    x = np.concatenate([plain, dark])
    keys = np.array(["a"] * len(plain) + ["b"] * len(dark), dtype=object)
    z, stats = normalise_groups(x, keys, K)
    assert len(stats) == 2 and z.dtype == np.float32
    np.testing.assert_allclose(z[:5], normalise_speaker(plain, *column_stats(plain, K)), atol=1e-5)
    np.testing.assert_allclose(z[5:], normalise_speaker(dark, *column_stats(dark, K)), atol=1e-5)
    assert not np.allclose(stats[0][0], stats[1][0], atol=0.5)


def test_a_speaker_normalised_run_is_evaluated_the_same_way_and_not_converted(tmp_path, data_root, cache_root):
    out = tmp_path / "run"
    result = train_run(out, data_root, train_config=TrainConfig(**{**SMOKE, "speaker_norm": True}),
                       cache_root=cache_root, workers=2, verbose=0)
    saved = json.loads((out / FILENAME).read_text())
    assert saved["columns"] == K == len(saved["population_mean"]) == len(saved["population_std"])
    assert saved["training_groups"] > 1 and all(s > 0 for s in saved["population_std"])
    assert json.loads((out / "run_config.json").read_text())["train"]["speaker_norm"] is True
    before = json.loads((out / "report.json").read_text())["per_corpus"]

    from train.trainer import evaluate_run

    after = evaluate_run(out, cache_root=cache_root)["per_corpus"]
    assert after["all"]["confusion"] == before["all"]["confusion"]
    assert after["all"]["accuracy"] == pytest.approx(result.test_accuracy)

    proc = subprocess.run([sys.executable, "-m", "convert", str(out), "--out", str(tmp_path / "tflite")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "trained with --speaker-norm" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "tflite").exists()


def test_group_keys_keep_speaker_corpus_and_variant_apart():
    from pathlib import Path

    from train.clips import Clip
    from train.dataset import Job

    speech = Clip(Path("03-01-05-01-01-01-12.wav"), 4, "ravdess", "ravdess/12")
    song = Clip(Path("03-02-05-01-01-01-12.wav"), 4, "ravdess-song", "ravdess/12")
    keys = group_keys([Job(speech), Job(speech, "noise"), Job(song), Job(speech)])
    assert len(set(keys.tolist())) == 3 and keys[0] == keys[3]
