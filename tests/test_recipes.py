"""Recipes: the bundled models were trained by the checked-in recipe files, and the CLI stays small."""
import json
from pathlib import Path

import pytest

from train.corpora import Source
from train.hparams import ConfigError
from train.recipe import RECIPE_DIR, Recipe, recipe_names, settings_of_run

ROOT = Path(__file__).resolve().parents[1]
#: recipe -> (the bundled model card it made, the run folder that card was converted from)
SHIPPED = {"default": ("edge_runtime/models/model.json", "runs/default"),
           "companion": ("edge_runtime/models/speaker_norm/model.json", "runs/default-sn")}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_each_bundled_model_was_trained_by_its_recipe_file(name):
    card_path, run = SHIPPED[name]
    recipe = Recipe.load(name)
    card = json.loads((ROOT / card_path).read_text())["training"]["recipe"]
    assert card["name"] == name and card["set"] == [] and card["sha256"] == recipe.sha256
    assert card["settings"] == recipe.settings()
    run_config = json.loads((ROOT / run / "run_config.json").read_text())
    corpora = [Source.parse(s).corpus for s in run_config["sources"]]   # a generic folder: its folder's name
    assert settings_of_run(run_config, corpora) == recipe.settings()   # what the run really used
    assert run_config["train"]["protocol"] == "all"


def test_the_recipes_are_the_shipped_ones():
    assert recipe_names() == sorted(SHIPPED)


def test_a_recipe_file_must_name_every_field(tmp_path):
    data = json.loads((RECIPE_DIR / "default.json").read_text())
    del data["train"]["epoch_size"]
    (tmp_path / "short.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="train: missing field.s. epoch_size"):
        Recipe.load(tmp_path / "short.json")
    data = json.loads((RECIPE_DIR / "default.json").read_text())
    data["spec_augment"]["mel_masks"] = 2
    (tmp_path / "extra.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="spec_augment: unknown field.s. mel_masks"):
        Recipe.load(tmp_path / "extra.json")
    (tmp_path / "garbage.json").write_text("{")
    with pytest.raises(ConfigError, match="not a recipe file"):
        Recipe.load(tmp_path / "garbage.json")


def test_set_changes_one_field_and_the_hash():
    recipe = Recipe.load("default")
    assert recipe.with_settings([]).sha256 == recipe.sha256
    changed = recipe.with_settings(["train.corpus_power=0.75", "balance=false", "features.prosody=false",
                                    "model.kernel_sizes=7,3", "corpora=ravdess,crema-d"])
    assert changed.train.corpus_power == 0.75 and changed.train.balance is False
    assert changed.features == {"prosody": False} and changed.model.kernel_sizes == (7, 3)
    assert changed.corpora == ("ravdess", "crema-d") and changed.sha256 != recipe.sha256
    assert changed.changes[0] == "train.corpus_power=0.75"
    assert recipe.with_settings(["epochs=40"]).sha256 == recipe.sha256   # the recipe's own value
    for bad, message in (("train.epochs=many", "expected a int"), ("augment.seed=3", "no such recipe field"),
                         ("model.gru_units=", "expected a int"), ("nonsense=1", "no such recipe field"),
                         ("=3", "expected FIELD=VALUE")):
        with pytest.raises(ConfigError, match=message):
            recipe.with_settings([bad])


def test_train_help_stays_small_and_has_no_rejected_switch():
    from train.cli import parser

    options = [a for a in parser()._actions if a.option_strings and a.dest != "help"]
    assert len(options) <= 16, [a.option_strings for a in options]
    flags = {s for a in options for s in a.option_strings}
    for rejected in ("--mel-masks", "--mic-eq", "--reverb", "--speakers", "--utterance-norm", "--variants",
                     "--corpus-power", "--no-balance", "--recipes"):
        assert rejected not in flags
