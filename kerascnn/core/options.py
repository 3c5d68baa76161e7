"""Parsers for command-line values, shared by every sub-command.

Each returns the parsed value or raises ``argparse.ArgumentTypeError`` with a
message argparse turns into a one-line error (exit status 2).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable


def _number(text: str, convert, accept, expected: str):
    """``convert(text)`` if it parses and ``accept`` holds, else argparse's one-line error."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not accept(value) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer > 0 (epochs, batch size, classes, runs ...)."""
    return _number(text, int, lambda v: v > 0, "a positive integer")


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds, patience ...)."""
    return _number(text, int, lambda v: v >= 0, "a non-negative integer")


def positive_float(text: str) -> float:
    """A finite float > 0 (learning rates, width multipliers ...)."""
    return _number(text, float, lambda v: v > 0, "a positive number")


def non_negative_float(text: str) -> float:
    """A finite float >= 0 (weight decay, dropout rate ...)."""
    return _number(text, float, lambda v: v >= 0, "a non-negative number")


def shape(text: str) -> tuple[int, ...]:
    """``"224,224,3"`` (or ``224x224x3``) -> ``(224, 224, 3)``; every entry a positive int."""
    parts = re.split(r"[,x]", text.strip())
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape like 224,224,3, got {text!r}") from None
    if any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"expected a shape like 224,224,3, got {text!r}")
    return dims


def comma_list(item: Callable[[str], object] = str, allowed: Iterable[str] | None = None):
    """Build a parser for ``"a,b,c"`` lists, each item parsed by ``item``.

    With ``allowed``, every item must be one of those strings.
    """
    allowed = list(allowed) if allowed is not None else None

    def parse(text: str) -> list:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        if allowed is not None:
            bad = [p for p in parts if p not in allowed]
            if bad:
                raise argparse.ArgumentTypeError(
                    f"unknown value {bad[0]!r}; choose from {', '.join(allowed)}"
                )
        return [item(p) for p in parts]

    return parse
