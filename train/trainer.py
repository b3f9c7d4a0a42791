"""One training run: data -> features -> model -> evaluation artefacts in a run folder."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from edge_runtime.config import FeatureConfig

from .augment import VARIANTS, AugmentConfig
from .dataset import FeatureSet, Job, extract_features
from .hparams import ModelConfig, SpecAugmentConfig
from .ravdess import Clip, DatasetError, default_root, scan
from .report import classification_report, confusion, plot_confusion, plot_curves, write_json
from .splits import DEFAULT_TEST_ACTORS, DEFAULT_VAL_ACTORS, Split, make_split


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation and protocol settings of a run."""

    protocol: str = "random"
    seed: int = 42
    epochs: int = 80
    batch_size: int = 32
    learning_rate: float = 1e-3   # peak of a cosine decay over ``epochs`` to 2 % of it
    patience: int = 25
    label_smoothing: float = 0.1
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    test_actors: tuple[int, ...] = DEFAULT_TEST_ACTORS
    val_actors: tuple[int, ...] = DEFAULT_VAL_ACTORS
    augment: bool = True
    include_song: bool = True
    max_clips: Optional[int] = None  # a small, stratified subset for smoke runs
    members: int = 3                 # an ensemble of this many models, seeds differing, scores averaged


@dataclass
class RunResult:
    """What a finished run measured."""

    run_dir: Path
    test_accuracy: float
    macro_f1: float
    per_class_f1: dict
    epochs_run: int
    best_epoch: int
    seconds: float
    extra: dict = field(default_factory=dict)


def subset(clips: Sequence[Clip], n: int, seed: int) -> list[Clip]:
    """About ``n`` clips, the same share of every emotion, for smoke runs."""
    rng = np.random.default_rng(seed)
    by_emotion: dict[int, list[Clip]] = {}
    for c in clips:
        by_emotion.setdefault(c.emotion, []).append(c)
    per = max(1, n // len(by_emotion))
    out = []
    for group in by_emotion.values():
        out += [group[i] for i in sorted(rng.permutation(len(group))[:per])]
    return sorted(out, key=lambda c: c.path)


def build_jobs(split: Split, augment: bool) -> tuple[list[Job], dict[str, slice]]:
    """Every (clip, variant) to featurise and where each part lies in the list.

    Only training clips are augmented; validation and test clips are used clean.
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


def save_split(split: Split, path: Path, root: Path) -> None:
    """Write which clips (relative to the data root) went where."""
    def rel(clips):
        return [str(c.path.relative_to(root)) if c.path.is_relative_to(root) else str(c.path) for c in clips]
    write_json(path, {**split.summary(), "files": {"train": rel(split.train), "val": rel(split.val),
                                                   "test": rel(split.test)}})


def fit_member(folder: Path, seed: int, name: str, data: tuple[np.ndarray, ...], feature_config: FeatureConfig,
               model_config: ModelConfig, spec_config: SpecAugmentConfig, tc: TrainConfig, resume: bool = False,
               verbose: int = 2):
    """Train one CNN-GRU-attention model with checkpoints in ``folder``; return it (best weights) and its
    :class:`~train.checkpoint.RunCheckpoint`.

    ``data`` is ``(x_train, y_train, x_val, y_val)``. With ``resume``, a model
    with a checkpoint in ``folder`` continues from it (or is just reloaded if it had finished).
    """
    import keras

    from .batches import AugmentedBatches
    from .checkpoint import RunCheckpoint
    from .model import build_model, load_model

    x_train, y_train, x_val, y_val = data
    n_classes = len(feature_config.labels)
    keras.utils.set_random_seed(seed)
    ckpt = RunCheckpoint(folder, patience=tc.patience)
    if resume and ckpt.last_path.exists():
        ckpt.load_state()
        model = load_model(ckpt.last_path)
    else:
        flat = x_train.reshape(-1, x_train.shape[-1])
        model = build_model(feature_config.n_frames, feature_config.n_mfcc, n_classes, model_config,
                            mean=flat.mean(axis=0), variance=flat.var(axis=0), name=name)
        steps = tc.epochs * -(-len(x_train) // tc.batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(tc.learning_rate, decay_steps=steps, alpha=0.02)
        model.compile(optimizer=keras.optimizers.Adam(schedule),
                      loss=keras.losses.CategoricalCrossentropy(label_smoothing=tc.label_smoothing),
                      metrics=["accuracy"])
    if ckpt.epoch < tc.epochs and not (resume and ckpt.wait >= tc.patience):
        batches = AugmentedBatches(x_train, y_train, n_classes, tc.batch_size,
                                   fill=x_train.reshape(-1, x_train.shape[-1]).mean(axis=0),
                                   config=spec_config, seed=seed + ckpt.epoch, feature_config=feature_config)
        # No validation part (val_fraction 0 / no val actors): train all epochs, keep the last.
        validation = (x_val, keras.utils.to_categorical(y_val, n_classes)) if len(x_val) else None
        model.fit(batches, validation_data=validation,
                  epochs=tc.epochs, initial_epoch=ckpt.epoch, verbose=verbose, callbacks=[ckpt])
    elif ckpt.best_path.exists():
        model.load_weights(ckpt.best_path)
    return model, ckpt


def train_run(out_dir: Path, data_root: Optional[Path] = None, feature_config: Optional[FeatureConfig] = None,
              train_config: Optional[TrainConfig] = None, model_config: Optional[ModelConfig] = None,
              augment_config: Optional[AugmentConfig] = None,
              spec_config: Optional[SpecAugmentConfig] = None, resume: bool = False,
              workers: Optional[int] = None, cache_root: Optional[Path] = None, verbose: int = 2) -> RunResult:
    """Train and evaluate one model; write the run folder; return the test figures.

    With ``resume=True``, ``out_dir`` must hold a run interrupted earlier: its
    configuration is read back from ``run_config.json`` and training continues
    from its last checkpoint.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if resume:
        if not (out_dir / "run_config.json").exists():
            raise DatasetError(f"nothing to resume in {out_dir} (no run_config.json)")
        saved = json.loads((out_dir / "run_config.json").read_text())
        feature_config = FeatureConfig.from_dict(saved["features"])
        tc = saved["train"]
        train_config = TrainConfig(**{"members": 1, **tc, "test_actors": tuple(tc["test_actors"]),
                                      "val_actors": tuple(tc["val_actors"])})   # runs from before ensembles had one
        model_config = ModelConfig.from_dict(saved["model"])
        augment_config = AugmentConfig(**saved["augment"])
        spec_config = SpecAugmentConfig(**saved["spec_augment"])
        data_root = Path(saved["data_root"])
    feature_config = feature_config or FeatureConfig()
    tc = train_config or TrainConfig()
    model_config = model_config or ModelConfig()
    augment_config = augment_config or AugmentConfig(seed=tc.seed)
    spec_config = spec_config or SpecAugmentConfig()
    root = Path(data_root) if data_root else default_root()
    if tc.members < 1:
        raise ValueError(f"members must be at least 1, got {tc.members}")

    clips = scan(root, include_song=tc.include_song)
    if tc.max_clips:
        clips = subset(clips, tc.max_clips, tc.seed)
    split = make_split(clips, tc.protocol, seed=tc.seed, test_fraction=tc.test_fraction,
                       val_fraction=tc.val_fraction, test_actors=tc.test_actors, val_actors=tc.val_actors)
    out_dir.mkdir(parents=True, exist_ok=True)
    feature_config.save(out_dir / "feature_config.json")
    write_json(out_dir / "run_config.json", {
        "features": feature_config.to_dict(), "train": asdict(tc), "model": model_config.to_dict(),
        "augment": asdict(augment_config), "spec_augment": asdict(spec_config), "data_root": str(root.resolve())})
    save_split(split, out_dir / "split.json", root.resolve())

    jobs, where = build_jobs(split, tc.augment)
    feats = extract_features(jobs, feature_config, augment_config, cache_root=cache_root, workers=workers,
                             progress=verbose > 0)
    x_train, y_train, _ = take(feats, jobs, where["train"])
    x_val, y_val, _ = take(feats, jobs, where["val"])
    x_test, y_test, _ = take(feats, jobs, where["test"])
    if min(len(x_train), len(x_test)) == 0:
        raise DatasetError("the training or test part is empty after feature extraction; add clips or change the split")

    # TensorFlow is imported only now: user errors above are reported without loading it.
    from .model import ensemble_model, save_for_inference

    n_classes = len(feature_config.labels)
    data = (x_train, y_train, x_val, y_val)
    members, checkpoints = [], []
    for k in range(tc.members):
        folder = out_dir / "checkpoint" / (f"member{k + 1}" if tc.members > 1 else "")
        name = f"member{k + 1}" if tc.members > 1 else "cnn_gru_attention"
        member, ckpt = fit_member(folder, tc.seed + 1000 * k, name, data, feature_config,
                                  model_config, spec_config, tc, resume=resume, verbose=verbose)
        members.append(member)
        checkpoints.append(ckpt)
    model = ensemble_model(members)
    save_for_inference(model, out_dir / "model.keras")
    member_results = []
    if tc.members > 1:
        for k, (member, c) in enumerate(zip(members, checkpoints)):
            accuracy = float(np.mean(member.predict(x_test, batch_size=64, verbose=0).argmax(1) == y_test))
            member_results.append({"seed": tc.seed + 1000 * k, "epochs_run": c.epoch, "best_epoch": c.best_epoch,
                                   "test_accuracy": accuracy})
    ckpt = checkpoints[0]   # RunResult's epochs are the first member's; every member's are in extra["members"]

    probs = model.predict(x_test, batch_size=64, verbose=0)
    y_pred = probs.argmax(axis=1)
    text, rep = classification_report(y_test, y_pred, feature_config.labels)
    (out_dir / "report.txt").write_text(text)
    write_json(out_dir / "report.json", rep)
    plot_confusion(confusion(y_test, y_pred, n_classes), feature_config.labels, out_dir / "confusion_matrix.png",
                   f"{tc.protocol} protocol, test accuracy {rep['accuracy']:.3f}")
    if tc.members == 1:
        write_json(out_dir / "history.json", ckpt.history)
        plot_curves(ckpt.history, out_dir / "curves.png", ckpt.best_epoch)
    else:
        histories = {f"member{k + 1}": c.history for k, c in enumerate(checkpoints)}
        write_json(out_dir / "history.json", histories)
        plot_curves(histories, out_dir / "curves.png")
    seconds = time.perf_counter() - t0
    result = RunResult(out_dir, float(rep["accuracy"]), float(rep["macro avg"]["f1-score"]),
                       {k: round(float(rep[k]["f1-score"]), 4) for k in feature_config.labels},
                       ckpt.epoch, ckpt.best_epoch, seconds,
                       {"n_train": len(x_train), "n_val": len(x_val), "n_test": len(x_test),
                        "skipped_clips": feats.skipped, "features_computed": feats.computed,
                        "params": model.count_params(), **({"members": member_results} if member_results else {})})
    write_json(out_dir / "metrics.json", {k: v for k, v in asdict(result).items() if k != "run_dir"})
    return result
