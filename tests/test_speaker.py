"""Random speakers on features (train.speaker) against a real voice made higher by resampling."""
import numpy as np
import pytest
import soxr

from edge_runtime import FeatureConfig
from edge_runtime.audio import load_audio
from edge_runtime.config import PROSODY_COLUMNS
from edge_runtime.features import dct_matrix, features
from edge_runtime.prosody import VOICED
from train.batches import AugmentedBatches
from train.channel import band_centres
from train.hparams import ConfigError, SpecAugmentConfig
from train.speaker import shift_register, vtlp_warp, warp_speaker

CONFIG = FeatureConfig(prosody=True)
K = CONFIG.n_mfcc
DCT = dct_matrix(K, CONFIG.n_mels)
ALPHA = 1.1
CLIPS = ("Actor_03/03-01-03-02-01-01-03.flac", "Actor_16/03-01-06-01-02-02-16.flac",
         "Actor_07/03-01-05-02-02-01-07.flac", "Actor_12/03-01-04-01-01-02-12.flac")


@pytest.fixture(scope="module")
def voices(data_root):
    """(clean features, features of the same clip with every frequency ALPHA times higher) per clip.

    Reading 16 kHz audio as if it were ALPHA x 16 kHz and resampling it back plays it ALPHA times faster:
    formants and F0 alike move up by ALPHA (and the clip gets shorter, which the long-term spectrum ignores).
    """
    out = []
    for clip in CLIPS:
        audio = load_audio(data_root / clip, CONFIG.sample_rate)
        higher = soxr.resample(audio, round(CONFIG.sample_rate * ALPHA), CONFIG.sample_rate).astype(np.float32)
        out.append((features(audio, CONFIG), features(higher, CONFIG)))
    return out


def _spectral_shape(x: np.ndarray) -> np.ndarray:
    """Long-term average log-mel spectrum of the speech frames, minus its mean over bands (the level)."""
    log_mel = x[:, :K] @ DCT
    loud = log_mel.max(axis=1) > log_mel.max() - 40
    ltas = log_mel[loud].mean(axis=0)
    return ltas - ltas.mean()


def test_warp_moves_the_spectrum_towards_a_shorter_vocal_tract(voices):
    """Below the warp's knee the warped clean spectrum is much closer to the faster-played clip's than the
    clean one is (the resampled clip's F0 moved too, which the warp leaves alone: hence not closer still)."""
    below = band_centres(CONFIG) < 0.6 * CONFIG.fmax
    for clean, higher in voices:
        warped = warp_speaker(clean[:, :K] @ DCT, ALPHA, CONFIG) @ DCT.T
        target = _spectral_shape(higher)[below]
        before = np.abs(_spectral_shape(clean)[below] - target).mean()
        after = np.abs(_spectral_shape(warped)[below] - target).mean()
        assert after < 0.6 * before, (before, after)


def test_register_shift_matches_a_higher_voice(voices):
    """Moving the pitch column by 12 log2(ALPHA) semitones lands the clean clip's median F0 on the faster
    clip's, within half a semitone (of a 1.65-semitone gap); the relative pitch column does not move."""
    voicing, pitch = (K + PROSODY_COLUMNS.index(c) for c in ("voicing", "pitch"))
    semitones = 12 * np.log2(ALPHA)

    def median_pitch(x):
        return float(np.median(x[x[:, voicing] >= 100 * VOICED, pitch]))

    for clean, higher in voices:
        shifted = shift_register(clean, semitones, K)
        assert abs(median_pitch(higher) - median_pitch(clean)) > 10
        assert abs(median_pitch(shifted) - median_pitch(higher)) < 5
        np.testing.assert_array_equal(shifted[:, K + 2], clean[:, K + 2])
        np.testing.assert_array_equal(shifted[:, :K], clean[:, :K])


def test_warp_keeps_the_band_and_is_monotonic():
    f = np.linspace(0, CONFIG.fmax, 1001)
    for alpha in (0.9, 0.95, 1.05, 1.1):
        w = vtlp_warp(f, alpha, CONFIG.fmax)
        assert w[0] == 0 and np.isclose(w[-1], CONFIG.fmax) and np.all(np.diff(w) > 0)


def test_batches_hear_random_speakers(voices):
    """With speaker_prob 1 every example's MFCCs change and its pitch moves by one amount on all voiced
    frames; with 0 nothing does; the batch's other perturbations switched off."""
    x = np.stack([clean for clean, _ in voices])
    quiet = dict(max_shift=0, time_masks=0, coef_masks=0)
    for prob in (0.0, 1.0):
        batches = AugmentedBatches(x, np.zeros(len(x), int), 8, len(x), x.reshape(-1, x.shape[2]).mean(0),
                                   SpecAugmentConfig(speaker_prob=prob, **quiet), seed=1, feature_config=CONFIG)
        got, _ = batches[0]
        source = x[batches.order[:len(x)]]
        changed = np.abs(got[:, :, :K] - source[:, :, :K]).max(axis=(1, 2)) > 1
        assert changed.all() if prob else not changed.any()
        for g, s in zip(got, source):
            voiced = s[:, K] >= 100 * VOICED
            moves = np.unique(np.round(g[voiced, K + 1] - s[voiced, K + 1], 3))
            assert len(moves) == 1 and (abs(moves[0]) <= 40 if prob else moves[0] == 0)


def test_speaker_settings_are_checked():
    with pytest.raises(ConfigError, match="speaker_prob"):
        SpecAugmentConfig(speaker_prob=1.5)
    with pytest.raises(ConfigError, match="max_warp"):
        SpecAugmentConfig(max_warp=0.6)
