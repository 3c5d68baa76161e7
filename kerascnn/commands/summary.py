"""``kerascnn summary NAME``: the lecture's per-layer table for a zoo model.

    kerascnn summary vgg16
    kerascnn summary mobilenet_v1 --alpha 0.5 --input-shape 128,128,3
    kerascnn summary resnet18 --batch-size 32 --json
    kerascnn summary c3d --input-shape 16,64,64,1 --classes 8 --batch-size 64 --memory-budget 8GiB

Under the table: the training-memory plan at ``--batch-size`` (:mod:`kerascnn.analysis.memory`,
the ``kerascnn memory`` command's report); a batch over a given ``--memory-budget`` is refused
in one line naming the largest batch that fits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from kerascnn.core import options

# Activation totals quoted in lectures for a default zoo model, which the computed
# table checks: model name -> (the claimed number of values, the claim as quoted).
QUOTED_ACTIVATIONS = {
    "vgg16": (24_000_000, '"24M values ~ 96 MB / image" (CS231n, lecture 9)'),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="model name (see `kerascnn models`)")
    parser.add_argument(
        "--input-shape", type=options.shape, metavar="H,W,C", help="input shape (default: the model's own)"
    )
    parser.add_argument("--classes", type=options.positive_int, metavar="N", help="number of classes")
    parser.add_argument(
        "--alpha", type=options.positive_float, metavar="A", help="width multiplier (MobileNets only)"
    )
    parser.add_argument(
        "--batch-size",
        type=options.positive_int,
        default=1,
        metavar="B",
        help="batch size for the activation memory and the training-memory plan (default: 1)",
    )
    from kerascnn.commands.memory import add_plan_arguments

    add_plan_arguments(parser)  # --optimizer, --memory-budget, --mixed-precision
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def build_kwargs(name: str, **given) -> dict:
    """Keyword arguments for ``models.build(name)`` from the options the user gave.

    Raises ``UsageError`` naming the option and the models that take it when
    ``name``'s builder does not (``--alpha`` on VGG-16).
    """
    from kerascnn import models
    from kerascnn.core.errors import UsageError

    spec = models.get_spec(name)
    kwargs = {k: v for k, v in given.items() if v is not None}
    for key in kwargs:
        if key not in spec.options():
            takers = [n for n in models.names() if key in models.get_spec(n).options()]
            listed = ", ".join(takers[:6]) + (", ..." if len(takers) > 6 else "") if takers else "none"
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{name} does not take {flag}; models that do: {listed}.")
    return kwargs


def quoted_note(name: str, summary) -> str | None:
    """A note when a lecture's quoted figure for the default ``name`` differs from the computed sum."""
    if name not in QUOTED_ACTIVATIONS:
        return None
    claimed, quote = QUOTED_ACTIVATIONS[name]
    if claimed == summary.activations:
        return None
    from kerascnn.analysis.summary import format_bytes, format_count

    per_image = summary.activation_bytes // summary.batch_size
    verb = "overstates" if claimed > summary.activations else "understates"
    return (
        f"the often-quoted {quote} {verb} it: the layer-by-layer sum is "
        f"{summary.activations:,} values ({format_count(summary.activations)}), "
        f"{format_bytes(per_image)} per image."
    )


def check(args: argparse.Namespace) -> None:
    """Unknown model names and unreadable budgets are answered before TensorFlow loads."""
    from kerascnn.commands import memory

    memory.check(args)


def run(args: argparse.Namespace) -> int:
    from kerascnn import models
    from kerascnn.analysis.summary import shapes_only, summarize
    from kerascnn.commands.memory import plan_for, plan_json, report

    kwargs = build_kwargs(args.name, input_shape=args.input_shape, classes=args.classes, alpha=args.alpha)
    with shapes_only():
        model = models.build(args.name, **kwargs)
        table = summarize(model, batch_size=args.batch_size)
        planned = plan_for(args, model, args.batch_size, refuse=args.memory_budget is not None)
    note = None if kwargs else quoted_note(args.name, table)  # the quote is about the default model
    if note:
        table = dataclasses.replace(table, notes=(*table.notes, note))
    if args.json:
        print(json.dumps({**table.to_dict(), "name": args.name, "model_name": table.name,
                          "memory": plan_json(planned)}, indent=2))
    else:
        print(table.format_table())
        print()
        print(report(args.name, planned, mixed=args.mixed_precision))
    return 0
