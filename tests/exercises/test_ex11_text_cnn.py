"""Exercise 11: Flatten instead of max-over-time changes Kim's parameter count."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission

from kerascnn.exercises.catalog.text_cnn.checks import closed_form_parameters


def test_flatten_instead_of_max_over_time_fails_the_parameter_checks():
    report = grade_submission("text_cnn", "text_cnn_flatten_instead_of_max")
    assert_partial_marks(report, {"text_cnn_parameters_kim", "text_cnn_other_settings"},
                         "expected 1860902, got 1892102")


def test_closed_form_equals_kerascnn_textcnn_at_kims_settings():
    """300 V + 360,300 + 602 (Kim 2014, CNN-rand, 2 classes) is what kerascnn's zoo model has."""
    from kerascnn.models.kim_cnn import textcnn

    assert closed_form_parameters(20_000, 300, (3, 4, 5), 100, 2) == 300 * 20_000 + 360_300 + 602
    assert textcnn(vocabulary_size=1000, embedding_dim=300).count_params() == 300 * 1000 + 360_300 + 602
