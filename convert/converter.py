"""Run folder -> .tflite files + one sidecar ``model.json``, verified against Keras."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from edge_runtime.config import FeatureConfig
from edge_runtime.model_card import build_card, save_card

#: Below this top-1 agreement of int8 with Keras on the test split, conversion fails.
MIN_INT8_AGREEMENT = 0.97


def _features(refs: Sequence[str], sources, config: FeatureConfig, cache_root,
              speaker_norm: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Clean features and labels of ``refs``; for a speaker-normalised run (the companion recipe), standardised per
    speaker as in training."""
    from train.dataset import ref_features
    from train.speaker_norm import normalise_feature_set

    feats = ref_features(refs, sources, config, cache_root, progress=True)
    return (normalise_feature_set(feats, config.n_mfcc) if speaker_norm else feats.x), feats.y


def speaker_norm_card(stats: dict) -> dict:
    """The card's ``speaker_norm`` block from a run's ``speaker_norm.json``: what the runtime needs to adapt."""
    from edge_runtime.model_card import ADAPT_WEIGHT, ENROL_WINDOWS

    return {"description": "model input = speaker-standardised MFCC columns (x - speaker mean) / speaker std, "
                           "then the input normalisation; the speaker's statistics come from their own windows",
            "columns": int(stats["columns"]), "groups": stats.get("groups"),
            "population_mean": stats["population_mean"], "population_std": stats["population_std"],
            "enrol_windows": ENROL_WINDOWS, "weight": ADAPT_WEIGHT}


def run_sources(run_dir: Path, data: Optional[Sequence] = None) -> list:
    """The corpora a run was trained on (its ``run_config.json``), or ``data`` where given (folders that moved)."""
    from train.corpora import Source
    from train.trainer import RunSetup

    if data:
        return [d if isinstance(d, Source) else Source.parse(str(d)) for d in data]
    return list(RunSetup.load(Path(run_dir)).sources)


#: With no test part (protocol ``all``), conversion is verified on this many clean training clips.
N_VERIFY_WITHOUT_TEST = 600


def _pick(files: Sequence[str], n: Optional[int], seed: int = 0) -> list[str]:
    """``n`` of ``files`` at random, in their order; all of them for ``None``."""
    if n is None or n >= len(files):
        return list(files)
    rng = np.random.default_rng(seed)
    return [files[i] for i in sorted(rng.permutation(len(files))[:n])]


def corpora_card(counts: dict) -> dict:
    """``{corpus: {"clips", "licence"}}`` for the card, from a run's clips per corpus and emotion."""
    from train.corpora import LICENCES

    return {c: {"clips": sum(n.values()), "emotions": n, "licence": LICENCES.get(c, "your own recordings")}
            for c, n in counts.items()}


def run_recipe_block(run_dir: Path, run_config: dict) -> dict:
    """The card's ``training.recipe``: the recipe file (name, hash, ``--set`` changes) and the settings the run in
    ``run_dir`` was trained with (see :func:`train.recipe.settings_of_run`)."""
    from train.recipe import recipe_block, settings_of_run
    from train.trainer import RunSetup

    corpora = [s.corpus for s in RunSetup.load(run_dir).sources]
    return recipe_block(run_config.get("recipe"), settings_of_run(run_config, corpora))


def evaluation_card(run_dirs: Sequence[Path]) -> dict:
    """Per-corpus held-out figures (accuracy, UAR, chance) of each run, keyed by protocol (and left-out corpus)."""
    out = {}
    for run_dir in map(Path, run_dirs):
        run_config = json.loads((run_dir / "run_config.json").read_text())
        train = run_config["train"]
        report = json.loads((run_dir / "report.json").read_text())["per_corpus"]
        key = train["protocol"] + (f": {train['test_corpus']} left out" if train.get("test_corpus") else "")
        out[key] = {"run": run_dir.name, "members": train["members"],
                    "prosody": bool(run_config["features"].get("prosody", False)),
                    "per_corpus": {c: {k: r[k] for k in ("n", "accuracy", "uar", "chance", "accuracy_within",
                                                         "uar_within") if k in r} for c, r in report.items()}}
    return out


def quantisation(path: Path) -> dict:
    """Input/output dtype, shape and (scale, zero point) of a .tflite file."""
    from edge_runtime.interpreter import load_interpreter

    it = load_interpreter(path)
    def one(d):
        scale, zero = d["quantization"]
        return {"dtype": np.dtype(d["dtype"]).name, "shape": [int(s) for s in d["shape"]],
                "scale": float(scale), "zero_point": int(zero)}
    return {"input": one(it.get_input_details()[0]), "output": one(it.get_output_details()[0])}


def convert_run(run_dir: Path, out_dir: Path, variants: Sequence[str] = ("float32", "int8"),
                n_representative: Optional[int] = None, data: Optional[Sequence] = None, cache_root=None,
                min_agreement: float = MIN_INT8_AGREEMENT, log=print, evaluation_runs: Sequence[Path] = ()) -> dict:
    """Convert the model of ``run_dir`` into ``out_dir``; return the sidecar dictionary.

    int8 is calibrated on ``n_representative`` clean training clips (``None``: all of them) and verified
    on the test clips (a run with none, protocol ``all``: on some training clips, said so in the sidecar).
    The held-out figures of ``evaluation_runs`` (runs of the same recipe under the ``speaker`` and
    ``corpus`` protocols) go into the card's ``evaluation``.

    Raises :class:`convert.tflite.ConversionError` if the export graph departs
    from the Keras model, a file has non-builtin ops (or float tensors in
    int8), or int8 agrees with Keras on fewer than ``min_agreement`` of the
    test clips.
    """
    from train.model import load_model, members_of

    from .export import build_export_function, input_normalisation
    from .tflite import VARIANTS, ConversionError, audit, convert, op_listing
    from .verify import compare, table, tflite_scores

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    if not (run_dir / "model.keras").is_file():
        raise ConversionError(f"no trained model in {run_dir} (expected {run_dir / 'model.keras'})")
    from train.speaker_norm import read_run_stats

    speaker_stats = read_run_stats(run_dir)
    config = FeatureConfig.load(run_dir / "feature_config.json")
    split = json.loads((run_dir / "split.json").read_text())
    run_config = json.loads((run_dir / "run_config.json").read_text())
    sources = run_sources(run_dir, data)
    try:
        model = load_model(run_dir / "model.keras")
    except Exception as err:   # a truncated or foreign file: Keras says "File not found" or worse
        raise ConversionError(f"{run_dir / 'model.keras'} is not a readable Keras model ({type(err).__name__}: "
                              f"{str(err).strip().splitlines()[0][:120] if str(err).strip() else 'no detail'})") from None
    out_dir.mkdir(parents=True, exist_ok=True)   # only once there is something to write into it

    verify_part = "test" if split["files"]["test"] else "train"
    verify_refs = split["files"]["test"] or _pick(split["files"]["train"], N_VERIFY_WITHOUT_TEST, seed=1)
    sn = speaker_stats is not None
    x_test, y_test = _features(verify_refs, sources, config, cache_root, sn)
    x_rep, _ = _features(_pick(split["files"]["train"], n_representative), sources, config, cache_root, sn)
    fn = build_export_function(model)
    mean, std = input_normalisation(model)
    x_test_n, x_rep_n = (x_test - mean) / std, (x_rep - mean) / std
    reference = model.predict(x_test, batch_size=64, verbose=0)
    export_scores = np.concatenate([fn(x[None]).numpy() for x in x_test_n[:16]])
    gap = float(np.max(np.abs(export_scores - reference[:16])))
    if gap > 1e-4:
        raise ConversionError(f"export graph departs from the Keras model (max score difference {gap:.2e})")

    def representative():
        for x in x_rep_n:
            yield [x[None].astype(np.float32)]

    files, rows = {}, {}
    for variant in variants:
        t0 = time.perf_counter()
        flat = convert(fn, variant, representative if variant == "int8" else None)
        path = out_dir / VARIANTS[variant]
        path.write_bytes(flat)
        (out_dir / f"ops_{variant}.txt").write_text(op_listing(flat))
        checks = audit(flat, full_integer=(variant == "int8"))
        rows[variant] = {**compare(reference, tflite_scores(path, x_test_n), y_test), "bytes": len(flat)}
        files[variant] = {"file": path.name, "bytes": len(flat), "sha256": hashlib.sha256(flat).hexdigest(),
                          **quantisation(path), "audit": checks, "verification": rows[variant]}
        log(f"{variant:>8}: {len(flat) / 1024:.1f} KB, {checks['n_tensors']} tensors, "
            f"{sum(checks['ops'].values())} ops, {time.perf_counter() - t0:.1f} s")

    keras_accuracy = float(np.mean(reference.argmax(1) == y_test))
    report = table({f"tflite {k}": v for k, v in rows.items()}, keras_accuracy)
    (out_dir / "verification.txt").write_text(report + "\n")
    log(report)
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
    training = {"protocol": run_config["train"]["protocol"], "epochs": run_config["train"]["epochs"],
                "recipe": run_recipe_block(run_dir, run_config),
                "kept": metrics.get("extra", {}).get("kept"),
                "corpora": corpora_card(metrics.get("extra", {}).get("clips_per_corpus", {})),
                "split": {k: v for k, v in split.items() if k != "files"},
                "test_accuracy": metrics.get("test_accuracy"), "macro_f1": metrics.get("macro_f1"),
                "per_class_f1": metrics.get("per_class_f1")}
    sidecar = build_card(members=len(members_of(model)), feature_config=config, mean=mean, std=std, files=files,
                         training=training, evaluation=evaluation_card(evaluation_runs or []),
                         verification={"part": verify_part, "n_test": int(len(y_test)),
                                       "keras_accuracy": keras_accuracy, **rows},
                         speaker_norm=speaker_norm_card(speaker_stats) if sn else None)
    save_card(sidecar, out_dir)
    (out_dir / "feature_config.json").unlink(missing_ok=True)   # the card holds it (older converters wrote it)
    if "int8" in rows and rows["int8"]["agreement"] < min_agreement:
        raise ConversionError(f"int8 model agrees with Keras on only {rows['int8']['agreement']:.1%} of "
                              f"test clips (< {min_agreement:.0%}); files kept in {out_dir} for inspection")
    return sidecar
