"""Speaker adaptation on held-out speakers: the default model alone, the speaker-normalised companion alone and
the pair (as :class:`edge_runtime.adaptive.AdaptiveClassifier` mixes them), per corpus, by how much of each
speaker has been heard, float32 and int8.

Enrolment ``all``: a speaker's statistics from all of their test clips (the scored clip among them, as
``classify --same-speaker`` does). Enrolment ``k``: ``k`` random clips of each speaker give the statistics and
are not scored (``draws`` draws, averaged); every row of one setting is scored on the same clips.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np


def _speaker_groups(clips) -> dict:
    """``{speaker|corpus: row indices}`` of ``clips``."""
    keys = np.array([f"{c.speaker}|{c.corpus}" for c in clips], dtype=object)
    return {k: np.flatnonzero(keys == k) for k in np.unique(keys)}


def _accuracy_by_corpus(correct: np.ndarray, corpus: np.ndarray) -> dict:
    out = {c: float(np.mean(correct[corpus == c])) for c in sorted(set(corpus))}
    out["all"] = float(np.mean(correct))
    return out


def _plans(groups: dict, ks: Sequence[Optional[int]], draws: int, rng: np.random.Generator) -> dict:
    """``{name: [(scored rows, {speaker: enrolment rows})]}``; ``None`` in ``ks``: all clips enrol, all are scored."""
    plans = {}
    for k in ks:
        if k is None:
            plans["all"] = [(None, None)]
            continue
        plans[str(k)] = []
        for _ in range(draws):
            enrol = {g: rng.permutation(r)[:k] for g, r in groups.items() if len(r) > k}
            scored = np.concatenate([np.setdiff1d(groups[g], e) for g, e in enrol.items()])
            plans[str(k)].append((np.sort(scored), enrol))
    return plans


def _score_plan(plan: list, x: np.ndarray, y: np.ndarray, corpus: np.ndarray, groups: dict, base_scores: np.ndarray,
                comp, columns: int, weight: float) -> dict:
    """Per-corpus accuracy of ``default``, ``companion`` and ``pair``, averaged over the draws of one plan."""
    from edge_runtime.speaker_norm import column_stats

    acc = {"default": [], "companion": [], "pair": []}
    for scored, enrol in plan:
        scored = np.arange(len(x)) if scored is None else scored
        comp_scores = np.empty_like(base_scores)
        for g, r in groups.items():
            source = r if enrol is None else enrol.get(g)
            if source is None:
                continue
            stats = column_stats(x[source], columns)
            comp_scores[r] = np.stack([comp.scores(x[i], speaker=stats) for i in r])
        pair = (1 - weight) * base_scores + weight * comp_scores
        for key, scores in (("default", base_scores), ("companion", comp_scores), ("pair", pair)):
            acc[key].append(_accuracy_by_corpus(scores[scored].argmax(1) == y[scored], corpus[scored]))
    return {key: {c: float(np.mean([a[c] for a in runs])) for c in runs[0]} for key, runs in acc.items()}


def _pair(base_dir: Path, companion_dir: Path, variant: str):
    """The two classifiers of one variant and the companion's ``speaker_norm`` block."""
    from edge_runtime import EmotionClassifier

    base = EmotionClassifier(Path(base_dir) / f"model_{variant}.tflite", check_speech=False)
    comp = EmotionClassifier(Path(companion_dir) / f"model_{variant}.tflite", check_speech=False)
    return base, comp, comp.card.speaker_norm


def evaluate(test_run: Path, base_dir: Path, companion_dir: Path, sources, ks: Sequence[Optional[int]] = (None, 10),
             draws: int = 3, limit: Optional[int] = None, seed: int = 0, companion_run: Optional[Path] = None,
             variants: Sequence[str] = ("float32", "int8")) -> dict:
    """Per-corpus accuracy of ``default``, ``companion`` and ``pair`` for each enrolment (``None``: all clips) and
    of ``variants``, on the test clips of ``test_run`` (``limit``: every k-th of them, for a smoke);
    ``companion_run`` is named in the report."""
    from train.dataset import ref_features

    from .accuracy import test_files

    rows = {}
    pairs = {variant: _pair(base_dir, companion_dir, variant) for variant in variants}
    _, first, block = pairs[variants[0]]
    feats = ref_features(test_files(test_run, limit), sources, first.config)
    x, y, corpus = feats.x, feats.y, feats.corpus
    groups = _speaker_groups([j.clip for j in feats.jobs])
    plans = _plans(groups, ks, draws, np.random.default_rng(seed))
    for variant, (base, comp, _) in pairs.items():
        base_scores = np.stack([base.scores(xi) for xi in x])
        for name, plan in plans.items():
            rows[f"{variant}, enrolment {name}"] = _score_plan(plan, x, y, corpus, groups, base_scores, comp,
                                                               block["columns"], block["weight"])
        population = np.stack([comp.scores(xi) for xi in x])
        rows[f"{variant}, no enrolment"] = {"companion": _accuracy_by_corpus(population.argmax(1) == y, corpus)}
    return {"run": str(test_run), "companion_run": str(companion_run or companion_dir), "n_test": int(len(y)),
            "weight": block["weight"], "enrol_windows": block["enrol_windows"], "draws": draws, "rows": rows}


def under_conditions(test_run: Path, base_dir: Path, companion_dir: Path, sources, k: Optional[int] = 10,
                     draws: int = 3, limit: Optional[int] = None, seed: int = 0) -> dict:
    """The int8 pair under each simulated microphone and room of :mod:`benchmarks.robustness`, the speaker heard
    through the same condition (``k`` held-apart clips; ``None``: all of them): ``{condition: {model: acc}}``."""
    from edge_runtime.audio import load_audio

    from .accuracy import test_clips
    from .robustness import CONDITIONS

    base, comp, block = _pair(base_dir, companion_dir, "int8")
    clips = test_clips(test_run, sources, limit)
    corpus = np.array([c.corpus for c in clips], dtype=object)
    groups = _speaker_groups(clips)
    plan = _plans(groups, [k], draws, np.random.default_rng(seed))["all" if k is None else str(k)]
    sr, y = comp.config.sample_rate, np.array([c.emotion for c in clips])
    audio = [load_audio(c.path, sr) for c in clips]
    out = {}
    for name, (what, transform) in CONDITIONS.items():
        rng = np.random.default_rng(seed)
        x = np.stack([comp.features(transform(a, sr, rng), sr) for a in audio])
        base_scores = np.stack([base.scores(xi) for xi in x])
        r = _score_plan(plan, x, y, corpus, groups, base_scores, comp, block["columns"], block["weight"])
        out[name] = {"imitates": what, **{m: acc["all"] for m, acc in r.items()}}
    return {"enrolment": "all" if k is None else k, "n_clips": len(clips), "rows": out}
