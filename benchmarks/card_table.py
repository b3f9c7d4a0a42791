"""README's results table, made from the bundled model card (one source for the shipped model's figures).

``python -m benchmarks.card_table`` prints it; ``--write README.md`` replaces the table between the
``<!-- results:start -->`` and ``<!-- results:end -->`` markers; ``tests/test_docs.py`` fails when the
README's table is not the card's.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Optional, Sequence

from edge_runtime.model_card import CORPUS_NAMES

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "edge_runtime" / "models" / "model.json"
START, END = "<!-- results:start -->", "<!-- results:end -->"


def _name(corpus: str) -> str:
    return CORPUS_NAMES.get(corpus, corpus)


def _row(test: str, corpus: str, r: dict) -> str:
    within = r.get("accuracy_within", r["accuracy"])
    return (f"| {test} | {_name(corpus)} | {r['n']:,} | {r['accuracy']:.3f} | {within:.3f} | {r['uar']:.3f} "
            f"| {r['chance']:.3f} |")


def results_table(card: dict) -> str:
    """Markdown: every held-out figure of the card's ``evaluation`` (Keras, per corpus), speaker protocol
    first, then each left-out corpus (RAVDESS song leaves with RAVDESS speech)."""
    lines = ["| held out | corpus | clips | accuracy | within its classes | UAR | chance |",
             "|---|---|---|---|---|---|---|"]
    for key, block in card.get("evaluation", {}).items():
        members = f"{block['members']} member{'s' if block['members'] > 1 else ''}"
        left = key.split(": ", 1)[1].removesuffix(" left out") if key != "speaker" else None
        for c, r in block["per_corpus"].items():
            if c == "all":
                continue
            test = ("new speakers" if left is None else "whole corpus" if c == left
                    else f"whole corpus, left out with {_name(left)}")
            lines.append(_row(f"{test} ({members})", c, r))
    return "\n".join(lines)


def replace_table(text: str, table: str) -> str:
    """``text`` with the part between the markers replaced by ``table``."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"no {START} ... {END} markers")
    return pattern.sub(lambda _: f"{START}\n{table}\n{END}", text)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Print the table, or write it into a markdown file's markers."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.card_table", description=__doc__)
    p.add_argument("--card", type=Path, default=CARD, help="model card (default: the bundled one)")
    p.add_argument("--write", type=Path, default=None, metavar="MARKDOWN", help="file to update in place")
    args = p.parse_args(argv)
    table = results_table(json.loads(args.card.read_text()))
    if args.write:
        args.write.write_text(replace_table(args.write.read_text(), table))
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
