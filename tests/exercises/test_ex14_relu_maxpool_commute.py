"""Exercise 14: a max pooling that starts its running max at 0 fails on all-negative tensors only."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission


def test_max_starting_at_zero_fails_on_negative_tensors():
    report = grade_submission("relu_maxpool_commute", "relu_maxpool_commute_max_starts_at_zero")
    assert_partial_marks(report, {"max_pool2d_on_negative_inputs"}, "start from the window's values")
    assert "all-negative tensor" in report.checks[1].message
