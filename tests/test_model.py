"""The model's building blocks on real features: per-clip cepstral mean normalisation in the graph."""
import numpy as np
import pytest

from edge_runtime.config import FeatureConfig
from edge_runtime.features import dct_matrix
from train.audio import load_audio
from train.features import extract

CFG = FeatureConfig()


@pytest.fixture(scope="module")
def real_mfcc(clip_path):
    return extract(load_audio(clip_path, CFG.sample_rate), CFG)[None]       # (1, 200, 40)


def test_subtract_mode_ignores_a_fixed_gain_per_mel_band(real_mfcc):
    """A microphone that lifts or cuts each mel band by a fixed number of dB adds a constant to every
    frame's coefficients; the clip-centred input does not see it, the raw one does."""
    from train.model import UtteranceNorm

    gains_db = np.random.default_rng(0).uniform(-6, 6, CFG.n_mels)          # one gain per mel band
    shift = (gains_db @ dct_matrix(CFG.n_mfcc, CFG.n_mels).T).astype(np.float32)
    heard = real_mfcc + shift
    norm = UtteranceNorm("subtract")
    before, after = norm(real_mfcc).numpy(), norm(heard).numpy()
    np.testing.assert_allclose(after, before, atol=1e-3)
    assert np.abs(heard - real_mfcc).max() > 1.0
    np.testing.assert_allclose(before.mean(axis=1), 0.0, atol=1e-3)          # centred over time
    assert np.abs(before).mean() > 1.0                                        # the frames' movement is kept


def test_contrast_mode_appends_the_centred_frames(real_mfcc):
    from train.model import UtteranceNorm

    out = UtteranceNorm("contrast")(real_mfcc).numpy()
    assert out.shape == (1, 200, 2 * CFG.n_mfcc)
    np.testing.assert_array_equal(out[..., :CFG.n_mfcc], real_mfcc)
    np.testing.assert_allclose(out[..., CFG.n_mfcc:], UtteranceNorm("subtract")(real_mfcc).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="subtract"):
        UtteranceNorm("divide")
