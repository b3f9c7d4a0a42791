"""Pitch and voicing columns (edge_runtime.prosody, FeatureConfig.prosody) on real clips of each corpus."""
import numpy as np
import pytest

from edge_runtime.config import PROSODY_COLUMNS, FeatureConfig
from edge_runtime.features import features as edge_features
from edge_runtime.preprocess import prepare_window
from edge_runtime.prosody import VOICED, prosody
from edge_runtime.speech import speech_evidence
from train.audio import load_audio
from train.features import extract as train_features

CFG = FeatureConfig(prosody=True)


def _clips(data_root):
    """Neutral speech of a male and a female actor of each corpus, and a sung clip (an angry shout can sit an
    octave above its speaker's neutral voice: Actor 05's strong angry clip has a median near 290 Hz)."""
    shared = data_root.parent
    return {
        "ravdess male": data_root / "Actor_05" / "03-01-01-01-01-01-05.flac",
        "ravdess female": data_root / "Actor_08" / "03-01-01-01-01-01-08.flac",
        "song female": shared / "ravdess-song" / "Actor_08" / "03-02-01-01-01-01-08.flac",
        "crema-d male": shared / "crema-d" / "1001_IEO_NEU_XX.opus",
        "crema-d female": shared / "crema-d" / "1002_DFA_NEU_XX.opus",
    }


def _pitch_hz(columns):
    voiced = columns[:, 0] >= 100 * VOICED
    return voiced, 100.0 * 2.0 ** (columns[voiced, 1] / 120.0)


def test_pitch_follows_a_voice_like_glide():
    """A pulse train through two formant resonances, its F0 gliding from 100 to 250 Hz and back: the tracked pitch
    stays within half a semitone of the true one on nearly every frame. (librosa's pYIN was the reference here
    once; its numba kernel crashed the whole test process in CI, after TensorFlow had loaded.)"""
    from scipy.signal import lfilter

    sr, n = CFG.sample_rate, CFG.window_samples
    t = np.arange(n) / sr
    f0 = 100.0 * 2.5 ** np.sin(np.pi * t / t[-1])          # 100 -> 250 -> 100 Hz
    phase = np.cumsum(f0 / sr)
    pulses = np.diff(np.floor(phase), prepend=0.0)
    voice = pulses
    for formant, width in ((700.0, 90.0), (1200.0, 110.0)):
        r = np.exp(-np.pi * width / sr)
        voice = lfilter([1.0], [1.0, -2 * r * np.cos(2 * np.pi * formant / sr), r * r], voice)
    columns = prosody(0.5 * voice / np.abs(voice).max(), CFG)
    true = 12 * np.log2(f0[np.minimum(np.arange(len(columns)) * CFG.hop_length, n - 1)] / 100.0)
    voiced = columns[:, 0] >= 100 * VOICED
    assert voiced[2:-2].mean() > 0.95
    error = np.abs(columns[voiced, 1] / 10.0 - true[voiced])
    assert np.mean(error < 0.5) > 0.95


def test_female_voices_are_higher_and_relative_pitch_removes_the_register(data_root):
    clips = _clips(data_root)
    medians = {}
    for name, path in clips.items():
        columns = prosody(prepare_window(load_audio(path, CFG.sample_rate), CFG), CFG)
        voiced, hz = _pitch_hz(columns)
        medians[name] = float(np.median(hz))
        assert abs(float(np.median(columns[voiced, 2]))) <= 5.0, name   # half a semitone
        assert np.all(columns[~voiced, 1:] == 0.0)
        assert 0.0 <= columns[:, 0].min() and columns[:, 0].max() <= 100.0
    assert medians["ravdess female"] > 1.3 * medians["ravdess male"]
    assert medians["crema-d female"] > 1.3 * medians["crema-d male"]
    assert all(70.0 <= hz <= 500.0 for hz in medians.values())


def test_trainer_and_device_give_the_same_prosody_columns(data_root):
    """Both sides run the one numpy function on the same window: the columns are identical, the MFCCs at parity."""
    for path in _clips(data_root).values():
        audio = load_audio(path, CFG.sample_rate)
        device, trainer = edge_features(audio, CFG), train_features(audio, CFG)
        assert device.shape == trainer.shape == (CFG.n_frames, CFG.n_mfcc + len(PROSODY_COLUMNS))
        np.testing.assert_array_equal(device[:, CFG.n_mfcc:], trainer[:, CFG.n_mfcc:])
        assert float(np.max(np.abs(device[:, :CFG.n_mfcc] - trainer[:, :CFG.n_mfcc]))) <= 0.01


def test_prosody_columns_stay_inside_the_mfcc_range(data_root):
    """One int8 scale quantises the whole input: the prosody columns must not widen it."""
    for path in _clips(data_root).values():
        x = edge_features(load_audio(path, CFG.sample_rate), CFG)
        mfcc, extra = x[:, :CFG.n_mfcc], x[:, CFG.n_mfcc:]
        assert extra.min() >= min(mfcc.min(), -300.0) and extra.max() <= max(mfcc.max(), 300.0)


def test_speech_check_reads_only_the_mfcc_columns(clip_path):
    audio = load_audio(clip_path, CFG.sample_rate)
    with_prosody = speech_evidence(edge_features(audio, CFG), CFG)
    without = speech_evidence(edge_features(audio, FeatureConfig()), FeatureConfig())
    assert with_prosody == without


@pytest.mark.parametrize("hz", [90.0, 180.0, 330.0])
def test_a_steady_buzz_reads_as_its_pitch(hz):
    t = np.arange(CFG.window_samples) / CFG.sample_rate
    columns = prosody(0.4 * np.sign(np.sin(2 * np.pi * hz * t)), CFG)
    voiced, found = _pitch_hz(columns)
    assert voiced.mean() > 0.95
    assert abs(12 * np.log2(np.median(found) / hz)) < 0.25


def test_silence_and_noise_are_unvoiced():
    silent = prosody(np.zeros(CFG.window_samples, np.float32), CFG)
    assert np.all(silent == 0.0)
    noise = prosody(np.random.default_rng(0).normal(0, 0.1, CFG.window_samples), CFG)
    assert (noise[:, 0] >= 100 * VOICED).mean() < 0.1


def test_old_feature_configs_read_back_without_prosody():
    data = FeatureConfig().to_dict()
    del data["prosody"]
    assert FeatureConfig.from_dict(data).prosody is False
    assert FeatureConfig.from_dict(data).n_features == 40
