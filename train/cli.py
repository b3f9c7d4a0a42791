"""``python -m train`` / ``ser-train``: train the emotion model on RAVDESS."""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.cli import HelpFormatter


def _actors(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(a) for a in text.split(",") if a.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated actor numbers, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument("--data", type=Path, default=None,
                   help="RAVDESS folder (Actor_XX/*.wav|flac); default $RAVDESS_DIR or ../shared/data/ravdess")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<protocol>-<time>)")
    p.add_argument("--protocol", choices=("random", "speaker"), default="random",
                   help="random: stratified 80/20 over clips; speaker: whole actors held out")
    p.add_argument("--test-actors", type=_actors, default=(21, 22), help="speaker protocol: test actors")
    p.add_argument("--val-actors", type=_actors, default=(19, 20),
                   help="speaker protocol: validation actors ('' = none: train every epoch, keep the last)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="random protocol: share of the training side kept for validation (0 = none, keep the last epoch)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=80, help="maximum epochs (the cosine learning-rate decay spans them)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=25, help="early-stopping patience in epochs")
    p.add_argument("--members", type=int, default=3, metavar="N",
                   help="train N models (seeds seed, seed+1000, ...) and ship the mean of their scores "
                        "(1 = one model; an ensemble of 3 is about 5 points better on unseen speakers)")
    p.add_argument("--no-augment", action="store_true", help="train on clean clips only (no 4x augmentation)")
    p.add_argument("--mel-masks", type=int, default=None, metavar="N",
                   help="SpecAugment mel-band masks per training example (0 = off; default: the SpecAugmentConfig "
                        "default)")
    p.add_argument("--mic-eq", type=float, default=None, metavar="P",
                   help="share of training examples heard through a random microphone: tilt, band limits, a "
                        "resonance (0 = off; default: the SpecAugmentConfig default)")
    p.add_argument("--reverb", type=float, default=None, metavar="P",
                   help="share of training examples put in a random room, RT60 0.2-0.9 s (0 = off; default: the "
                        "SpecAugmentConfig default)")
    p.add_argument("--speech-only", action="store_true", help="ignore song clips (03-02-*) if present")
    p.add_argument("--max-clips", type=int, default=None, help="use a stratified subset (smoke runs)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint (other options are read from it)")
    p.add_argument("--workers", type=int, default=None, help="feature-extraction processes (default: all cores)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache (default cache/features)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.simplefilter("default")
    from .audio import AudioReadError
    from .ravdess import DatasetError
    from .hparams import SpecAugmentConfig
    from .trainer import TrainConfig, train_run

    out = args.resume or args.out or Path("runs") / f"{args.protocol}-{time.strftime('%Y%m%d-%H%M%S')}"
    config = TrainConfig(protocol=args.protocol, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, patience=args.patience, test_actors=args.test_actors,
                         val_actors=args.val_actors, val_fraction=args.val_fraction, augment=not args.no_augment,
                         include_song=not args.speech_only, max_clips=args.max_clips,
                         members=args.members)
    chosen = {"mel_masks": args.mel_masks, "eq_prob": args.mic_eq, "reverb_prob": args.reverb}
    try:
        spec = SpecAugmentConfig(**{k: v for k, v in chosen.items() if v is not None})
        result = train_run(out, args.data, train_config=config, spec_config=spec, resume=args.resume is not None,
                           workers=args.workers, cache_root=args.cache_dir, verbose=0 if args.quiet else 2)
    except (DatasetError, AudioReadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; features are cached and the last epoch is saved: "
              f"python -m train --resume {out}", file=sys.stderr)
        return 130
    f1 = "  ".join(f"{k} {v:.2f}" for k, v in result.per_class_f1.items())
    print(f"run folder      {result.run_dir}\n"
          f"test accuracy   {result.test_accuracy:.4f}   macro F1 {result.macro_f1:.4f}\n"
          f"per-class F1    {f1}\n"
          f"epochs          {result.epochs_run} (best {result.best_epoch})   time {result.seconds / 60:.1f} min")
    for k, m in enumerate(result.extra.get("members", []), start=1):
        print(f"member {k}        seed {m['seed']}: test accuracy {m['test_accuracy']:.4f}, "
              f"epochs {m['epochs_run']} (best {m['best_epoch']})")
    return 0
