"""The contract between an exercise's checks and the autograder.

An exercise is a package ``kerascnn/exercises/catalog/<name>/`` holding

- ``template.py``: what ``kerascnn exercises start`` hands to students (functions whose bodies are
  ``raise NotImplementedError("TODO: ...")``),
- ``solution.py``: the teacher's reference solution (never copied by ``start``),
- ``checks.py``: module constants ``NUMBER`` (int), ``TITLE``, ``LECTURE`` (the lecture idea it drills),
  optional ``TIME_LIMIT`` (seconds for the whole submission, default 60), and functions decorated with
  :func:`check`, each taking the student's loaded module and raising :class:`CheckFailed` with a
  teaching message (what was expected, what came back, which formula to revisit).

Checks compute their expected values from kerascnn's own functions, Keras layers/optimizers or NumPy
on inputs drawn with a fixed seed *inside the check*, so a constant cannot pass them.
"""
from __future__ import annotations

import dataclasses
import inspect
import traceback
from typing import Callable

import numpy as np


class CheckFailed(AssertionError):
    """A check's verdict: the message is shown to the student as is."""


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    function: Callable
    points: float
    hidden: bool
    description: str


def check(points: float = 1, hidden: bool = False):
    """Mark a function ``f(student)`` of an exercise's ``checks.py`` as a graded check.

    ``hidden=True`` checks run only for ``kerascnn grade`` (the teacher), not for
    ``kerascnn exercises check`` (the student's self-check).
    """
    if points <= 0:
        raise ValueError(f"points must be positive, got {points}")

    def mark(function):
        function.__check__ = Check(function.__name__, function, float(points), bool(hidden),
                                   (inspect.getdoc(function) or "").split("\n")[0])
        return function

    return mark


def checks_of(module, include_hidden: bool = True) -> list[Check]:
    """The checks of a ``checks.py`` module, in source order."""
    found = [value.__check__ for value in vars(module).values() if hasattr(value, "__check__")]
    found.sort(key=lambda c: c.function.__code__.co_firstlineno)
    return [c for c in found if include_hidden or not c.hidden]


@dataclasses.dataclass
class CheckResult:
    name: str
    passed: bool
    points: float
    max_points: float
    message: str
    hidden: bool = False

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "points": self.points,
                "max_points": self.max_points, "message": self.message}


def run_check(item: Check, student) -> CheckResult:
    """Run one check in this process; a student's exception becomes a failed check with its reason."""
    try:
        item.function(student)
    except CheckFailed as failure:
        return CheckResult(item.name, False, 0.0, item.points, str(failure), item.hidden)
    except NotImplementedError as error:
        return CheckResult(item.name, False, 0.0, item.points,
                           f"not implemented yet: {error or 'fill in the TODO'}", item.hidden)
    except Exception as error:  # the student's code raised: say where, briefly
        where = _student_frame(error, student)
        return CheckResult(item.name, False, 0.0, item.points,
                           f"your code raised {type(error).__name__}: {error}{where}", item.hidden)
    return CheckResult(item.name, True, item.points, item.points, "ok", item.hidden)


def _student_frame(error: BaseException, student=None) -> str:
    """`` (line 12, in forward)``: the last frame of the student's own file in the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    student_file = getattr(student, "__file__", None)
    own = [f for f in frames if student_file and f.filename == student_file]
    if not own:  # a student module without a file: any frame outside kerascnn and the import machinery
        own = [f for f in frames if "kerascnn" not in f.filename and not f.filename.startswith("<frozen")]
    if not own:
        return ""
    last = own[-1]
    where = getattr(student, "__where__", None)  # notebooks: "code cell 3, line 4"
    return f" ({where(last.lineno) if callable(where) else f'line {last.lineno}'}, in {last.name})"


def run_checks(checks_module, student, include_hidden: bool = True) -> list[CheckResult]:
    """Run every check of an exercise against a loaded student module, in this process."""
    return [run_check(item, student) for item in checks_of(checks_module, include_hidden)]


# ---------------------------------------------------------------------------------------------
# Helpers for writing checks with teaching messages


def function_of(student, name: str):
    """The student's function ``name``, or a CheckFailed saying it is missing."""
    value = getattr(student, name, None)
    if not callable(value):
        raise CheckFailed(f"define a function `{name}` (the template has it; was it renamed or deleted?)")
    return value


def expect_close(got, expected, what: str, hint: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Fail with 'what: expected X, got Y. hint' unless ``got`` matches ``expected`` in shape and value."""
    expected = np.asarray(expected, dtype=float)
    try:
        got_array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what}: expected a number/array like {_short(expected)}, got {_short(got)}. {hint}")
    if got_array.shape != expected.shape:
        raise CheckFailed(f"{what}: expected shape {expected.shape}, got shape {got_array.shape}. {hint}")
    if not np.all(np.isfinite(got_array)) and np.all(np.isfinite(expected)):
        raise CheckFailed(f"{what}: got non-finite values (nan/inf). {hint}")
    if not np.allclose(got_array, expected, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got_array - expected)))
        raise CheckFailed(f"{what}: expected {_short(expected)}, got {_short(got_array)} "
                          f"(largest difference {worst:.3g}). {hint}")


def expect_equal(got, expected, what: str, hint: str) -> None:
    """Fail unless ``got == expected`` (ints, tuples, strings)."""
    if got != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {_short(got)}. {hint}")


def _short(value, limit: int = 120) -> str:
    text = np.array2string(value, precision=4, threshold=8) if isinstance(value, np.ndarray) else repr(value)
    text = " ".join(text.split())  # one line, whatever the array's rank
    return text if len(text) <= limit else text[: limit - 3] + "..."
