"""Argument checks with Keras-style messages: ``The `x` argument ... Received: x=...``.

Shared by the zoo builders, custom layers and option parsers; TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Iterable

from kerascnn.core.errors import UsageError


def check_choice(arg: str, value, allowed: Iterable) -> None:
    """Raise ``ValueError`` naming ``arg`` and the allowed values unless ``value`` is one."""
    allowed = list(allowed)
    if value not in allowed:
        raise UsageError(
            f"The `{arg}` argument should be one of {', '.join(map(repr, allowed))}. "
            f"Received: {arg}={value!r}"
        )


def check_positive(arg: str, value, kind: type = int) -> None:
    """Raise ``ValueError`` unless ``value`` is a positive number of type ``kind``."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if kind is int:
        ok = ok and float(value).is_integer()
    if not ok:
        raise UsageError(f"The `{arg}` argument must be a positive {kind.__name__}. Received: {arg}={value!r}")


def check_rate(arg: str, value) -> None:
    """Raise ``ValueError`` unless ``value`` is a drop probability in ``[0, 1)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise UsageError(f"The `{arg}` argument must be a float in [0, 1). Received: {arg}={value!r}")
