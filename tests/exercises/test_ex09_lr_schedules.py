"""Exercise 9: a step decay that drops one step early fails at the first wrong step."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission


def test_step_decay_off_by_one_names_the_first_wrong_step():
    report = grade_submission("lr_schedules", "lr_schedules_step_decay_off_by_one")
    assert_partial_marks(report, {"step_decay_matches_keras", "schedules_with_other_settings"},
                         "step_decay(step, 0.1, 10, 0.1) at step 9 (the first wrong step): expected 0.1, got 0.01")
    assert report.score == 4 and report.max_score == 6
