"""``kerascnn memory MODEL --batch-size B``: will training fit in memory? Answered before training.

    kerascnn memory c3d --input-shape 16,64,64,1 --classes 8 --batch-size 64
    kerascnn memory r3d_18 --batch-size 32 --memory-budget 8GiB
    kerascnn memory resnet50 --batch-size 256 --mixed-precision --json
    kerascnn summary c3d --input-shape 16,64,64,1 --batch-size 64 --memory-budget 8GiB   # the same plan under the table

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
    add_plan_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """``--optimizer``, ``--memory-budget``, ``--mixed-precision``: what the plan needs besides model and batch."""
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="adam",
                        help="optimizer, for its state per parameter (default adam)")
    parser.add_argument("--memory-budget", metavar="SIZE",
                        help="memory to fit in, e.g. 8GiB or 512MB (default: this machine's available memory)")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="16-bit activations (mixed_float16/bfloat16); weights and slots stay float32")


def check(args: argparse.Namespace) -> None:
    """Unknown model names and unreadable budgets are answered before TensorFlow loads."""
    from kerascnn import models
    from kerascnn.analysis.memory import parse_bytes

    models.check_name(args.name)
    if args.memory_budget is not None:
        parse_bytes(args.memory_budget)


def plan_for(args: argparse.Namespace, model, batch_size: int, *, refuse: bool = True) -> dict:
    """The plan of ``model`` at ``batch_size`` under ``args``' optimizer, precision and budget.

    Returns ``{"plan", "budget", "largest_batch"}``. ``refuse``: a batch over the budget is the
    one-line ``UsageError`` (else ``largest_batch`` says it does not fit).
    """
    from kerascnn.analysis.memory import budget, check_fits, plan

    estimate = plan(model, batch_size, optimizer=args.optimizer, bytes_per_value=2 if args.mixed_precision else 4)
    limit = budget(args.memory_budget)
    try:
        largest = check_fits(args.name, estimate, limit)
    except UsageError:
        if refuse:
            raise
        largest = estimate.largest_batch(limit.bytes)
    return {"plan": estimate, "budget": limit, "largest_batch": largest}


def plan_json(planned: dict) -> dict:
    """The JSON object of a :func:`plan_for` result."""
    estimate, limit, largest = planned["plan"], planned["budget"], planned["largest_batch"]
    fits = None if limit.bytes is None else estimate.fits(limit.bytes)
    return {**estimate.to_dict(), "budget_bytes": limit.bytes, "largest_batch": largest, "fits": fits}


def run(args: argparse.Namespace) -> int:
    from kerascnn.analysis.summary import shapes_only
    from kerascnn.commands.summary import build_kwargs
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn import models

    kwargs = build_kwargs(args.name, input_shape=args.input_shape, classes=args.classes)
    with shapes_only():  # the plan needs shapes, not weights
        planned = plan_for(args, models.build(args.name, **kwargs), args.batch_size)
    if args.json:
        print(json.dumps({**plan_json(planned), "model": args.name}, indent=2))
        return 0
    print(report(args.name, planned, mixed=args.mixed_precision))
    return 0


def report(name: str, planned: dict, *, mixed: bool) -> str:
    """The few lines the command prints (``kerascnn summary`` prints them under its table)."""
    from kerascnn.analysis.memory import BYTES_PER_VALUE, SLOTS
    from kerascnn.analysis.summary import format_bytes, format_count

    estimate, limit, largest = planned["plan"], planned["budget"], planned["largest_batch"]
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
    if limit.bytes is None:
        lines.append("  budget        unknown (no /proc/meminfo): pass --memory-budget")
    else:
        verdict = "fits" if estimate.fits(limit.bytes) else "does NOT fit"
        lines.append(f"  budget        {format_bytes(limit.bytes)} ({limit.where}): {verdict}; "
                     f"largest batch that fits: {largest:,}")
    return "\n".join(lines)
