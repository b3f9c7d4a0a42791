"""One training run: data -> features -> model -> evaluation artefacts in a run folder."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Union

import numpy as np

from edge_runtime.config import FeatureConfig

from .augment import VARIANTS, AugmentConfig
from .clips import Clip, DatasetError
from .corpora import Source, corpus_counts, scan_sources
from .dataset import FeatureSet, Job, corpora_of, extract_features, ref_features
from .hparams import ConfigError, ModelConfig, SpecAugmentConfig, TrainConfig
from .report import corpus_reports, plot_curves, write_json, write_reports
from .sampling import balanced_weights
from .speaker_norm import normalise_feature_set, normalise_parts
from .splits import Split, make_split

if TYPE_CHECKING:
    from .recipe import Recipe


@dataclass
class RunResult:
    """What a finished run measured."""

    run_dir: Path
    test_accuracy: Optional[float]     # None without a test part (protocol "all")
    macro_f1: Optional[float]
    per_class_f1: dict
    epochs_run: int
    best_epoch: int
    seconds: float
    extra: dict = field(default_factory=dict)


def subset(clips: Sequence[Clip], n: int, seed: int) -> list[Clip]:
    """About ``n`` clips, the same share of every (corpus, emotion) group, for smoke runs."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple, list[Clip]] = {}
    for c in clips:
        groups.setdefault((c.corpus, c.emotion), []).append(c)
    per = max(1, n // len(groups))
    out = []
    for group in groups.values():
        out += [group[i] for i in sorted(rng.permutation(len(group))[:per])]
    return sorted(out, key=lambda c: str(c.path))


def build_jobs(split: Split, augment: bool) -> tuple[list[Job], dict[str, slice]]:
    """Every (clip, variant) to featurise and where each part lies in the list.

    Only training clips are augmented (:data:`~train.augment.VARIANTS`); validation and test clips are used clean.
    """
    train_variants = VARIANTS if augment else ("clean",)
    parts = {
        "train": [Job(c, v) for c in split.train for v in train_variants],
        "val": [Job(c) for c in split.val],
        "test": [Job(c) for c in split.test],
    }
    jobs, where, start = [], {}, 0
    for name, part in parts.items():
        jobs += part
        where[name] = slice(start, start + len(part))
        start += len(part)
    return jobs, where


def take(features: FeatureSet, jobs: Sequence[Job], part: slice) -> tuple[np.ndarray, np.ndarray, list[Job]]:
    """Rows of ``features`` whose job lies in ``jobs[part]`` (skipped jobs are absent)."""
    wanted = {id(j) for j in jobs[part]}
    rows = [i for i, j in enumerate(features.jobs) if id(j) in wanted]
    return features.x[rows], features.y[rows], [features.jobs[i] for i in rows]


def clip_ref(clip: Clip, sources: Sequence[Source]) -> str:
    """``"CORPUS:relative/path"`` for a clip under one of ``sources`` (else its absolute path); RAVDESS references
    keep the source's kind (``ravdess:`` for song clips read from a folder that holds both)."""
    for s in sources:
        root = s.root.resolve()
        path = clip.path.resolve()
        if path.is_relative_to(root):
            return f"{s.corpus}:{path.relative_to(root)}"
    return str(clip.path.resolve())


def save_split(split: Split, path: Path, sources: Sequence[Source]) -> None:
    """Write which clips went where, as :func:`clip_ref` strings."""
    files = {name: [clip_ref(c, sources) for c in getattr(split, name)] for name in ("train", "val", "test")}
    write_json(path, {**split.summary(), "files": files})


def fit_member(folder: Path, seed: int, name: str, data: tuple[np.ndarray, ...], feature_config: FeatureConfig,
               model_config: ModelConfig, spec_config: SpecAugmentConfig, tc: TrainConfig, resume: bool = False,
               verbose: int = 2):
    """Train one CNN-GRU-attention model with checkpoints in ``folder``; return it (the kept weights: the best
    validation epoch's, or the mean of the last ``tc.average_last`` epochs) and its
    :class:`~train.checkpoint.RunCheckpoint`.

    ``data`` is ``(x_train, y_train, w_train, x_val, y_val, w_val)``: ``w_train``
    are sampling weights (``None``: every example once per epoch, shuffled),
    ``w_val`` the validation weights that make early stopping watch the
    corpus- and class-balanced accuracy. With ``resume``, a model with a
    checkpoint in ``folder`` continues from it (or is just reloaded if it had finished).
    """
    import keras

    from .batches import AugmentedBatches
    from .checkpoint import RunCheckpoint
    from .model import build_model, load_model

    x_train, y_train, w_train, x_val, y_val, w_val = data
    n_classes = len(feature_config.labels)
    keras.utils.set_random_seed(seed)
    ckpt = RunCheckpoint(folder, patience=tc.patience, average_last=tc.average_last, epochs=tc.epochs)
    epoch_size = min(tc.epoch_size or len(x_train), len(x_train))
    if resume and ckpt.last_path.exists():
        ckpt.load_state()
        model = load_model(ckpt.last_path)
    else:
        flat = x_train.reshape(-1, x_train.shape[-1])
        model = build_model(feature_config.n_frames, feature_config.n_features, n_classes, model_config,
                            mean=flat.mean(axis=0), variance=flat.var(axis=0), name=name)
        steps = tc.epochs * -(-epoch_size // tc.batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(tc.learning_rate, decay_steps=steps, alpha=0.02)
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=tc.label_smoothing),
                      weighted_metrics=["accuracy"])
    if ckpt.epoch < tc.epochs and not (resume and ckpt.wait >= tc.patience):
        batches = AugmentedBatches(x_train, y_train, n_classes, tc.batch_size,
                                   fill=x_train.reshape(-1, x_train.shape[-1]).mean(axis=0),
                                   config=spec_config, seed=seed + ckpt.epoch, weights=w_train,
                                   epoch_size=epoch_size)
        # No validation part (val_fraction 0 / no val speakers): train all epochs, keep the last.
        validation = (x_val, keras.utils.to_categorical(y_val, n_classes), w_val) if len(x_val) else None
        model.fit(batches, validation_data=validation,
                  epochs=tc.epochs, initial_epoch=ckpt.epoch, verbose=verbose, callbacks=[ckpt])
    else:   # finished before: its kept weights (averaged now if the run stopped between the last epoch and that)
        ckpt.set_model(model)
        ckpt.on_train_end()
    return model, ckpt


@dataclass(frozen=True)
class RunSetup:
    """Every configuration of a run, as written to (and read back from) ``run_config.json``."""

    features: FeatureConfig
    train: TrainConfig
    model: ModelConfig
    augment: AugmentConfig
    spec_augment: SpecAugmentConfig
    sources: tuple[Source, ...]
    recipe: Optional[dict] = None   # {"name", "sha256", "set"}: the recipe file it came from and its --set changes

    def to_dict(self) -> dict:
        """Plain-JSON form."""
        return {"recipe": self.recipe, "features": self.features.to_dict(), "train": asdict(self.train),
                "model": self.model.to_dict(), "augment": asdict(self.augment),
                "spec_augment": self.spec_augment.to_dict(),
                "sources": [str(replace(s, root=s.root.resolve())) for s in self.sources]}

    @classmethod
    def load(cls, run_dir: Path) -> "RunSetup":
        """Read ``run_dir/run_config.json`` (a run to resume, evaluate or convert)."""
        if not (run_dir / "run_config.json").exists():
            raise DatasetError(f"nothing to resume in {run_dir} (no run_config.json)")
        saved = json.loads((run_dir / "run_config.json").read_text())
        try:
            features = FeatureConfig.from_dict(saved["features"])
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{run_dir}/run_config.json: {err}") from None
        return cls(features, TrainConfig.from_dict(saved["train"]), ModelConfig.from_dict(saved["model"]),
                   AugmentConfig.from_dict(saved["augment"]), SpecAugmentConfig.from_dict(saved["spec_augment"]),
                   tuple(Source.parse(s) for s in saved["sources"]), saved.get("recipe"))


def as_sources(data: Union[None, str, Path, Sequence[Source]],
               corpora: Optional[Sequence[str]] = None) -> tuple[Source, ...]:
    """``None`` (the shared folders named ``corpora``, default all), a RAVDESS folder, or ``Source`` objects -> a
    tuple of sources."""
    if data is None:
        from .corpora import SHARED_FOLDERS, default_sources
        return tuple(default_sources(corpora or SHARED_FOLDERS))
    if isinstance(data, (str, Path)):
        return (Source("ravdess", Path(data)),)
    return tuple(data)


def prepare_split(setup: RunSetup) -> tuple[Split, dict]:
    """Scan the sources, split by the protocol, take a smoke subset if asked; also the clips per corpus and
    emotion that were read and that train."""
    tc = setup.train
    clips = scan_sources(setup.sources, include_song=tc.include_song)
    split = make_split(clips, tc.protocol, seed=tc.seed, test_fraction=tc.test_fraction,
                       val_fraction=tc.val_fraction, test_speakers=tc.test_speakers, val_speakers=tc.val_speakers,
                       fold=tc.fold, test_corpus=tc.test_corpus)
    if tc.max_clips:   # a smoke run: the same split, fewer clips in each part
        n = tc.max_clips
        split = Split(subset(split.train, n, tc.seed), subset(split.val, max(1, n // 4), tc.seed) if split.val else [],
                      subset(split.test, max(1, n // 4), tc.seed) if split.test else [], split.protocol,
                      {**split.info, "max_clips": n})
    return split, {"read": corpus_counts(clips), "train": corpus_counts(split.train)}


def part_arrays(feats: FeatureSet, jobs: Sequence[Job], where: dict, tc: TrainConfig) -> dict:
    """``x``, ``y``, corpus of each row, weights and the jobs behind the rows of the train, val and test parts."""
    parts = {}
    for name in ("train", "val", "test"):
        x, y, part_jobs = take(feats, jobs, where[name])
        corpus = corpora_of(part_jobs)
        parts[name] = {"x": x, "y": y, "corpus": corpus, "jobs": part_jobs,
                       "w": balanced_weights(corpus, y, tc.corpus_power if name == "train" else 0.0)}
    if not tc.balance:
        parts["train"]["w"] = None
    return parts


def grow(tc: TrainConfig, members: Optional[int] = None) -> TrainConfig:
    """``tc`` of a finished or interrupted run with more ensemble members: those it has keep their seeds (they
    are reloaded from their checkpoints, not trained again); the new ones train.

    >>> grow(TrainConfig(members=3), 5).members
    5
    >>> grow(TrainConfig(members=3), 2)
    Traceback (most recent call last):
    ...
    train.hparams.ConfigError: the run has 3 members; a resumed run keeps them all (got --members 2)
    """
    new = replace(tc, members=tc.members if members is None else members)
    if new.members < tc.members:
        raise ConfigError(f"the run has {tc.members} members; a resumed run keeps them all (got --members {new.members})")
    if new.members > tc.members == 1:
        raise ConfigError("a one-model run cannot grow into an ensemble (its checkpoint is not a member's); "
                          "train a new run with --members N")
    return new


def fit_members(out_dir: Path, setup: RunSetup, parts: dict, resume: bool, verbose: int) -> tuple[list, list]:
    """Train the ensemble's members one after the other (each with its own checkpoint folder)."""
    tc = setup.train
    data = tuple(parts[p][k] for p in ("train", "val") for k in ("x", "y", "w"))
    members, checkpoints = [], []
    for k in range(tc.members):
        folder = out_dir / "checkpoint" / (f"member{k + 1}" if tc.members > 1 else "")
        name = f"member{k + 1}" if tc.members > 1 else "cnn_gru_attention"
        member, ckpt = fit_member(folder, tc.seed + 1000 * k, name, data, setup.features, setup.model,
                                  setup.spec_augment, tc, resume=resume, verbose=verbose)
        members.append(member)
        checkpoints.append(ckpt)
    return members, checkpoints


def train_run(out_dir: Path, data: Union[None, str, Path, Sequence[Source]] = None,
              feature_config: Optional[FeatureConfig] = None,
              train_config: Optional[TrainConfig] = None, model_config: Optional[ModelConfig] = None,
              augment_config: Optional[AugmentConfig] = None,
              spec_config: Optional[SpecAugmentConfig] = None, resume: bool = False,
              workers: Optional[int] = None, cache_root: Optional[Path] = None, verbose: int = 2,
              members: Optional[int] = None, recipe: Optional["Recipe"] = None) -> RunResult:
    """Train and evaluate one model; write the run folder; return the test figures.

    ``data`` names the corpora (see :func:`as_sources`). A ``recipe`` (:class:`train.recipe.Recipe`) supplies
    the features, model, augmentation and the optimisation fields of ``train_config`` (which then gives the
    protocol only) and, without ``data``, the corpora. With ``resume=True``, ``out_dir`` must hold a run
    interrupted earlier: its configuration is read back from ``run_config.json`` and training continues from
    its last checkpoint; ``members`` may then add members to its ensemble (:func:`grow`). For a new run it
    replaces the configuration's.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if resume:
        setup = RunSetup.load(out_dir)
        if members is not None:
            setup = replace(setup, train=grow(setup.train, members))
    else:
        setup = new_setup(data, train_config, recipe, feature_config, model_config, augment_config, spec_config)
        if members is not None:
            setup = replace(setup, train=replace(setup.train, members=members))
    tc = setup.train
    split, counts = prepare_split(setup)
    out_dir.mkdir(parents=True, exist_ok=True)
    setup.features.save(out_dir / "feature_config.json")
    write_json(out_dir / "run_config.json", setup.to_dict())
    save_split(split, out_dir / "split.json", setup.sources)
    if verbose:
        print(f"clips per corpus: {', '.join(f'{c} {sum(n.values())}' for c, n in counts['read'].items())}; "
              f"train {len(split.train)}, val {len(split.val)}, test {len(split.test)}", flush=True)

    jobs, where = build_jobs(split, tc.augment)
    feats = extract_features(jobs, setup.features, setup.augment, cache_root=cache_root, workers=workers,
                             progress=verbose > 0)
    parts = part_arrays(feats, jobs, where, tc)
    if len(parts["train"]["x"]) == 0:
        raise DatasetError("the training part is empty after feature extraction; add clips or change the split")
    if tc.speaker_norm:
        normalise_parts(parts, setup.features.n_mfcc, out_dir)

    # TensorFlow is imported only now: user errors above are reported without loading it.
    from .model import ensemble_model, save_for_inference

    members, checkpoints = fit_members(out_dir, setup, parts, resume, verbose)
    model = ensemble_model(members)
    save_for_inference(model, out_dir / "model.keras")
    write_histories(out_dir, checkpoints)
    test = parts["test"]
    member_results = []
    for k, (member, c) in enumerate(zip(members, checkpoints)):
        row = {"seed": tc.seed + 1000 * k, "epochs_run": c.epoch, "best_epoch": c.best_epoch, "kept": c.kept}
        if len(test["x"]) and tc.members > 1:
            pred = member.predict(test["x"], batch_size=64, verbose=0).argmax(1)
            row["test_accuracy"] = float(np.mean(pred == test["y"]))
            row["per_corpus"] = {name: {"accuracy": r["accuracy"], "uar": r["uar"]} for name, r in
                                 corpus_reports(test["y"], pred, test["corpus"], setup.features.labels).items()}
        member_results.append(row)
    ckpt = checkpoints[0]   # RunResult's epochs are the first member's; every member's are in extra["members"]
    extra = {"n_train": len(parts["train"]["x"]), "n_val": len(parts["val"]["x"]), "n_test": len(test["x"]),
             "clips_per_corpus": counts["train"], "skipped_clips": feats.skipped, "features_computed": feats.computed,
             "params": model.count_params(), "kept": ckpt.kept,
             **({"members": member_results} if tc.members > 1 else {})}
    accuracy, macro_f1, per_class_f1 = None, None, {}   # protocol "all": nothing held out
    if len(test["x"]):
        scores = model.predict(test["x"], batch_size=64, verbose=0)
        rep = write_reports(out_dir, test["y"], scores, test["corpus"], setup.features.labels,
                            f"{tc.protocol} protocol")
        accuracy, macro_f1, per_class_f1, extra["per_corpus"] = held_out_figures(rep, setup.features.labels)
    result = RunResult(out_dir, accuracy, macro_f1, per_class_f1, ckpt.epoch, ckpt.best_epoch,
                       time.perf_counter() - t0, extra)
    write_json(out_dir / "metrics.json", {k: v for k, v in asdict(result).items() if k != "run_dir"})
    return result


def new_setup(data, train_config: Optional[TrainConfig] = None, recipe: Optional["Recipe"] = None,
              feature_config: Optional[FeatureConfig] = None, model_config: Optional[ModelConfig] = None,
              augment_config: Optional[AugmentConfig] = None,
              spec_config: Optional[SpecAugmentConfig] = None) -> RunSetup:
    """The configuration of a new run: a recipe's, with ``train_config``'s protocol fields, or the dataclasses'
    defaults where neither gives one."""
    tc = train_config or TrainConfig()
    if recipe is None:
        return RunSetup(feature_config or FeatureConfig(), tc, model_config or ModelConfig(),
                        augment_config or AugmentConfig(seed=tc.seed), spec_config or SpecAugmentConfig(),
                        as_sources(data))
    from .hparams import PROTOCOL_FIELDS

    protocol = {k: getattr(tc, k) for k in PROTOCOL_FIELDS if getattr(tc, k) != getattr(TrainConfig(), k)}
    tc = replace(recipe.train, **protocol)
    return RunSetup(recipe.feature_config(), tc, recipe.model, replace(recipe.augment, seed=tc.seed),
                    recipe.spec_augment, as_sources(data, recipe.corpora),
                    {"name": recipe.name, "sha256": recipe.sha256, "set": list(recipe.changes)})


def held_out_figures(rep: dict, labels) -> tuple[float, float, dict, dict]:
    """Accuracy, macro F1, per-class F1 and the per-corpus summary of a :func:`~train.report.write_reports` report."""
    keys = ("n", "accuracy", "uar", "chance", "accuracy_within", "uar_within")
    return (float(rep["accuracy"]), float(rep["macro avg"]["f1-score"]),
            {k: round(float(rep[k]["f1-score"]), 4) for k in labels},
            {c: {k: r[k] for k in keys if k in r} for c, r in rep["per_corpus"].items()})


def evaluate_run(run_dir: Path, data: Union[None, Sequence[Source]] = None, cache_root: Optional[Path] = None) -> dict:
    """Score a finished run's test part again with its ``model.keras`` and rewrite its reports and the test
    figures of ``metrics.json`` (e.g. after the reports gained a measure); ``data`` overrides the corpus folders."""
    from .model import load_model

    run_dir = Path(run_dir)
    setup = RunSetup.load(run_dir)
    sources = tuple(data) if data else setup.sources
    refs = json.loads((run_dir / "split.json").read_text())["files"]["test"]
    if not refs:
        raise DatasetError(f"{run_dir} has no test part (protocol {setup.train.protocol})")
    feats = ref_features(refs, sources, setup.features, cache_root)
    x = normalise_feature_set(feats, setup.features.n_mfcc) if setup.train.speaker_norm else feats.x
    scores = load_model(run_dir / "model.keras").predict(x, batch_size=64, verbose=0)
    rep = write_reports(run_dir, feats.y, scores, feats.corpus, setup.features.labels,
                        f"{setup.train.protocol} protocol")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    (metrics["test_accuracy"], metrics["macro_f1"], metrics["per_class_f1"],
     metrics["extra"]["per_corpus"]) = held_out_figures(rep, setup.features.labels)
    write_json(run_dir / "metrics.json", metrics)
    return rep


def write_histories(out_dir: Path, checkpoints: list) -> None:
    """``history.json`` and ``curves.png``: one history, or one per ensemble member."""
    if len(checkpoints) == 1:
        ckpt = checkpoints[0]
        write_json(out_dir / "history.json", ckpt.history)
        # a best epoch is marked only when validation chose it
        plot_curves(ckpt.history, out_dir / "curves.png", None if ckpt.average_last else ckpt.best_epoch)
    else:
        histories = {f"member{k + 1}": c.history for k, c in enumerate(checkpoints)}
        write_json(out_dir / "history.json", histories)
        plot_curves(histories, out_dir / "curves.png")
