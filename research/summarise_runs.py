"""Per-corpus held-out figures of finished run folders, side by side (what docs/experiments.md quotes).

    python research/summarise_runs.py runs/five-fold0 runs/five-loco-*

For each run: its protocol (and left-out corpus), members, and per corpus the clips, accuracy, accuracy within
the corpus's own classes, UAR and chance, from the run's ``report.json``; for ``corpus`` runs the left-out
corpus's row is marked, and a last line gives the mean over the runs of the left-out corpora's accuracy within
their classes (the leave-one-corpus-out mean).
"""
import json
import sys
from pathlib import Path


def main(run_dirs: list[str]) -> None:
    within = []
    print(f"{'run':<22} {'test':<22} {'corpus':<13} {'clips':>6} {'acc':>6} {'within':>7} {'UAR':>6} {'chance':>7}")
    for run in map(Path, run_dirs):
        if not (run / "report.json").exists():
            print(f"{run.name:<22} (no report.json: not finished)")
            continue
        train = json.loads((run / "run_config.json").read_text())["train"]
        left = train.get("test_corpus") if train["protocol"] == "corpus" else None
        test = f"{train['protocol']} {'fold ' + str(train['fold']) if not left else left + ' out'}"
        for corpus, r in json.loads((run / "report.json").read_text())["per_corpus"].items():
            mark = " *" if corpus == left else ""
            print(f"{run.name:<22} {test:<22} {corpus + mark:<13} {r['n']:>6} {r['accuracy']:>6.3f} "
                  f"{r.get('accuracy_within', r['accuracy']):>7.3f} {r['uar']:>6.3f} {r['chance']:>7.3f}")
            if corpus == left:
                within.append(r.get("accuracy_within", r["accuracy"]))
    if within:
        print(f"leave-one-corpus-out mean of accuracy within the left-out corpus's classes: "
              f"{sum(within) / len(within):.3f} over {len(within)} corpora")


if __name__ == "__main__":
    main(sys.argv[1:])
