"""A smoke train-and-evaluate on real shared clips (a few dozen, a few epochs)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from train.trainer import TrainConfig, train_run

from .conftest import SMOKE


def test_run_folder_holds_every_artefact(smoke_run):
    out, result = smoke_run
    for name in ("model.keras", "feature_config.json", "run_config.json", "history.json", "curves.png",
                 "report.txt", "report.json", "confusion_matrix.png", "metrics.json", "split.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == result.epochs_run == 3 and "val_accuracy" in history
    report = json.loads((out / "report.json").read_text())
    assert set(result.per_class_f1) == set(json.loads((out / "feature_config.json").read_text())["labels"])
    assert report["accuracy"] == pytest.approx(result.test_accuracy)
    assert "precision" in (out / "report.txt").read_text()
    split = json.loads((out / "split.json").read_text())
    assert not set(split["files"]["train"]) & set(split["files"]["test"])
    assert result.extra["n_train"] == 4 * len(split["files"]["train"])
    # the default keeps the mean of the last 10 epochs: here all 3, whose files are then removed
    assert result.extra["kept"] == "mean of epochs 1-3" and not list(out.rglob("epoch*.weights.h5"))


def test_saved_model_matches_export_twin_on_real_features(smoke_run, cache_root):
    import keras

    from edge_runtime.config import FeatureConfig
    from train.dataset import ref_features
    from train.model import export_twin
    from train.trainer import RunSetup

    out, _ = smoke_run
    model = keras.models.load_model(out / "model.keras")
    twin = export_twin(model)
    assert twin.inputs[0].shape[0] == 1 and twin.get_layer("gru").unroll
    sources = RunSetup.load(out).sources
    test_files = json.loads((out / "split.json").read_text())["files"]["test"][:4]
    feats = ref_features(test_files, sources, FeatureConfig(), cache_root)
    for x in feats.x:
        a = model.predict(x[None], verbose=0)
        b = twin.predict(x[None], verbose=0)
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert np.isclose(a.sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("members", [1, 2])
def test_resume_continues_from_the_last_epoch(members, tmp_path, data_root, cache_root):
    cfg = TrainConfig(**{**SMOKE, "epochs": 2, "members": members})
    first = train_run(tmp_path, data_root, train_config=cfg, cache_root=cache_root, workers=2, verbose=0)
    assert first.epochs_run == 2
    # Pretend the run was meant to be longer and was interrupted: raise the epoch budget on disk.
    run_config = json.loads((tmp_path / "run_config.json").read_text())
    run_config["train"]["epochs"] = 3
    (tmp_path / "run_config.json").write_text(json.dumps(run_config))
    resumed = train_run(tmp_path, resume=True, cache_root=cache_root, workers=2, verbose=0)
    assert resumed.epochs_run == 3 and resumed.extra["features_computed"] == 0
    history = json.loads((tmp_path / "history.json").read_text())
    histories = [history] if members == 1 else [history[f"member{k}"] for k in range(1, members + 1)]
    assert [len(h["loss"]) for h in histories] == [3] * members
    if members > 1:
        assert [m["epochs_run"] for m in resumed.extra["members"]] == [3] * members


def test_without_validation_keeps_the_last_epoch(tmp_path, data_root, cache_root):
    cfg = TrainConfig(**{**SMOKE, "epochs": 2, "val_speakers": (), "average_last": 0})
    result = train_run(tmp_path, data_root, train_config=cfg, cache_root=cache_root, workers=2, verbose=0)
    history = json.loads((tmp_path / "history.json").read_text())
    assert result.extra["n_val"] == 0 and result.epochs_run == result.best_epoch == 2
    assert result.extra["kept"] == "epoch 2"
    assert "loss" in history and not any(k.startswith("val_") for k in history)
    assert json.loads((tmp_path / "split.json").read_text())["val"]["clips"] == 0


@pytest.mark.slow   # reads the shared corpora
@pytest.mark.parametrize("args, message", [
    (["--data", "/nonexistent/ravdess"], "dataset folder not found"),
    (["--resume", "/nonexistent/run"], "nothing to resume"),
    (["--protocol", "speaker", "--set", "test_speakers=ravdess/23,ravdess/24"], "no clips"),
    (["--protocol", "corpus"], "needs --test-corpus"),
    (["--protocol", "corpus", "--test-corpus", "tess"], "is not among the corpora read"),
    (["--data", "emodb=/nonexistent/emodb"], "folder not found"),
    (["--data", "a/b=/tmp"], "a corpus name has no '/'"),
    (["--members", "0"], "members must be at least 1"),
    (["--set", "train.average_last=-1"], "average_last is a number of epochs"),
    (["--set", "model.gru_units=1.5"], "expected a whole number"),
    (["--set", "prosody=maybe"], "expected true or false"),
    (["--set", "mel_masks=2"], "no such recipe field"),
    (["--set", "epoch_size"], "expected FIELD=VALUE"),
    (["--recipe", "deep"], "no recipe 'deep'; the recipes are companion, default"),
    (["--resume", "/nonexistent/run", "--set", "epochs=3"], "a resumed run keeps its recipe"),
])
def test_cli_user_errors_are_one_line(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "train", "--out", str(tmp_path / "r"), *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error:") and all(line.startswith("warning: ") for line in lines[:-1])


@pytest.mark.slow
def test_cli_trains_a_recipe_with_changes_and_records_them(tmp_path, cache_root, clip_path):
    import zipfile

    import h5py

    from train.model import load_model, members_of
    from train.recipe import Recipe, settings_of_run

    out = tmp_path / "run"
    changes = ["epoch_size=64", "model.conv_filters=16,16", "model.gru_units=16", "train.corpus_power=0.75"]
    proc = subprocess.run([sys.executable, "-m", "train", "--recipe", "default", "--out", str(out),
                           "--max-clips", "24", "--epochs", "1", "--members", "2",
                           *[a for c in changes for a in ("--set", c)], "--set", "corpora=ravdess,ravdess-song",
                           "--cache-dir", str(cache_root), "--workers", "2", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test accuracy" in proc.stdout and "Traceback" not in proc.stderr
    assert "seed 42:" in proc.stdout and "seed 1042:" in proc.stdout
    assert "kept epoch 1" in proc.stdout   # the mean of the last 10 of 1 epoch is that epoch
    run_config = json.loads((out / "run_config.json").read_text())
    # the run is the recipe with exactly those changes, named and hashed as such
    expected = Recipe.load("default").with_settings([*changes, "corpora=ravdess,ravdess-song",
                                                      "train.epochs=1", "train.members=2"])
    assert run_config["recipe"]["name"] == "default" and run_config["recipe"]["sha256"] == expected.sha256
    assert run_config["recipe"]["set"][:4] == changes
    corpora = [s.split("=")[0] for s in run_config["sources"]]
    assert corpora == ["ravdess", "ravdess-song"]
    assert settings_of_run(run_config, corpora) == expected.settings()
    assert run_config["train"]["epoch_size"] == 64 and run_config["model"]["gru_units"] == 16
    assert run_config["features"]["prosody"] and json.loads((out / "feature_config.json").read_text())["prosody"]
    assert set(json.loads((out / "history.json").read_text())) == {"member1", "member2"}
    members = json.loads((out / "metrics.json").read_text())["extra"]["members"]
    assert [m["seed"] for m in members] == [42, 1042]
    with zipfile.ZipFile(out / "model.keras") as archive, archive.open("model.weights.h5") as f:
        names = []
        h5py.File(f, "r").visit(names.append)
    assert names and not any("optimizer" in n for n in names)   # weights only, as for one model
    model = load_model(out / "model.keras")
    first, second = members_of(model)
    assert first.get_layer("gru").units == 16 and first.get_layer("conv1").filters == 16
    x = np.random.default_rng(0).normal(0, 30, (2, 200, 43)).astype(np.float32)   # 40 MFCCs + 3 prosody columns
    np.testing.assert_allclose(model.predict(x, verbose=0), (first(x) + second(x)) / 2, atol=1e-6)

    # A finished ensemble grows: the trained members are reloaded as they were, a third one trains.
    def resume(*extra):
        return subprocess.run([sys.executable, "-m", "train", "--resume", str(out), *extra, "--cache-dir",
                               str(cache_root), "--workers", "2", "--quiet"], capture_output=True, text=True,
                              timeout=600)
    refused = resume("--members", "1")
    assert refused.returncode == 2 and "the run has 2 members; a resumed run keeps them all" in refused.stderr
    grown = resume("--members", "3")
    assert grown.returncode == 0, grown.stderr[-2000:]
    assert "seed 2042:" in grown.stdout
    assert json.loads((out / "run_config.json").read_text())["train"]["members"] == 3
    assert set(json.loads((out / "history.json").read_text())) == {"member1", "member2", "member3"}
    bigger = members_of(load_model(out / "model.keras"))
    assert len(bigger) == 3
    for before, after in zip((first, second), bigger):
        np.testing.assert_allclose(after.predict(x, verbose=0), before.predict(x, verbose=0), atol=1e-6)

    # The device runs it: full int8, its card names the recipe, the classifier computes the 43 columns.
    from convert.converter import convert_run
    from edge_runtime import EmotionClassifier

    card = convert_run(out, tmp_path / "tflite", variants=["int8"], n_representative=8, cache_root=cache_root,
                       min_agreement=0.0, log=lambda *a: None)
    assert card["training"]["recipe"]["name"] == "default" and card["training"]["recipe"]["set"][:4] == changes
    assert card["training"]["recipe"]["settings"]["train"]["members"] == 3
    clf = EmotionClassifier(tmp_path / "tflite" / "model_int8.tflite")
    assert clf.config.prosody and clf.config.n_features == 43
    assert clf.predict_file(clip_path).label in clf.labels


def test_average_last_keeps_the_mean_of_the_last_epochs(smoke_run, cache_root, tmp_path):
    import keras

    from edge_runtime.config import FeatureConfig
    from train.checkpoint import RunCheckpoint
    from train.dataset import ref_features
    from train.hparams import ModelConfig
    from train.model import build_model
    from train.trainer import RunSetup

    out, _ = smoke_run
    refs = json.loads((out / "split.json").read_text())["files"]["train"][:16]
    feats = ref_features(refs, RunSetup.load(out).sources, FeatureConfig(), cache_root)
    y = keras.utils.to_categorical(feats.y, 8)
    cfg = ModelConfig(conv_filters=(8, 8), gru_units=8, attention_units=4)
    model = build_model(200, 40, 8, cfg, feats.x.reshape(-1, 40).mean(0), feats.x.reshape(-1, 40).var(0))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(model.get_weights()))
    ckpt = RunCheckpoint(tmp_path, patience=1, average_last=2, epochs=4)
    # patience 1 with validation would stop early; averaging trains every epoch
    model.fit(feats.x, y, validation_data=(feats.x[:4], y[:4]), epochs=4, batch_size=8, verbose=0,
              callbacks=[ckpt, record])
    assert len(seen) == 4 and ckpt.kept == "mean of epochs 3-4"
    for got, a, b in zip(model.get_weights(), seen[2], seen[3]):
        np.testing.assert_allclose(got, (a + b) / 2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(seen[2][0], seen[3][0])   # the two epochs differ, so the mean is a new point
    assert ckpt.best_path.exists() and not list(tmp_path.glob("epoch*.weights.h5"))


def test_evaluate_scores_the_test_part_again_with_the_same_figures(smoke_run, cache_root):
    from train.trainer import evaluate_run

    out, result = smoke_run
    before = json.loads((out / "metrics.json").read_text())
    rep = evaluate_run(out, cache_root=cache_root)
    assert rep["accuracy"] == pytest.approx(result.test_accuracy)
    n_test = len(json.loads((out / "split.json").read_text())["files"]["test"])
    assert sum(r["n"] for c, r in rep["per_corpus"].items() if c != "all") == n_test
    after = json.loads((out / "metrics.json").read_text())
    assert after["extra"]["per_corpus"] == before["extra"]["per_corpus"] and after["seconds"] == before["seconds"]


def test_members_given_to_a_new_run_are_used(tmp_path):
    from train.hparams import ConfigError

    with pytest.raises(ConfigError, match="members must be at least 1"):      # checked before any clip is read
        train_run(tmp_path / "r", "/nonexistent", train_config=TrainConfig(members=3), members=0)
