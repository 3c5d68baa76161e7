"""``kerascnn memory MODEL --batch-size B``: will training fit in memory? Answered before training.

    kerascnn memory c3d --input-shape 16,64,64,1 --classes 8 --batch-size 64
    kerascnn memory r3d_18 --batch-size 32 --memory-budget 8GiB
    kerascnn memory resnet50 --batch-size 256 --mixed-precision --json

Counts what the backward pass keeps per layer (:mod:`kerascnn.analysis.memory`),
plus weights, gradients and optimizer slots, and compares the total with the
budget (default: the memory this machine has available, from ``/proc/meminfo``).
A batch that does not fit is refused in one line naming the largest that does.
"""

from __future__ import annotations

import argparse
import json

from kerascnn.core import options
from kerascnn.core.errors import UsageError
from kerascnn.training.optimizers import OPTIMIZERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="MODEL", help="zoo model name (see `kerascnn models`)")
    parser.add_argument("--batch-size", type=options.positive_int, default=64, metavar="B",
                        help="training batch size (default 64)")
    parser.add_argument("--input-shape", type=options.shape, metavar="D,H,W,C",
                        help="input shape without the batch, e.g. 16,64,64,1 (default: the model's own)")
    parser.add_argument("--classes", type=options.positive_int, metavar="N", help="number of classes")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam",
                        help="optimizer, for its state per parameter (default adam)")
    parser.add_argument("--memory-budget", metavar="SIZE",
                        help="memory to fit in, e.g. 8GiB or 512MB (default: this machine's available memory)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="16-bit activations (mixed_float16/bfloat16); weights and slots stay float32")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def check(args: argparse.Namespace) -> None:
    """Unknown model names and unreadable budgets are answered before TensorFlow loads."""
    from kerascnn import models
    from kerascnn.analysis.memory import parse_bytes

    models.check_name(args.name)
    if args.memory_budget is not None:
        parse_bytes(args.memory_budget)


def run(args: argparse.Namespace) -> int:
    from kerascnn.analysis.memory import available_bytes, parse_bytes, plan
    from kerascnn.analysis.summary import format_bytes
    from kerascnn.commands.summary import build_kwargs
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn import models

    kwargs = build_kwargs(args.name, input_shape=args.input_shape, classes=args.classes)
    model = models.build(args.name, **kwargs)
    estimate = plan(model, args.batch_size, optimizer=args.optimizer, bytes_per_value=2 if args.mixed_precision else 4)
    if args.memory_budget is not None:
        budget, where = parse_bytes(args.memory_budget), "the --memory-budget"
    else:
        budget, where = available_bytes(), "this machine's available memory"
    largest = estimate.largest_batch(budget) if budget is not None else None
    if budget is not None and not estimate.fits(budget):
        advice = (f"the largest batch that fits is {largest}" if largest
                  else "not even one example fits: use a smaller input or model")
        raise UsageError(f"{args.name} at batch {args.batch_size} needs about {format_bytes(estimate.total_bytes)} "
                         f"to train, more than {where} ({format_bytes(budget)}); {advice}.")
    if args.json:
        print(json.dumps({**estimate.to_dict(), "model": args.name, "budget_bytes": budget,
                          "largest_batch": largest, "fits": True if budget is not None else None}, indent=2))
        return 0
    print(report(args.name, estimate, budget, where, largest, mixed=args.mixed_precision))
    return 0


def report(name: str, estimate, budget, where: str, largest, *, mixed: bool) -> str:
    """The few lines the command prints."""
    from kerascnn.analysis.memory import BYTES_PER_VALUE, SLOTS
    from kerascnn.analysis.summary import format_bytes, format_count

    slots = SLOTS[estimate.optimizer]
    weights = estimate.params * BYTES_PER_VALUE
    per_example = estimate.bytes_per_example
    ratio = estimate.total_bytes / estimate.naive_bytes if estimate.naive_bytes else float("nan")
    lines = [
        f"{name}: training at batch {estimate.batch_size} with {estimate.optimizer}"
        f"{', 16-bit activations' if mixed else ''}",
        f"  parameters    {estimate.params:,}: weights {format_bytes(weights)}, gradients "
        f"{format_bytes(estimate.trainable_params * BYTES_PER_VALUE)}, optimizer state {slots} x "
        f"{format_bytes(estimate.trainable_params * BYTES_PER_VALUE)}",
        f"  per example   forward table {format_count(estimate.forward_values)} values; backward keeps "
        f"{format_count(estimate.kept_values)} + gradient buffers {format_count(estimate.gradient_buffer_values)}"
        f" = {format_bytes(per_example)}",
        f"  training      about {format_bytes(estimate.total_bytes)} (a forward-table estimate says "
        f"{format_bytes(estimate.naive_bytes)}: {ratio:.2f}x less)",
    ]
    if budget is None:
        lines.append("  budget        unknown (no /proc/meminfo): pass --memory-budget")
    else:
        lines.append(f"  budget        {format_bytes(budget)} ({where}): fits; largest batch that fits: {largest:,}")
    return "\n".join(lines)
