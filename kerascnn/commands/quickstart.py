"""``kerascnn quickstart [--out DIR]``: train, export, verify, benchmark and predict in one go."""

from __future__ import annotations

import argparse
import sys

from kerascnn.core.options import non_negative_int, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default="exports/quickstart",
        help="output folder (default: exports/quickstart); an existing non-empty one needs --force",
    )
    parser.add_argument("--force", action="store_true", help="replace a previous quickstart in --out")
    parser.add_argument("--epochs", type=positive_int, default=None, help="training epochs (default: 20)")
    parser.add_argument("--seed", type=non_negative_int, default=42, help="random seed (default: 42)")


def run(args: argparse.Namespace) -> int:
    from kerascnn import quickstart

    result = quickstart.run(
        args.out,
        force=args.force,
        epochs=args.epochs or quickstart.EPOCHS,
        seed=args.seed,
        progress=lambda message: print(message, file=sys.stderr, flush=True),
    )
    print(result.table)
    return 0
