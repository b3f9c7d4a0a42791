"""Speaker normalisation (edge_runtime.speaker_norm, train.speaker_norm, the companion recipe) on real voices."""
import json

import numpy as np
import pytest

from edge_runtime import FeatureConfig
from edge_runtime.audio import load_audio
from edge_runtime.classifier import EmotionClassifier
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


def test_statistics_with_a_memory_weight_recent_windows_and_follow_a_new_voice(actor_03):
    plain, dark = actor_03                 # the same actor through two microphones: two "voices"
    sequence = list(plain) + list(dark)
    fading, cumulative = SpeakerStats(K, memory=3), SpeakerStats(K)
    for window in sequence:
        fading.update(window)
        cumulative.update(window)
    weights = np.repeat((1 - 1 / 3) ** np.arange(len(sequence))[::-1], plain.shape[1])
    frames = np.concatenate([w[:, :K] for w in sequence]).astype(np.float64)
    mean = np.average(frames, axis=0, weights=weights)
    std = np.sqrt(np.average((frames - mean) ** 2, axis=0, weights=weights))
    np.testing.assert_allclose(fading.mean_std()[0], mean, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fading.mean_std()[1], std + 1e-3, rtol=1e-6)
    dark_mean = column_stats(dark, K)[0]
    assert np.abs(fading.mean_std()[0] - dark_mean).mean() < 0.5 * np.abs(cumulative.mean_std()[0] - dark_mean).mean()
    assert fading.n_windows == cumulative.n_windows == 10
    with pytest.raises(ValueError, match="memory"):
        SpeakerStats(K, memory=0.5)


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


@pytest.fixture(scope="module")
def sn_run(tmp_path_factory, data_root, cache_root):
    """A smoke speaker-normalised run, converted (float32 and int8) into its ``tflite`` folder."""
    from convert.converter import convert_run

    out = tmp_path_factory.mktemp("sn-run")
    result = train_run(out, data_root, train_config=TrainConfig(**{**SMOKE, "speaker_norm": True}),
                       cache_root=cache_root, workers=2, verbose=0)
    # A 3-epoch model's near-uniform scores make int8 top-1 agreement meaningless: the gate is off here.
    convert_run(out, out / "tflite", n_representative=32, cache_root=cache_root, min_agreement=0.0,
                log=lambda *a: None)
    return out, result


def test_a_speaker_normalised_run_is_evaluated_the_same_way(sn_run, cache_root):
    out, result = sn_run
    saved = json.loads((out / FILENAME).read_text())
    assert saved["columns"] == K == len(saved["population_mean"]) == len(saved["population_std"])
    assert saved["training_groups"] > 1 and all(s > 0 for s in saved["population_std"])
    assert json.loads((out / "run_config.json").read_text())["train"]["speaker_norm"] is True
    before = json.loads((out / "report.json").read_text())["per_corpus"]

    from train.trainer import evaluate_run

    after = evaluate_run(out, cache_root=cache_root)["per_corpus"]
    assert after["all"]["confusion"] == before["all"]["confusion"]
    assert after["all"]["accuracy"] == pytest.approx(result.test_accuracy)


def test_the_device_composes_speaker_and_input_normalisation_as_training_did(sn_run, cache_root):
    """The converted card carries the run's statistics, and the runtime (speaker stats from the same clips, then
    the card's input normalisation, then TFLite) gives the scores Keras gives the trainer's normalised rows."""
    from convert.converter import run_sources
    from edge_runtime.model_card import load_card
    from train.dataset import ref_features
    from train.model import load_model
    from train.speaker_norm import normalise_feature_set

    out, _ = sn_run
    card = load_card(out / "tflite" / "model_float32.tflite")
    saved = json.loads((out / FILENAME).read_text())
    assert card.speaker_norm["columns"] == K and card.speaker_norm["enrol_windows"] >= 1
    np.testing.assert_allclose(card.speaker_norm["population_mean"], saved["population_mean"])
    assert load_card(out / "tflite" / "model_int8.tflite").speaker_norm["columns"] == K

    refs = json.loads((out / "split.json").read_text())["files"]["test"]
    feats = ref_features(refs, run_sources(out), card.feature_config, cache_root)
    keras_scores = load_model(out / "model.keras").predict(normalise_feature_set(feats, K), verbose=0)
    clf = EmotionClassifier(card.path, check_speech=False)
    for key in np.unique(group_keys(feats.jobs))[:2]:
        rows = np.flatnonzero(group_keys(feats.jobs) == key)
        stats = SpeakerStats(K)
        for i in rows:
            stats.update(feats.x[i])
        for i in rows:
            np.testing.assert_allclose(clf.scores(feats.x[i], speaker=stats.mean_std()), keras_scores[i],
                                       atol=1e-4)
    # Without a speaker's statistics, the population's: a different input, so different scores.
    assert not np.allclose(clf.scores(feats.x[0]), keras_scores[0], atol=1e-4)


def test_the_adaptive_classifier_joins_the_companion_once_the_speaker_is_enrolled(sn_run, actor_03):
    from edge_runtime.adaptive import AdaptiveClassifier

    out, _ = sn_run
    plain = actor_03[0][..., :K]           # the smoke model reads MFCCs alone
    model = out / "tflite" / "model_float32.tflite"
    clf = AdaptiveClassifier(model, companion=model, enrol_windows=3, weight=0.75, check_speech=False, learn=True)
    for i, window in enumerate(plain):
        scores = clf.scores(window)            # learn=True: each window enrols the speaker first
        assert clf.speaker.n_windows == i + 1 and clf.adapted == (i + 1 >= 3)
        base = clf.base_scores(window)
        if i + 1 < 3:
            np.testing.assert_allclose(scores, base)
        else:
            mixed = 0.25 * base + 0.75 * clf.companion.scores(window, speaker=clf.speaker.mean_std())
            np.testing.assert_allclose(scores, mixed, atol=1e-6)
            assert not np.allclose(scores, base, atol=1e-4)
    np.testing.assert_allclose(clf.speaker.mean_std()[0], column_stats(plain, K)[0], rtol=1e-9)
    clf.reset()
    assert clf.speaker.n_windows == 0 and not clf.adapted


def test_speaker_statistics_survive_a_restart(sn_run, actor_03, tmp_path):
    from edge_runtime.adaptive import AdaptiveClassifier

    out, _ = sn_run
    model = out / "tflite" / "model_int8.tflite"
    plain = [w[..., :K] for w in actor_03[0]]
    first = AdaptiveClassifier(model, companion=model, enrol_windows=2)
    for w in plain[:3]:
        first.enrol(w)
    first.save_stats(tmp_path / "me.json")
    second = AdaptiveClassifier(model, companion=model, enrol_windows=2)
    second.load_stats(tmp_path / "me.json")
    assert second.speaker.memory is None
    for w in plain[3:]:
        first.enrol(w)
        second.enrol(w)
    assert second.speaker.n_windows == 5
    np.testing.assert_allclose(second.speaker.mean_std()[1], first.speaker.mean_std()[1], rtol=1e-9)
    np.testing.assert_allclose(second.scores(plain[0]), first.scores(plain[0]))
    assert second.adapted and not np.allclose(second.scores(plain[0]), second.base_scores(plain[0]), atol=1e-4)
    (tmp_path / "bad.json").write_text('{"columns": 40}')
    with pytest.raises(ValueError, match="not a speaker statistics file"):
        second.load_stats(tmp_path / "bad.json")


def test_group_keys_keep_speaker_corpus_and_variant_apart():
    from pathlib import Path

    from train.clips import Clip
    from train.dataset import Job

    speech = Clip(Path("03-01-05-01-01-01-12.wav"), 4, "ravdess", "ravdess/12")
    song = Clip(Path("03-02-05-01-01-01-12.wav"), 4, "ravdess-song", "ravdess/12")
    keys = group_keys([Job(speech), Job(speech, "noise"), Job(song), Job(speech)])
    assert len(set(keys.tolist())) == 3 and keys[0] == keys[3]
