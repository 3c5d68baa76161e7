"""``kerascnn schedule plot SPEC... | list``: draw learning-rate schedules, or list them.

    kerascnn schedule plot cosine:warmup=2 --lr 0.1 --epochs 30 --out cosine.png
    kerascnn schedule plot step exponential triangular2 --out compare.png
    kerascnn schedule list

``kerascnn schedule --help`` and ``schedule list`` print every schedule with its
parameters and defaults, generated from the table in
:mod:`kerascnn.training.schedules`.
"""

from __future__ import annotations

import argparse

from kerascnn.core.options import positive_float, positive_int
from kerascnn.core.quiet import import_tensorflow_quietly
from kerascnn.training import schedules

SPEC_HELP = (
    "a schedule name or spec NAME:KEY=VALUE,... (e.g. step:every=10,factor=0.1, cosine:warmup=2, "
    "cyclical:mode=triangular2,step_size=4); several specs are drawn on one plot. "
    "Durations are in epochs; `kerascnn schedule list` shows every schedule and its parameters"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = schedules.describe()
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    plot = actions.add_parser(
        "plot",
        help="draw one or more schedules into a PNG",
        description="Draw learning-rate schedules as the optimizer would see them, step by step.",
        epilog=schedules.describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plot.add_argument("specs", nargs="+", metavar="SPEC", help=SPEC_HELP)
    plot.add_argument("--lr", type=positive_float, default=0.1, help="initial (peak) learning rate (default: 0.1)")
    plot.add_argument("--epochs", type=positive_int, default=30, help="length of the run (default: 30)")
    plot.add_argument("--steps-per-epoch", type=positive_int, default=100,
                      help="optimizer steps (batches) per epoch (default: 100)")
    plot.add_argument("--out", default="schedule.png", help="PNG to write (default: schedule.png)")
    plot.add_argument("--log", action="store_true", help="log-scale learning-rate axis")
    actions.add_parser("list", help="list the schedules, their parameters and defaults",
                       description="List the schedules, their parameters and defaults.")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        print(schedules.describe())
        return 0

    parsed = {spec: schedules.parse(spec) for spec in args.specs}  # each spec parsed once, no TensorFlow
    for schedule in parsed.values():
        if schedule.is_callback:
            raise ValueError(
                f"Schedule {schedule.name!r} reacts to the validation loss during training, so it cannot be drawn "
                "ahead; see lr.png in a run directory instead."
            )
        schedule.check_run_length(args.epochs)
    import_tensorflow_quietly()
    from kerascnn.analysis import plots

    curves = {}
    for spec, schedule in parsed.items():
        learning_rate = schedule.build(initial_lr=args.lr, steps_per_epoch=args.steps_per_epoch, epochs=args.epochs)
        curves[spec] = schedules.values(learning_rate, args.epochs * args.steps_per_epoch)
    title = f"--lr {args.lr:g}, {args.epochs} epochs x {args.steps_per_epoch} steps"
    path = plots.plot_schedule(curves, args.out, steps_per_epoch=args.steps_per_epoch, log=args.log, title=title)
    for spec, lrs in curves.items():
        print(f"{parsed[spec].resolve(args.epochs)}: lr {lrs[0]:.3g} at step 0, max {lrs.max():.3g}, "
              f"{lrs[-1]:.3g} at the last step")
    print(f"wrote {path}")
    return 0
