"""``python -m train``: train the emotion model on RAVDESS speech and song, CREMA-D and your own
recordings."""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.cli import HelpFormatter
from edge_runtime.config import FeatureConfig

from .hparams import RECIPES, UTTERANCE_NORMS


def _recipes(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in RECIPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated recipes from {', '.join(RECIPES)}, got {text!r}")
    return names


def _variants(text: str) -> tuple[str, ...]:
    from .augment import MORE_VARIANTS, VARIANTS
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    known = VARIANTS + MORE_VARIANTS
    if not names or any(n not in known for n in names) or len(set(names)) < len(names):
        raise argparse.ArgumentTypeError(f"expected distinct comma-separated variants from {', '.join(known)}, "
                                         f"got {text!r}")
    return names


def _speakers(text: str) -> tuple[str, ...]:
    from .splits import speaker_ids
    try:
        return speaker_ids(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated speakers like ravdess/21,crema-d/1004 "
                                         f"(a bare number is a RAVDESS actor), got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m train", description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument("--data", action="append", default=None, metavar="KIND=PATH",
                   help="a corpus to read, repeatable: ravdess=PATH (Actor_XX/*.wav|flac, speech and song), "
                        "ravdess-song=PATH, crema-d=PATH (1001_DFA_ANG_XX.wav|opus), folder=PATH "
                        "(PATH/<emotion>/*.wav|flac|ogg|opus|mp3); default: every folder of ../shared/data "
                        "that exists ($RAVDESS_DIR overrides the RAVDESS one)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<protocol>-<time>)")
    p.add_argument("--protocol", choices=("speaker", "corpus", "random", "all"), default="speaker",
                   help="speaker: whole speakers of every corpus held out; corpus: leave --test-corpus out; "
                        "random: stratified 80/20 over clips; all: train on everything (no test, no early stop)")
    p.add_argument("--test-speakers", type=_speakers, default=None, metavar="LIST",
                   help="speaker protocol: test speakers, e.g. ravdess/21,crema-d/1004 (default: see train.splits)")
    p.add_argument("--val-speakers", type=_speakers, default=None, metavar="LIST",
                   help="validation speakers ('' = none: train every epoch, keep the last)")
    p.add_argument("--fold", type=int, default=0, help="speaker protocol: hold out another set of speakers (0 = "
                                                      "the default lists)")
    p.add_argument("--test-corpus", default=None, metavar="NAME",
                   help="corpus protocol: the corpus left out (ravdess, ravdess-song, crema-d or a folder's name)")
    p.add_argument("--val-fraction", type=float, default=0.1,
                   help="random protocol: share of the training side kept for validation (0 = none, keep the last epoch)")
    p.add_argument("--no-balance", action="store_true",
                   help="draw training examples uniformly instead of balancing corpora and classes")
    p.add_argument("--corpus-power", type=float, default=0.5, metavar="A",
                   help="a corpus's share of the draws grows as (its examples)**A: 0 = corpora equal, 1 = by size")
    p.add_argument("--epoch-size", type=int, default=8000, metavar="N",
                   help="training examples drawn per epoch, at most as many as there are (0 = all of them)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--epochs", type=int, default=40, help="maximum epochs (the cosine learning-rate decay spans them)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--average-last", type=int, default=10, metavar="N",
                   help="keep the mean of the weights of the last N epochs (0 = keep the best validation epoch, "
                        "with early stopping)")
    p.add_argument("--patience", type=int, default=None,
                   help="early-stopping patience in epochs (default 12; only with --average-last 0)")
    p.add_argument("--members", type=int, default=None, metavar="N",
                   help="train N models (seeds seed, seed+1000, ...) and ship the mean of their scores "
                        "(default 5; 1 = one model; docs/training.md compares them); with --resume, add members "
                        "to a finished ensemble")
    p.add_argument("--recipes", type=_recipes, default=None, metavar="LIST",
                   help=f"comma-separated member recipes, used in turn ({', '.join(RECIPES)}; e.g. "
                        f"default,deep,mixup): members that differ in more than their seed (default: all default)")
    p.add_argument("--no-augment", action="store_true", help="train on clean clips only (no 4x augmentation)")
    p.add_argument("--variants", type=_variants, default=None, metavar="LIST",
                   help="the copies of each training clip, comma-separated (default clean,stretch,pitch,noise; "
                        "also speed: played 4-12 %% faster or slower, mix: stretch + pitch + noise at once)")
    p.add_argument("--mel-masks", type=int, default=None, metavar="N",
                   help="SpecAugment mel-band masks per training example (0 = off; default: the SpecAugmentConfig "
                        "default)")
    p.add_argument("--mic-eq", type=float, default=None, metavar="P",
                   help="share of training examples heard through a random microphone: tilt, band limits, a "
                        "resonance (0 = off; default: the SpecAugmentConfig default)")
    p.add_argument("--reverb", type=float, default=None, metavar="P",
                   help="share of training examples put in a random room, RT60 0.2-0.9 s (0 = off; default: the "
                        "SpecAugmentConfig default)")
    p.add_argument("--speakers", type=float, default=None, metavar="P",
                   help="share of training examples heard from a random speaker: formants warped by up to "
                        "+-10 %%, the pitch column moved with them (0 = off; default: the SpecAugmentConfig default)")
    p.add_argument("--utterance-norm", choices=UTTERANCE_NORMS, default=None,
                   help="remove each clip's mean over time from its MFCCs inside the model (cepstral mean "
                        "normalisation): 'subtract' feeds only the centred frames, 'contrast' both (default: the "
                        "ModelConfig default)")
    p.add_argument("--prosody", action="store_true",
                   help="feed the model pitch and voicing contours beside the MFCCs (edge_runtime.prosody; the "
                        "device computes them too): 43 input columns instead of 40")
    p.add_argument("--speaker-norm", action="store_true",
                   help="standardise each speaker's MFCC columns over that speaker's own clips, test speakers' "
                        "from their unlabelled test clips (train.speaker_norm): the runtime's speaker-adapted companion model")
    p.add_argument("--speech-only", action="store_true", help="ignore song clips (03-02-*) if present")
    p.add_argument("--max-clips", type=int, default=None, help="use a stratified subset (smoke runs)")
    p.add_argument("--evaluate", type=Path, default=None, metavar="RUN_DIR",
                   help="score a finished run's test part again with its model and rewrite its reports")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue an interrupted run from its last checkpoint (other options are read from it, "
                        "except --members and --recipes, which may add members)")
    p.add_argument("--workers", type=int, default=None, help="feature-extraction processes (default: all cores)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache (default cache/features)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    return p


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
    from .hparams import ConfigError, ModelConfig, SpecAugmentConfig
    from .trainer import TrainConfig, train_run

    out = args.resume or args.out or Path("runs") / f"{args.protocol}-{time.strftime('%Y%m%d-%H%M%S')}"
    config = TrainConfig(protocol=args.protocol, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.learning_rate, test_speakers=args.test_speakers,
                         patience=TrainConfig.patience if args.patience is None else args.patience,
                         val_speakers=args.val_speakers, fold=args.fold, test_corpus=args.test_corpus,
                         val_fraction=args.val_fraction, augment=not args.no_augment,
                         include_song=not args.speech_only, max_clips=args.max_clips,
                         members=TrainConfig.members if args.members is None else args.members,
                         recipes=args.recipes or (),
                         balance=not args.no_balance, corpus_power=args.corpus_power,
                         epoch_size=args.epoch_size or None, average_last=args.average_last,
                         speaker_norm=args.speaker_norm,
                         **({"variants": args.variants} if args.variants else {}))
    if args.patience is not None and args.average_last and not args.resume:
        print(f"warning: --patience applies to --average-last 0 (best validation epoch); every one of the "
              f"{args.epochs} epochs is trained to keep the mean of the last {args.average_last}", file=sys.stderr)
    chosen = {"mel_masks": args.mel_masks, "eq_prob": args.mic_eq, "reverb_prob": args.reverb,
              "speaker_prob": args.speakers}
    try:
        sources = [Source.parse(d) for d in args.data] if args.data else None
        if args.evaluate:
            from .report import corpus_table
            from .trainer import evaluate_run
            print(corpus_table(evaluate_run(args.evaluate, sources, args.cache_dir)["per_corpus"]))
            return 0
        spec = SpecAugmentConfig(**{k: v for k, v in chosen.items() if v is not None})
        model = ModelConfig(**({} if args.utterance_norm is None else {"utterance_norm": args.utterance_norm}))
        result = train_run(out, sources, feature_config=FeatureConfig(prosody=args.prosody),
                           train_config=config, model_config=model, spec_config=spec,
                           resume=args.resume is not None,
                           **({"members": args.members, "recipes": args.recipes} if args.resume else {}),
                           workers=args.workers, cache_root=args.cache_dir, verbose=0 if args.quiet else 2)
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
        lines.append(f"member {k}        seed {m['seed']}, {m.get('recipe', 'default')}: {acc}epochs "
                     f"{m['epochs_run']}, kept {m['kept']}")
    return "\n".join(lines)
