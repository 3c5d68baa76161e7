"""Exercise 10: a batch-hard triplet loss without the hinge fails the triplet checks only."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission


def test_missing_hinge_fails_the_triplet_checks():
    report = grade_submission("metric_losses", "metric_losses_missing_hinge")
    assert_partial_marks(report, {"batch_hard_triplet_loss_matches_library", "losses_with_lonely_anchors"},
                         "[D(a,p) - D(a,n) + margin]_+")
    assert "batch_hard_triplet_loss(margin=0.2)" in report.checks[2].message
