"""Random microphones and rooms on log-mel features (train.channel) against the same changes made to real audio."""
import numpy as np
import pytest

from edge_runtime import FeatureConfig
from edge_runtime.audio import load_audio
from edge_runtime.features import dct_matrix, features, mfcc
from edge_runtime.preprocess import normalise_peak, prepare_window
from train.channel import apply_gain, band_centres, random_eq_db, reverberate

CONFIG = FeatureConfig()
DCT = dct_matrix(CONFIG.n_mfcc, CONFIG.n_mels)


def _filtered(audio: np.ndarray, gain) -> np.ndarray:
    """``audio`` through a zero-phase filter of amplitude response ``gain(f)``."""
    f = np.fft.rfftfreq(len(audio), 1 / CONFIG.sample_rate)
    return np.fft.irfft(np.fft.rfft(audio.astype(np.float64)) * gain(f), len(audio)).astype(np.float32)


@pytest.mark.parametrize("name, power_gain", [
    ("low-pass 3 kHz", lambda f: 1 / (1 + (f / 3000) ** 8)),
    ("high-pass 400 Hz", lambda f: 1 / (1 + (400 / np.maximum(f, 1)) ** 8)),
    ("bright, +3 dB/octave", lambda f: np.maximum(f, 20) / 1000),
])
def test_gain_on_features_imitates_the_filter_on_real_audio(name, power_gain, data_root):
    """The simulated microphone's spectral shape (c1..c39) lands much closer to the MFCCs of the real filtered
    window than the clean MFCCs do. (One window for both: the silence trim would cut a filtered clip elsewhere,
    and the overall level, c0, is only approximated: the pipeline peak-normalises the waveform, not the spectrum.)"""
    for clip in ("Actor_03/03-01-03-02-01-01-03.flac", "Actor_16/03-01-06-01-02-02-16.flac"):
        window = prepare_window(load_audio(data_root / clip, CONFIG.sample_rate), CONFIG)
        clean = mfcc(window, CONFIG.sample_rate, CONFIG)
        real = mfcc(normalise_peak(_filtered(window, lambda f: np.sqrt(power_gain(f))), CONFIG),
                    CONFIG.sample_rate, CONFIG)
        gain_db = 10 * np.log10(power_gain(band_centres(CONFIG)))
        simulated = apply_gain(clean @ DCT, gain_db, CONFIG.top_db) @ DCT.T
        before, after = np.abs(clean - real)[:, 1:].mean(), np.abs(simulated - real)[:, 1:].mean()
        assert after < 0.5 * before, (name, clip, before, after)


def test_reverberation_on_features_moves_towards_a_real_room(data_root):
    """A tail added to the log-mel spectrum moves the MFCCs towards those of the clip convolved with a room."""
    rng = np.random.default_rng(0)
    audio = load_audio(data_root / "Actor_07/03-01-05-02-02-01-07.flac", CONFIG.sample_rate)
    t = np.arange(int(0.6 * CONFIG.sample_rate)) / CONFIG.sample_rate
    rt60 = 0.6
    response = rng.standard_normal(len(t)) * np.exp(-t * 3 * np.log(10) / rt60) * 0.1   # amplitude falls 60 dB
    response[0] = 1.0
    clean = features(audio, CONFIG)
    real = features(np.convolve(audio, response)[: len(audio)].astype(np.float32), CONFIG)
    gaps = []
    for seed in range(5):
        simulated = reverberate(clean @ DCT, np.random.default_rng(seed), CONFIG.sample_rate / CONFIG.hop_length,
                                rt60_s=(rt60, rt60), top_db=CONFIG.top_db) @ DCT.T
        gaps.append(np.abs(simulated - real).mean())
    assert np.median(gaps) < np.abs(clean - real).mean()


def test_random_microphones_stay_within_their_ranges():
    freqs = band_centres(CONFIG)
    rng = np.random.default_rng(1)
    curves = np.array([random_eq_db(freqs, rng) for _ in range(500)])
    assert np.all(np.isfinite(curves)) and curves.std(axis=0).min() > 1.0       # every band varies
    mid = np.argmin(np.abs(freqs - 1000))
    assert np.percentile(np.abs(curves[:, mid]), 90) < 8.5      # around 1 kHz: tilt 0, at most a resonance
    assert np.mean(curves[:, -1] < -10) > 0.2                   # a band limit at 7.6 kHz now and then
    assert not np.allclose(curves[0], curves[1])


def test_padding_frames_stay_at_the_floor():
    log_mel = np.full((10, CONFIG.n_mels), -70.0)
    log_mel[3:6] = np.linspace(0, -40, CONFIG.n_mels)
    out = apply_gain(log_mel, np.full(CONFIG.n_mels, 12.0), CONFIG.top_db)
    assert np.array_equal(out[:3], log_mel[:3]) and np.array_equal(out[6:], log_mel[6:])
    assert out.max() == pytest.approx(0.0)      # re-levelled: the clip is peak-normalised
    room = reverberate(np.where(np.arange(10)[:, None] < 6, log_mel, -80.0), np.random.default_rng(0), 62.5)
    assert np.all(room[6:] == -80.0)           # zero padding after the clip stays silent


def test_batches_apply_the_channel_to_the_share_asked_for():
    from train.batches import AugmentedBatches
    from train.hparams import SpecAugmentConfig

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 200, CONFIG.n_mels)) * 10).astype(np.float32) @ DCT.T.astype(np.float32)
    none = SpecAugmentConfig(max_shift=0, time_masks=0, coef_masks=0)
    for eq, reverb, expected in ((0.0, 0.0, 0.0), (0.5, 0.0, 0.5), (1.0, 0.0, 1.0), (0.0, 1.0, 1.0)):
        batches = AugmentedBatches(x, np.zeros(64, int), 8, 64, fill=x.reshape(-1, 40).mean(0),
                                   config=SpecAugmentConfig(**{**none.__dict__, "eq_prob": eq, "reverb_prob": reverb}))
        changed = np.mean([not np.allclose(batches._channel(m.copy()), m, atol=1e-3) for m in x])
        assert changed == pytest.approx(expected, abs=0.2), (eq, reverb)
