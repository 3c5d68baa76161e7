"""Errors that the command line reports as one line (no traceback), and their wording helpers.

TensorFlow-free: formatting "did you mean" for a mistyped model or data set name
must answer in milliseconds, before any heavy import.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(ValueError):
    """Bad input from the user: a wrong argument, a missing file, unusable data.

    It subclasses ``ValueError`` so library callers can catch the usual type;
    the CLI prints ``kerascnn CMD: error: <message>`` and exits with status 2.
    """


class DataNotFoundError(UsageError, FileNotFoundError):
    """A data set, model or file the user asked for could not be found."""


def first_line(err: BaseException | str) -> str:
    """The first non-empty line of an error message (or the exception's type name)."""
    text = str(err).strip()
    if text:
        return text.splitlines()[0]
    return type(err).__name__ if isinstance(err, BaseException) else ""


def unknown_name_message(kind: str, name: str, valid: Iterable[str]) -> str:
    """``Unknown model 'vgg61'. Did you mean: vgg16? Valid models: ...`` (one line)."""
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return f"Unknown {kind} {name!r}.{hint} Valid {kind}s: {', '.join(valid)}."
