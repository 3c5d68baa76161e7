"""Exercise 13: padding counted on one side only fails the lecture's Conv3D example."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission

from kerascnn.exercises.catalog.conv3d_shapes.checks import keras_output_shape


def test_padding_on_one_side_fails_the_shape_checks():
    report = grade_submission("conv3d_shapes", "conv3d_shapes_padding_once")
    assert_partial_marks(report, {"lecture_conv3d_example", "conv3d_output_shapes_match_keras"},
                         "expected (20, 33, 8, 50, 99), got (20, 33, 6, 48, 99)")


def test_lecture_example_with_real_keras_layers():
    """DESIGN.md's fact: (20, 16, 10, 50, 100), 33 filters, kernel (3, 5, 2), stride (2, 1, 1), padding (4, 2, 0)."""
    assert keras_output_shape((20, 16, 10, 50, 100), 33, (3, 5, 2), (2, 1, 1), (4, 2, 0),
                              "channels_first") == (20, 33, 8, 50, 99)
