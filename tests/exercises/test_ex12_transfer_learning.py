"""Exercise 12: freezing only the convolutions leaves BatchNorm trainable and updating its statistics."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission, message_of


def test_freezing_only_convolutions_fails_the_frozen_checks():
    report = grade_submission("transfer_learning", "transfer_learning_convs_only_frozen")
    assert_partial_marks(report, {"only_the_head_is_trainable", "frozen_batchnorm_stays_in_inference_mode",
                                  "keras_applications_base"},
                         "trainable parameters (16 channels, 3 classes: only the new Dense layer): expected 51, got 99")
    message = message_of(report, "frozen_batchnorm_stays_in_inference_mode")
    assert "moving statistic" in message and "moving_mean changed" in message and "training=False" in message
