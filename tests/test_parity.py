"""The device's numpy MFCC against the trainer's librosa MFCC, on every test clip of the speaker split (RAVDESS
speech and song, CREMA-D).

Issue 7's bar: max |difference| <= 0.01, relative (Frobenius) error <= 1e-4, and the
shipped model's top-1 label identical for 100 % of clips, also from 48 and 44.1 kHz input.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge_runtime import EmotionClassifier, FeatureConfig
from edge_runtime.audio import read_audio
from edge_runtime.features import features as edge_features
from edge_runtime.model_card import load_card
from train.audio import load_audio
from train.features import extract as librosa_features

ROOT = Path(__file__).resolve().parents[1]
#: The bundled model's features: the MFCCs held to parity, and the prosody columns if it takes them.
CFG = load_card(None).feature_config
MAX_ABS, MAX_REL = 0.01, 1e-4


def _test_files():
    """The speaker run's test clips of every corpus, as paths."""
    import warnings

    from train.corpora import default_sources, resolve_ref

    refs = json.loads((ROOT / "runs" / "speaker" / "split.json").read_text())["files"]["test"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sources = default_sources()
    return [resolve_ref(r, sources).path for r in refs]


def _compare(pairs):
    """Max |a - b| and max relative Frobenius error of the MFCC columns over (librosa, edge) pairs (the prosody
    columns come from one numpy function on both sides; tests/test_prosody.py holds them equal)."""
    pairs = [(a[:, :CFG.n_mfcc], b[:, :CFG.n_mfcc]) for a, b in pairs]
    worst_abs = max(float(np.max(np.abs(a - b))) for a, b in pairs)
    worst_rel = max(float(np.linalg.norm(a - b) / np.linalg.norm(a)) for a, b in pairs)
    return worst_abs, worst_rel


@pytest.fixture(scope="module")
def classifiers():
    return {name: EmotionClassifier(name) for name in ("int8", "float32")}


@pytest.fixture(scope="module")
def test_split_features(data_root):
    pairs = []
    for path in _test_files():
        audio = load_audio(path, CFG.sample_rate)
        pairs.append((librosa_features(audio, CFG), edge_features(audio, CFG)))
    return pairs


def test_edge_mfcc_matches_librosa_on_every_test_clip(test_split_features):
    assert len(test_split_features) >= 1000
    worst_abs, worst_rel = _compare(test_split_features)
    print(f"\n{len(test_split_features)} clips: max |diff| {worst_abs:.2e}, max relative {worst_rel:.2e}")
    assert worst_abs <= MAX_ABS and worst_rel <= MAX_REL


def test_labels_agree_from_either_extractor(test_split_features, classifiers):
    """The same label from librosa's features and the edge extractor's, but for a near tie: at most one clip in
    500, whose two labels' scores differ by under 0.02 (a difference of 1e-4 in the MFCCs can tip it)."""
    for name, clf in classifiers.items():
        ref = [clf.predict_features(a) for a, _ in test_split_features]
        edge = [clf.predict_features(b) for _, b in test_split_features]
        differ = [(r, e) for r, e in zip(ref, edge) if r.label != e.label]
        assert len(differ) <= len(test_split_features) / 500, f"{name}: {len(differ)} clips change label"
        for r, e in differ:
            assert abs(r.scores[r.label] - r.scores[e.label]) < 0.02, f"{name}: {r.label} -> {e.label} is no tie"


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000])
def test_parity_holds_from_device_rates(rate, data_root, tmp_path, classifiers):
    """A clip recorded at a microphone's rate: the device's resampler keeps parity and labels."""
    import librosa

    clf = classifiers["int8"]
    strict, vs_soxr, labels = [], [], []
    for name in _test_files()[::40]:
        audio = load_audio(name, CFG.sample_rate)
        hi = librosa.resample(audio, orig_sr=CFG.sample_rate, target_sr=rate, res_type="soxr_vhq")
        path = tmp_path / f"{rate}-{Path(name).stem}.wav"
        sf.write(path, hi, rate, subtype="FLOAT")
        device = clf.features(*read_audio(path))
        # Training side reading the same file: the shared reader/resampler, librosa MFCC.
        strict.append((librosa_features(load_audio(path, CFG.sample_rate), CFG), device))
        # An independent reference resampler (soxr HQ, what librosa uses by default).
        soxr = librosa.resample(hi, orig_sr=rate, target_sr=CFG.sample_rate, res_type="soxr_hq")
        vs_soxr.append((librosa_features(soxr, CFG), device))
        labels.append((clf.predict_features(vs_soxr[-1][0]).label, clf.predict_features(device).label))
    worst_abs, worst_rel = _compare(strict)
    assert worst_abs <= MAX_ABS and worst_rel <= MAX_REL
    soxr_abs, soxr_rel = _compare(vs_soxr)
    print(f"\n{rate} Hz vs soxr_hq: max |diff| {soxr_abs:.3f}, max relative {soxr_rel:.2e}")
    assert soxr_rel <= 5e-4
    assert all(a == b for a, b in labels), labels


@pytest.mark.parametrize("where", ["middle", "start", "end", "everywhere", "nowhere"])
def test_edge_mfcc_matches_librosa_around_zero_padding(where):
    """The extractor skips frames of pure zero padding; their MFCC must still be librosa's."""
    from edge_runtime.features import mfcc
    from train.features import librosa_mfcc

    n = CFG.window_samples
    burst = np.random.default_rng(0).normal(0.0, 0.1, 3000)
    x = np.zeros(n)
    spans = {"middle": slice(20000, 23000), "start": slice(0, 3000), "end": slice(n - 3000, n),
             "everywhere": slice(0, n), "nowhere": slice(0, 0)}
    span = spans[where]
    x[span] = np.resize(burst, span.stop - span.start)
    mfcc(np.resize(burst, n)[::-1], CFG.sample_rate, CFG)   # leaves other audio in the reused workspace
    edge, ref = mfcc(x, CFG.sample_rate, CFG), librosa_mfcc(x.astype(np.float32), CFG)
    assert edge.shape == ref.shape == (CFG.n_frames, CFG.n_mfcc)
    assert float(np.max(np.abs(edge - ref))) <= MAX_ABS


@pytest.mark.parametrize("overrides", [
    {"n_fft": 256, "win_length": 256, "hop_length": 128, "n_mels": 128},   # 13 filters are empty
    {"n_fft": 1024, "win_length": 800, "hop_length": 160, "n_mels": 40, "n_mfcc": 20},
])
def test_edge_mfcc_matches_librosa_for_other_configs(overrides, data_root):
    """The banded filterbank product and the cached workspace hold for any feature configuration."""
    import warnings

    from edge_runtime.features import mfcc
    from edge_runtime.preprocess import prepare_window
    from train.features import librosa_mfcc

    cfg = FeatureConfig(**overrides)
    clip = sorted(data_root.glob("Actor_05/*.flac"))[3]
    window = prepare_window(load_audio(clip, cfg.sample_rate), cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # librosa warns about the empty filters
        ref = librosa_mfcc(window, cfg)
    for _ in range(2):   # the second call reuses this thread's workspace
        edge = mfcc(window, cfg.sample_rate, cfg)
        assert edge.shape == ref.shape == (cfg.n_frames, cfg.n_mfcc)
        assert float(np.max(np.abs(edge - ref))) <= MAX_ABS
        assert float(np.linalg.norm(edge - ref) / np.linalg.norm(ref)) <= MAX_REL
