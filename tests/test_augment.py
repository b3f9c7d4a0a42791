"""Waveform augmentation (train.augment) on real speech: each variant does what its name says, reproducibly."""
import numpy as np
import pytest

from edge_runtime import FeatureConfig
from edge_runtime.audio import load_audio
from edge_runtime.config import PROSODY_COLUMNS
from edge_runtime.features import features
from edge_runtime.preprocess import speech_span
from edge_runtime.prosody import VOICED
from train.augment import VARIANTS, AugmentConfig, augment, variant_rng

CONFIG = FeatureConfig(prosody=True)
AUG = AugmentConfig(seed=7)
# Clips whose median F0 the tracker reads steadily: on some others (e.g. Actor_01's neutral) the phase vocoder of
# "stretch" and "pitch" moves which frames count as voiced, and the median by 1-2 semitones.
CLIPS = ("Actor_02/03-01-02-01-01-01-02.flac", "Actor_10/03-01-01-01-02-01-10.flac",
         "Actor_03/03-01-03-02-01-01-03.flac")


@pytest.fixture(scope="module")
def speech(data_root):
    return [speech_span(load_audio(data_root / clip, CONFIG.sample_rate), CONFIG) for clip in CLIPS]


def median_semitones(audio: np.ndarray) -> float:
    """Median F0 of the voiced frames, in semitones above 100 Hz (the prosody column is in tenths)."""
    x = features(audio, CONFIG)
    voicing, pitch = (CONFIG.n_mfcc + PROSODY_COLUMNS.index(c) for c in ("voicing", "pitch"))
    return float(np.median(x[x[:, voicing] >= 100 * VOICED, pitch])) / 10


def draw(variant: str, name: str) -> np.random.Generator:
    return variant_rng(AUG.seed, name, variant)


def test_stretch_changes_duration_not_pitch(speech):
    for k, audio in enumerate(speech):
        rate = draw("stretch", f"c{k}").uniform(AUG.stretch_min, AUG.stretch_max)
        out = augment(audio, CONFIG.sample_rate, "stretch", draw("stretch", f"c{k}"), AUG)
        assert len(out) == pytest.approx(len(audio) / rate, rel=0.01)
        assert abs(median_semitones(out) - median_semitones(audio)) < 0.4


def test_pitch_moves_f0_by_the_drawn_semitones_and_keeps_duration(speech):
    for k, audio in enumerate(speech):
        rng = draw("pitch", f"c{k}")
        steps = rng.uniform(AUG.min_pitch_semitones, AUG.pitch_semitones) * rng.choice([-1.0, 1.0])
        out = augment(audio, CONFIG.sample_rate, "pitch", draw("pitch", f"c{k}"), AUG)
        assert len(out) == len(audio)
        assert median_semitones(out) - median_semitones(audio) == pytest.approx(steps, abs=0.4)


def test_noise_is_added_at_the_drawn_snr(speech):
    for k, audio in enumerate(speech):
        snr = draw("noise", f"c{k}").uniform(AUG.snr_db_min, AUG.snr_db_max)
        out = augment(audio, CONFIG.sample_rate, "noise", draw("noise", f"c{k}"), AUG)
        noise = out.astype(np.float64) - audio
        measured = 10 * np.log10(np.mean(audio.astype(np.float64) ** 2) / np.mean(noise ** 2))
        assert measured == pytest.approx(snr, abs=0.1)


def test_every_variant_is_reproducible_and_differs_by_clip(speech):
    audio = speech[0]
    assert augment(audio, CONFIG.sample_rate, "clean", draw("clean", "a"), AUG) is audio
    for variant in VARIANTS[1:]:
        once = augment(audio, CONFIG.sample_rate, variant, draw(variant, "a"), AUG)
        again = augment(audio, CONFIG.sample_rate, variant, draw(variant, "a"), AUG)
        other = augment(audio, CONFIG.sample_rate, variant, draw(variant, "b"), AUG)
        np.testing.assert_array_equal(once, again)
        assert once.dtype == np.float32 and np.isfinite(once).all()
        assert len(other) != len(once) or not np.allclose(other, once), variant
    with pytest.raises(ValueError, match="unknown augmentation variant 'echo'"):
        augment(audio, CONFIG.sample_rate, "echo", draw("echo", "a"), AUG)
