"""Named training recipes: every hyper-parameter of a shipped model in one checked-in file.

A recipe (``train/recipes/<name>.json``) holds the corpora a run reads when ``--data`` is not given,
the feature switches (``features``: the fields of :class:`~edge_runtime.config.FeatureConfig` it sets),
and every field of the ``train`` (minus the protocol, :data:`~train.hparams.PROTOCOL_FIELDS`),
``model``, ``augment`` (minus its seed, which is the run's) and ``spec_augment`` blocks. A missing or
unknown field is an error, so a recipe never silently follows a changed code default. ``python -m train
--recipe NAME`` trains it; ``--set SECTION.FIELD=VALUE`` changes one field for one run (an experiment),
recorded in the run folder beside the recipe's name and hash, and carried into the model card.

>>> r = Recipe.load("default")
>>> r.train.members, r.features, r.corpora[:2]
(5, {'prosody': True}, ('ravdess', 'ravdess-song'))
>>> changed = r.with_settings(["epoch_size=16000", "model.gru_units=64"])
>>> changed.train.epoch_size, changed.model.gru_units, changed.sha256 != r.sha256
(16000, 64, True)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from edge_runtime.config import FeatureConfig

from .augment import AugmentConfig
from .hparams import PROTOCOL_FIELDS, ConfigError, ModelConfig, SpecAugmentConfig, TrainConfig

#: The checked-in recipes, one per shipped model.
RECIPE_DIR = Path(__file__).resolve().parent / "recipes"
#: Recipe sections that map onto a configuration dataclass, and the fields a recipe leaves to the run.
SECTIONS: dict[str, tuple[type, tuple[str, ...]]] = {
    "train": (TrainConfig, PROTOCOL_FIELDS),
    "model": (ModelConfig, ()),
    "augment": (AugmentConfig, ("seed",)),
    "spec_augment": (SpecAugmentConfig, ()),
}


def recipe_names() -> list[str]:
    """The names of the checked-in recipes."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.json"))


def _section(cls: type, data: Mapping[str, Any], left: Sequence[str], what: str):
    """``cls`` built from a recipe section that must name each of its fields but ``left``."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in left]
    missing = [n for n in names if n not in data]
    unknown = sorted(set(data) - set(names))
    if missing or unknown:
        raise ConfigError(f"{what}: " + "; ".join(
            ([f"missing field(s) {', '.join(missing)}"] if missing else [])
            + ([f"unknown field(s) {', '.join(unknown)}"] if unknown else [])))
    return cls.from_dict(dict(data))


@dataclass(frozen=True)
class Recipe:
    """One named recipe (see the module docstring)."""

    name: str
    description: str
    corpora: tuple[str, ...]
    features: dict
    train: TrainConfig
    model: ModelConfig
    augment: AugmentConfig
    spec_augment: SpecAugmentConfig
    changes: tuple[str, ...] = ()     # the ``--set`` assignments applied to the file's recipe

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], what: str = "recipe") -> "Recipe":
        """Build and check a recipe from its JSON form."""
        expected = {"name", "description", "corpora", "features", *SECTIONS}
        if set(data) != expected:
            raise ConfigError(f"{what}: expected the keys {', '.join(sorted(expected))}; got "
                              f"{', '.join(sorted(data))}")
        features = dict(data["features"])
        try:
            FeatureConfig(**features)
        except TypeError as err:
            raise ConfigError(f"{what}: features: {err}") from None
        corpora = data["corpora"]
        if not corpora or not all(isinstance(c, str) and c for c in corpora):
            raise ConfigError(f"{what}: corpora is a non-empty list of corpus folder names")
        sections = {k: _section(c, data[k], left, f"{what}: {k}") for k, (c, left) in SECTIONS.items()}
        return cls(str(data["name"]), str(data["description"]), tuple(corpora), features, **sections)

    @classmethod
    def load(cls, name: Union[str, Path]) -> "Recipe":
        """A checked-in recipe by name (``"default"``, ``"companion"``) or a recipe file's path."""
        path = Path(name)
        if path.suffix != ".json":
            path = RECIPE_DIR / f"{name}.json"
            if not path.is_file():
                raise ConfigError(f"no recipe {name!r}; the recipes are {', '.join(recipe_names())} "
                                  f"(or give a recipe file's path)")
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: not a recipe file ({err})") from None
        return cls.from_dict(data, str(path))

    def settings(self) -> dict:
        """Everything the recipe decides, as plain JSON (what its hash covers and a model card keeps)."""
        def block(key: str) -> dict:
            left = SECTIONS[key][1]
            return {k: v for k, v in json.loads(json.dumps(dataclasses.asdict(getattr(self, key)))).items()
                    if k not in left}
        return {"corpora": list(self.corpora), "features": dict(sorted(self.features.items())),
                **{key: block(key) for key in SECTIONS}}

    @property
    def sha256(self) -> str:
        """SHA-256 of :meth:`settings` as sorted, compact JSON: the same for any layout of the file."""
        text = json.dumps(self.settings(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def feature_config(self) -> FeatureConfig:
        """The device's feature pipeline with this recipe's switches."""
        return FeatureConfig(**self.features)

    def with_settings(self, assignments: Sequence[str]) -> "Recipe":
        """This recipe with ``FIELD=VALUE`` or ``SECTION.FIELD=VALUE`` assignments applied (values as JSON, else
        text; a list field also takes ``a,b,c``); an unknown or ambiguous field, or a wrong type, is an error."""
        recipe = self
        for text in assignments:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"--set {text!r}: expected FIELD=VALUE, e.g. train.epoch_size=16000")
            recipe = recipe._set(key.strip(), value.strip())
        return replace(recipe, changes=self.changes + tuple(assignments))

    def _set(self, key: str, text: str) -> "Recipe":
        section, _, name = key.rpartition(".")
        if key == "corpora":
            return replace(self, corpora=tuple(n.strip() for n in text.split(",") if n.strip()))
        if section in ("", "features") and (section or name not in _all_fields()):
            if name not in {f.name for f in dataclasses.fields(FeatureConfig)}:
                raise ConfigError(f"--set {key}: no such recipe field (see train/recipes/*.json)")
            value = _coerce(getattr(FeatureConfig(), name), text, key)
            features = {**self.features, name: value}
            return replace(self, features=features)
        owners = [s for s in SECTIONS if (not section or s == section) and name in _fields(s)]
        if len(owners) != 1:
            where = f"{', '.join(owners)}" if owners else "no section"
            raise ConfigError(f"--set {key}: {'ambiguous, in ' + where if owners else 'no such recipe field'} "
                              f"(write SECTION.FIELD; see train/recipes/*.json)")
        block = getattr(self, owners[0])
        kind = {f.name: str(f.type) for f in dataclasses.fields(block)}[name]
        value = _coerce(getattr(block, name), text, key, listed="tuple" in kind)
        try:
            return replace(self, **{owners[0]: replace(block, **{name: value})})
        except (TypeError, ValueError) as err:
            raise ConfigError(f"--set {key}: {err}") from None


def _fields(section: str) -> set[str]:
    """The fields ``--set`` may change in a section: all but the augmentation seed (the run's ``train.seed``)."""
    return {f.name for f in dataclasses.fields(SECTIONS[section][0])} - ({"seed"} if section == "augment" else set())


def _all_fields() -> set[str]:
    return set().union(*(_fields(s) for s in SECTIONS))


def _coerce(current: Any, text: str, key: str, listed: bool = False) -> Any:
    """``text`` as a value of the type of ``current`` (JSON, else plain text; ``a,b`` for a tuple, which a
    ``listed`` field always is: ``""`` is the empty one)."""
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if isinstance(current, tuple) or (listed and value is not None):
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v.strip()]
        if isinstance(current, tuple) and current:    # each item as the recipe's own items are
            return tuple(_coerce(current[0], json.dumps(v) if not isinstance(v, str) else v, key) for v in items)
        return tuple(items)
    if current is None or value is None:
        return value
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"--set {key}: expected true or false, got {text!r}")
        return value
    if isinstance(current, (int, float)) and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(current, int) and not float(value).is_integer():
            raise ConfigError(f"--set {key}: expected a whole number, got {text!r}")
        return type(current)(value)
    if isinstance(current, str) and isinstance(value, str):
        return value
    raise ConfigError(f"--set {key}: expected a {type(current).__name__}, got {text!r}")


def settings_of_run(run_config: Mapping[str, Any], corpora: Sequence[str]) -> dict:
    """The recipe settings a run folder's ``run_config.json`` was trained with (``corpora``: its sources' names),
    in the form of :meth:`Recipe.settings`, so a run can be checked against a recipe file."""
    defaults = FeatureConfig().to_dict()
    features = {k: v for k, v in run_config["features"].items() if k != "version" and v != defaults.get(k)}
    return {"corpora": list(corpora), "features": dict(sorted(features.items())),
            **{key: {k: v for k, v in run_config[key].items() if k not in SECTIONS[key][1]} for key in SECTIONS}}


def recipe_block(recipe: Optional[Mapping[str, Any]], settings: dict) -> dict:
    """What a model card says about its recipe: name, hash and ``--set`` changes from the run folder, and the
    settings the run was actually trained with."""
    recipe = dict(recipe or {})
    return {"name": recipe.get("name"), "sha256": recipe.get("sha256"), "set": list(recipe.get("set", [])),
            "settings": settings}
