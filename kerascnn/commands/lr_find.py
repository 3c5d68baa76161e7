"""``kerascnn lr-find MODEL --dataset NAME --out PNG``: LR range test (Smith 2017).

Trains for up to ``--steps`` batches while the learning rate grows exponentially
from ``--min-lr`` to ``--max-lr``, plots the smoothed loss against the LR and
prints the suggested LR (where the loss falls fastest). Use it as ``--lr`` for
``kerascnn train`` with the same model, data and optimizer flags. The batches, the
model and the loss are the training run's, asked of the model's Task (an embedding
model: P x K batches, ``--rotations``, the CosFace / ArcFace head of ``--loss``).
"""

from __future__ import annotations

import argparse

from kerascnn.commands.train import (
    add_common_arguments,
    check_names,
    dataset_from_args,
    options_from_args,
    warn_about_augmentation,
)
from kerascnn.core.errors import UsageError
from kerascnn.core.options import positive_float, positive_int
from kerascnn.core.quiet import import_tensorflow_quietly


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from kerascnn.tasks.metric import add_metric_arguments

    add_common_arguments(parser)
    add_metric_arguments(parser)  # --loss, --tower, --rotations ... as for `kerascnn train` (embedding models)
    parser.add_argument("--out", default="lr_find.png", metavar="PNG", help="plot to write (default lr_find.png)")
    parser.add_argument("--min-lr", type=positive_float, default=1e-6, help="first learning rate (default 1e-6)")
    parser.add_argument("--max-lr", type=positive_float, default=10.0, help="last learning rate (default 10)")
    parser.add_argument("--steps", type=positive_int, default=100, help="batches, one per LR (default 100)")
    parser.add_argument("--method", choices=("steepest", "minimum"), default="steepest",
                        help="steepest descent of the loss (default) or the loss minimum / 10")


def run(args: argparse.Namespace) -> int:
    from kerascnn.training.config import TrainConfig

    if args.min_lr >= args.max_lr:
        raise UsageError(f"--min-lr must be below --max-lr. Received: {args.min_lr} and {args.max_lr}")
    if args.steps < 2:
        raise UsageError(f"--steps must be at least 2. Received: {args.steps}")
    dataset = dataset_from_args(args)
    options = options_from_args(args)
    TrainConfig.from_options(args.model, dataset, **options)  # every flag checked, no TensorFlow yet
    check_names(args.model, dataset, args.weights)
    warn_about_augmentation(args, dataset)
    import_tensorflow_quietly()
    from kerascnn.training import lr_find

    record = lr_find(args.model, dataset, out=args.out, min_lr=args.min_lr, max_lr=args.max_lr,
                     steps=args.steps, method=args.method, **options)
    stop = "diverged" if record["diverged"] else "reached --max-lr"
    lowest = f"loss lowest at {record['min_loss_lr']:.3g}; " if record["min_loss_lr"] else ""
    print(f"suggested learning rate: {record['suggestion']:.3g} ({lowest}{record['steps']} steps, {stop}) -> {args.out}")
    return 0
