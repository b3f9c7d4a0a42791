"""``python -m convert RUN_DIR --out DIR``: Keras run folder -> TFLite files and their model card."""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import zipfile
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.cli import HelpFormatter
from edge_runtime.outputs import output_problem


def parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="python -m convert", description=__doc__,
                                formatter_class=HelpFormatter)
    p.add_argument("run_dir", type=Path, help="a run folder written by `python -m train`")
    p.add_argument("--out", type=Path, default=None, help="output folder (default RUN_DIR/tflite)")
    p.add_argument("--variants", default="float32,int8",
                   help="comma-separated: float32, int8, and optionally float16, dynamic")
    p.add_argument("--representative", type=int, default=None, metavar="N",
                   help="calibrate int8 on N clean training clips (default: all of them; fewer cost accuracy, "
                        "see docs/experiments.md)")
    p.add_argument("--evaluation", type=Path, nargs="*", default=(), metavar="RUN_DIR",
                   help="runs of the same recipe (speaker, corpus protocols) whose held-out figures go into the card")
    p.add_argument("--data", action="append", default=None, metavar="KIND=PATH",
                   help="corpus folders if they moved since training, as for python -m train (repeatable)")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not (args.run_dir / "model.keras").is_file():
        print(f"error: no trained model in {args.run_dir} (expected model.keras)", file=sys.stderr)
        return 2
    if importlib.util.find_spec("tensorflow") is None:
        print("error: converting needs TensorFlow, which the device install leaves out: "
              "pip install -e '.[train]'", file=sys.stderr)
        return 2
    if not zipfile.is_zipfile(args.run_dir / "model.keras"):   # checked before TensorFlow starts talking
        print(f"error: {args.run_dir / 'model.keras'} is not a Keras model archive (truncated or corrupt); "
              f"train the run again or restore the file", file=sys.stderr)
        return 2
    out = args.out or args.run_dir / "tflite"
    why = output_problem(out, folder=True)
    if why:
        print(f"error: --out {out}: cannot write there: {why}", file=sys.stderr)
        return 2
    from .converter import convert_run
    from .tflite import ConversionError

    try:
        convert_run(args.run_dir, out, args.variants.split(","),
                    args.representative, data=args.data,
                    evaluation_runs=args.evaluation)
    except (ConversionError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
