"""Exercise 6: dropout without the 1/p scaling and batch norm with batch statistics at test time lose marks."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission, message_of

from kerascnn.exercises import grader


def test_missing_inverse_scaling_and_test_time_batch_statistics_fail_their_checks():
    report = grade_submission("dropout_batchnorm", "dropout_batchnorm_no_inverse_scaling")
    assert_partial_marks(report, {"dropout_scales_survivors_by_one_over_p",
                                  "batchnorm_test_time_uses_running_statistics"},
                         "kept unit / input with p=0.25: expected 4")
    assert "divide the kept units by p" in message_of(report, "dropout_scales_survivors_by_one_over_p")
    assert "running mean and variance" in message_of(report, "batchnorm_test_time_uses_running_statistics")
    assert report.score == 5 and report.max_score == 9


def test_a_fixed_mask_is_not_random_dropout(tmp_path):
    fixed = tmp_path / "fixed_mask.py"
    fixed.write_text("import numpy as np\n"
                     "def dropout_forward(x, keep_prob, training, rng):\n"
                     "    x = np.asarray(x, dtype=float)\n"
                     "    if not training:\n        return x\n"
                     "    mask = np.arange(x.size).reshape(x.shape) % 100 < 100 * keep_prob\n"
                     "    return x * mask / keep_prob\n")
    report = grader.grade_in_process("dropout_batchnorm", fixed)
    assert "dropped exactly the same units" in message_of(report, "dropout_keeps_a_fraction_p")
