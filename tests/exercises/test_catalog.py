"""The whole exercise catalog: every reference solution scores full marks, every untouched template zero."""

from __future__ import annotations

import pytest

from kerascnn import exercises
from kerascnn.core.errors import UsageError
from kerascnn.exercises import grader
from kerascnn.exercises.checking import checks_of

CATALOG = exercises.catalog()
IDS = [e.name for e in CATALOG]


def test_catalog_is_numbered_from_one_without_gaps():
    assert [e.number for e in CATALOG] == list(range(1, len(CATALOG) + 1))
    assert len(set(IDS)) == len(IDS)
    assert IDS[:5] == ["conv_arithmetic", "vgg16_table", "two_layer_net", "sigmoid_backprop", "optimizers"]


def test_find_accepts_number_padded_number_name_and_listed_id():
    for key in ("3", "03", 3, "two_layer_net", "03_two_layer_net"):
        assert exercises.find(key).name == "two_layer_net"
    with pytest.raises(UsageError, match="Did you mean: two_layer_net"):
        exercises.find("two_layer_nt")


@pytest.mark.parametrize("exercise", CATALOG, ids=IDS)
def test_exercise_has_files_marker_and_enough_checks(exercise):
    for path in (exercise.template_path, exercise.solution_path, exercise.checks_path):
        assert path.is_file(), path
    checks = checks_of(exercise.load_checks())
    assert len(checks) >= 3
    assert any(c.hidden for c in checks) and any(not c.hidden for c in checks)
    assert exercise.title and exercise.lecture


@pytest.mark.parametrize("exercise", CATALOG, ids=IDS)
def test_reference_solution_scores_full_marks(exercise):
    report = grader.grade_in_process(exercise, exercise.solution_path)
    failures = [(r.name, r.message) for r in report.checks if not r.passed]
    assert not failures and report.score == report.max_score > 0


@pytest.mark.parametrize("exercise", CATALOG, ids=IDS)
def test_untouched_template_scores_zero(exercise):
    report = grader.grade_in_process(exercise, exercise.template_path)
    assert report.score == 0
    assert all("not implemented yet" in r.message or "TODO" in r.message for r in report.checks), \
        [r.message for r in report.checks]


@pytest.mark.slow
@pytest.mark.parametrize("exercise", CATALOG, ids=IDS)
def test_reference_solution_scores_full_marks_in_the_sandbox(exercise):
    report = grader.grade(exercise, exercise.solution_path)
    assert report.score == report.max_score, [(r.name, r.message) for r in report.checks if not r.passed]
