"""Assertions shared by the per-exercise tests (tests/exercises/test_exNN_*.py); not a test module."""

from __future__ import annotations

from pathlib import Path

from kerascnn.exercises import grader

SUBMISSIONS = Path(__file__).with_name("submissions")


def grade_submission(exercise: str, name: str) -> grader.Report:
    """Grade ``submissions/<name>.py`` in process, hidden checks included."""
    return grader.grade_in_process(exercise, SUBMISSIONS / f"{name}.py")


def assert_partial_marks(report: grader.Report, failing: set[str], words: str) -> None:
    """Exactly the checks ``failing`` fail, the score is partial, the first failure teaches with ``words``."""
    assert {r.name for r in report.checks if not r.passed} == failing, [(r.name, r.message) for r in report.checks]
    assert 0 < report.score < report.max_score
    first = next(r for r in report.checks if not r.passed)
    assert words in first.message and "Revisit" in first.message, first.message


def message_of(report: grader.Report, check_name: str) -> str:
    return next(r.message for r in report.checks if r.name == check_name)
