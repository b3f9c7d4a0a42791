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


def _speaker_keys(jobs) -> np.ndarray:
    return np.array([f"{j.clip.speaker}|{j.clip.corpus}" for j in jobs], dtype=object)


def _accuracy_by_corpus(correct: np.ndarray, corpus: np.ndarray) -> dict:
    out = {c: float(np.mean(correct[corpus == c])) for c in sorted(set(corpus))}
    out["all"] = float(np.mean(correct))
    return out


def evaluate(test_run: Path, base_dir: Path, companion_dir: Path, sources, ks: Sequence[int] = (10,),
             draws: int = 3, limit: Optional[int] = None, seed: int = 0, companion_run: Optional[Path] = None,
             variants: Sequence[str] = ("float32", "int8")) -> dict:
    """Per-corpus accuracy of ``default``, ``companion`` and ``pair`` for each enrolment and of ``variants``, on the
    test clips of ``test_run`` (``limit``: every k-th of them, for a smoke); ``companion_run`` is named in the
    report."""
    from edge_runtime import EmotionClassifier
    from edge_runtime.speaker_norm import column_stats
    from train.dataset import ref_features

    from .accuracy import test_files

    base_card_dir, rows = Path(base_dir), {}
    first = EmotionClassifier(Path(companion_dir) / "model_int8.tflite", check_speech=False)
    block = first.card.speaker_norm
    columns, weight = block["columns"], block["weight"]
    feats = ref_features(test_files(test_run, limit), sources, first.config)
    x, y, corpus, keys = feats.x, feats.y, feats.corpus, _speaker_keys(feats.jobs)
    groups = {k: np.flatnonzero(keys == k) for k in np.unique(keys)}
    rng = np.random.default_rng(seed)
    plans = {"all": [(None, None)]}    # (scored rows, {speaker: enrolment rows}); None: every row, all clips
    for k in ks:
        plans[str(k)] = []
        for _ in range(draws):
            enrol = {g: rng.permutation(r)[:k] for g, r in groups.items() if len(r) > k}
            scored = np.concatenate([np.setdiff1d(groups[g], e) for g, e in enrol.items()])
            plans[str(k)].append((np.sort(scored), enrol))
    for variant in variants:
        base = EmotionClassifier(base_card_dir / f"model_{variant}.tflite", check_speech=False)
        comp = EmotionClassifier(Path(companion_dir) / f"model_{variant}.tflite", check_speech=False)
        base_scores = np.stack([base.scores(xi) for xi in x])
        population = np.stack([comp.scores(xi) for xi in x])
        for name, plan in plans.items():
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
            rows[f"{variant}, enrolment {name}"] = {
                key: {c: float(np.mean([a[c] for a in runs])) for c in runs[0]} for key, runs in acc.items()}
        rows[f"{variant}, no enrolment"] = {"companion": _accuracy_by_corpus(population.argmax(1) == y, corpus)}
    return {"run": str(test_run), "companion_run": str(companion_run or companion_dir), "n_test": int(len(y)), "weight": weight, "enrol_windows": block["enrol_windows"],
            "draws": draws, "rows": rows}
