"""``python -m train``: train the emotion model from a named recipe (train/recipes) on the shared corpora or your
own recordings."""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.cli import HelpFormatter


def parser() -> argparse.ArgumentParser:
    """The command-line interface: a recipe, the data, the protocol, and how to run."""
    from .recipe import recipe_names

    p = argparse.ArgumentParser(prog="python -m train", description=__doc__, formatter_class=HelpFormatter,
                                epilog="examples: python -m train --recipe default --protocol all --out runs/default; "
                                       "python -m train --fold 1 --members 1 --set train.epoch_size=16000")
    p.add_argument("--recipe", default="default", metavar="NAME",
                   help=f"the recipe: every hyper-parameter of a shipped model ({', '.join(recipe_names())}; "
                        f"train/recipes/NAME.json) or a recipe file's path")
    p.add_argument("--set", action="append", default=None, metavar="FIELD=VALUE", dest="changes",
                   help="change one recipe field for this run, repeatable: e.g. train.epoch_size=16000, "
                        "model.gru_units=64, corpora=ravdess,crema-d (recorded in the run folder and model card)")
    p.add_argument("--data", action="append", default=None, metavar="KIND=PATH",
                   help="a corpus to read, repeatable: ravdess=PATH (Actor_XX/*.wav|flac, speech and song), "
                        "ravdess-song=PATH, crema-d=PATH (1001_DFA_ANG_XX.wav|opus), folder=PATH or NAME=PATH "
                        "(PATH/<emotion>/<speaker>_*.wav|flac|ogg|opus|mp3); default: the recipe's corpora "
                        "in ../shared/data ($RAVDESS_DIR overrides the RAVDESS folder)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<protocol>-<time>)")
    p.add_argument("--protocol", choices=("speaker", "corpus", "random", "all"), default="speaker",
                   help="speaker: whole speakers of every corpus held out; corpus: leave --test-corpus out; "
                        "random: stratified 80/20 over clips; all: train on everything (no test, the shipped models)")
    p.add_argument("--fold", type=int, default=0, help="speaker protocol: which speakers are held out (0, 1, 2, ...; "
                                                      "train.splits.fold_speakers)")
    p.add_argument("--test-corpus", default=None, metavar="NAME",
                   help="corpus protocol: the corpus left out (ravdess, crema-d, ased, ... or a folder's name)")
    p.add_argument("--members", type=int, default=None, metavar="N",
                   help="ensemble members (seeds seed, seed+1000, ...; default: the recipe's); with --resume, add "
                        "members to a finished ensemble")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the recipe's)")
    p.add_argument("--seed", type=int, default=None, help="seed of the first member (default: the recipe's)")
    p.add_argument("--max-clips", type=int, default=None, help="a stratified subset of about N clips (smoke runs)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint (its recipe is read from it; "
                        "--members may add members)")
    p.add_argument("--evaluate", type=Path, default=None, metavar="RUN_DIR",
                   help="score a finished run's test part again with its model and rewrite its reports")
    p.add_argument("--workers", type=int, default=None, help="feature-extraction processes (default: all cores)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache (default cache/features)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    return p


def run_recipe(args: argparse.Namespace):
    """The recipe of a new run: the named file with ``--set``, ``--epochs``, ``--seed`` and ``--members``."""
    from .recipe import Recipe

    shortcuts = [f"train.{k}={v}" for k, v in (("epochs", args.epochs), ("seed", args.seed),
                                                ("members", args.members)) if v is not None]
    return Recipe.load(args.recipe).with_settings([*(args.changes or ()), *shortcuts])


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.simplefilter("default")
    # Keras saving weights under numpy 2 (TensorFlow tensors' __array__): harmless, and meaningless to a user
    warnings.filterwarnings("ignore", message="__array__ implementation doesn't accept a copy keyword")
    warnings.showwarning = lambda message, *args, **kwargs: print(f"warning: {message}", file=sys.stderr)
    from .audio import AudioReadError
    from .clips import DatasetError
    from .corpora import Source
    from .hparams import ConfigError, TrainConfig
    from .trainer import train_run

    out = args.resume or args.out or Path("runs") / f"{args.protocol}-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        sources = [Source.parse(d) for d in args.data] if args.data else None
        if args.evaluate:
            from .report import corpus_table
            from .trainer import evaluate_run
            print(corpus_table(evaluate_run(args.evaluate, sources, args.cache_dir)["per_corpus"]))
            return 0
        if args.resume:
            if args.changes or args.epochs is not None or args.seed is not None:
                raise ConfigError("a resumed run keeps its recipe; only --members may grow it")
            result = train_run(out, resume=True, members=args.members, workers=args.workers,
                               cache_root=args.cache_dir, verbose=0 if args.quiet else 2)
        else:
            recipe = run_recipe(args)
            protocol = TrainConfig(protocol=args.protocol, fold=args.fold, test_corpus=args.test_corpus,
                                   max_clips=args.max_clips)
            result = train_run(out, sources, train_config=protocol, recipe=recipe, workers=args.workers,
                               cache_root=args.cache_dir, verbose=0 if args.quiet else 2)
    except (DatasetError, AudioReadError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; features are cached and the last epoch is saved: "
              f"python -m train --resume {out}", file=sys.stderr)
        return 130
    print(summary(result))
    return 0


def summary(result) -> str:
    """What a finished run prints: test figures overall and per corpus, epochs, time."""
    lines = [f"run folder      {result.run_dir}"]
    if result.extra.get("n_test"):
        f1 = "  ".join(f"{k} {v:.2f}" for k, v in result.per_class_f1.items())
        lines += [f"test accuracy   {result.test_accuracy:.4f}   macro F1 {result.macro_f1:.4f}",
                  f"per-class F1    {f1}"]
        for name, r in result.extra.get("per_corpus", {}).items():
            lines.append(f"  {name:<13} {r['n']:>5} clips  accuracy {r['accuracy']:.3f}  UAR {r['uar']:.3f}  "
                         f"(chance {r['chance']:.3f})")
    else:
        lines.append("test            none (protocol all: every clip trained)")
    lines.append(f"epochs          {result.epochs_run}, kept {result.extra['kept']}   "
                 f"time {result.seconds / 60:.1f} min")
    for k, m in enumerate(result.extra.get("members", []), start=1):
        acc = f"test accuracy {m['test_accuracy']:.4f}, " if "test_accuracy" in m else ""
        lines.append(f"member {k}        seed {m['seed']}: {acc}epochs "
                     f"{m['epochs_run']}, kept {m['kept']}")
    return "\n".join(lines)
