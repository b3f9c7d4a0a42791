import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge_runtime.config import FeatureConfig
from edge_runtime.preprocess import SilentAudioError, fit_window, prepare_window, trim_silence
from train.audio import AudioReadError, load_audio
from train.dataset import Job, extract_features
from train.features import extract
from train.ravdess import parse_name

CFG = FeatureConfig()


def test_config_round_trip_and_strictness(tmp_path):
    path = CFG.save(tmp_path / "feature_config.json")
    assert FeatureConfig.load(path) == CFG
    with pytest.raises(ValueError, match="unknown feature config field"):
        FeatureConfig.from_dict({**CFG.to_dict(), "lifter": 22})
    with pytest.raises(ValueError, match="n_mfcc"):
        FeatureConfig(n_mfcc=80, n_mels=64)


def test_trainer_reads_the_edge_config():
    import edge_runtime.config
    import train.features
    import train.trainer

    assert train.trainer.FeatureConfig is edge_runtime.config.FeatureConfig
    assert train.features.FeatureConfig is edge_runtime.config.FeatureConfig


def test_feature_shape_and_values_on_real_clip(clip_path):
    feats = extract(load_audio(clip_path, CFG.sample_rate), CFG)
    assert feats.shape == (200, 40) and feats.dtype == np.float32
    assert np.all(np.isfinite(feats))
    assert feats[:, 0].std() > 1.0  # c0 follows the loudness contour of real speech


def test_trim_cuts_the_leading_silence_of_real_speech(clip_path):
    audio = load_audio(clip_path, CFG.sample_rate)
    speech = trim_silence(audio, CFG)
    assert 0.3 * len(audio) < len(speech) < 0.9 * len(audio)
    window = prepare_window(audio, CFG)
    assert len(window) == CFG.window_samples and np.isclose(np.abs(window).max(), CFG.peak_level)


def test_silence_is_refused():
    with pytest.raises(SilentAudioError):
        prepare_window(np.zeros(16000, np.float32), CFG)
    with pytest.raises(SilentAudioError):
        prepare_window(np.full(16000, np.nan, np.float32), CFG)


def test_fit_window_centres():
    assert fit_window(np.arange(10.0), 4).tolist() == [3.0, 4.0, 5.0, 6.0]
    padded = fit_window(np.ones(3), 7)
    assert padded.tolist() == [0, 0, 1, 1, 1, 0, 0]


def test_48k_stereo_wav_gives_the_same_features(clip_path, tmp_path):
    import librosa

    audio = load_audio(clip_path, 16000)
    hi = librosa.resample(audio, orig_sr=16000, target_sr=48000, res_type="soxr_vhq")
    wav = tmp_path / "03-01-05-02-01-01-05.wav"
    sf.write(wav, np.stack([hi, hi], axis=1), 48000, subtype="PCM_16")
    a = extract(audio, CFG)
    b = extract(load_audio(wav, 16000), CFG)
    assert np.max(np.abs(a - b)) < 2.0  # dB-scale cepstra (c0 ~ -470); 16-bit + two resamplings
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 0.01


def test_unreadable_files_give_one_line_errors(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.flac"
    junk.write_bytes(b"this is not audio" * 100)
    for path in (empty, junk, tmp_path / "missing.wav"):
        with pytest.raises(AudioReadError) as err:
            load_audio(path, 16000)
        assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_cache_is_reused_and_bad_clips_are_skipped(data_root, tmp_path, cache_root):
    good = sorted((data_root / "Actor_03").glob("*.flac"))[:3]
    bad = tmp_path / "Actor_03" / "03-01-01-01-01-01-03.wav"
    bad.parent.mkdir()
    bad.write_bytes(b"RIFF....WAVEfmt garbage")
    jobs = [Job(parse_name(p), v) for p in good for v in ("clean", "noise")] + [Job(parse_name(bad))]
    with pytest.warns(UserWarning, match="skipped 1 clip"):
        first = extract_features(jobs, CFG, cache_root=cache_root, workers=2, progress=False)
    assert first.computed == 7 and len(first.x) == 6 and len(first.skipped) == 1
    assert str(bad) in first.skipped[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        second = extract_features(jobs, CFG, cache_root=cache_root, workers=2, progress=False)
    assert second.computed == 1  # only the bad clip is tried again
    np.testing.assert_array_equal(first.x, second.x)
    np.testing.assert_array_equal(first.y, [parse_name(p).emotion for p in good for _ in range(2)])
    assert not np.allclose(first.x[0], first.x[1])  # the noisy copy differs from the clean one


def test_cache_survives_a_copied_corpus_and_misses_changed_audio(data_root, tmp_path):
    """The cache is keyed by the audio's bytes: a fresh copy of the corpus (new path, new times) is read back,
    an edited file is computed again."""
    source = sorted((data_root / "Actor_05").glob("*.flac"))[:2]
    copy_dir = tmp_path / "copy" / "Actor_05"
    copy_dir.mkdir(parents=True)
    copies = [Path(shutil.copy(p, copy_dir / p.name)) for p in source]
    os.utime(copies[0], (1, 1))
    cache = tmp_path / "cache"
    first = extract_features([Job(parse_name(p)) for p in source], CFG, cache_root=cache, workers=1, progress=False)
    again = extract_features([Job(parse_name(p)) for p in copies], CFG, cache_root=cache, workers=1, progress=False)
    assert first.computed == 2 and again.computed == 0
    np.testing.assert_array_equal(first.x, again.x)
    audio, rate = sf.read(copies[1])
    sf.write(copies[1], audio * 0.5, rate)            # the same clip name, other audio
    edited = extract_features([Job(parse_name(p)) for p in copies], CFG, cache_root=cache, workers=1, progress=False)
    assert edited.computed == 1
