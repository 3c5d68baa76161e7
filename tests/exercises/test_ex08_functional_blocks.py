"""Exercise 8: convolutions with a bias in front of BatchNorm give the wrong parameter counts."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission, message_of


def test_bias_before_batchnorm_fails_the_bn_blocks_only():
    report = grade_submission("functional_blocks", "functional_blocks_bias_before_batchnorm")
    assert_partial_marks(report, {"residual_block_identity_shortcut", "residual_block_projection_shortcut",
                                  "depthwise_separable_block_parameters"},
                         "trainable parameters for input (None, 8, 8, 16): expected 4672, got 4704")
    assert "BN's beta replaces it" in message_of(report, "residual_block_identity_shortcut")
    assert "expected 752, got 800" in message_of(report, "depthwise_separable_block_parameters")
