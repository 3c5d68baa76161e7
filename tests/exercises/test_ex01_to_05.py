"""Exercises 1-5: a realistic wrong submission scores partial marks, the right check failing with the right words."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerascnn.exercises import grader

SUBMISSIONS = Path(__file__).with_name("submissions")

CASES = [  # exercise, submission, checks that must fail, words in the first failing message
    ("conv_arithmetic", "conv_arithmetic_no_dilation", {"output_size_dilation", "output_size_stride_and_dilation"},
     "(k-1)(d-1)"),
    ("vgg16_table", "vgg16_table_no_conv_bias", {"layer_parameters", "other_input_sizes"},
     "parameters of row 1 (block1_conv1) at input 224x224, 1000 classes: expected 1792, got 1728"),
    ("two_layer_net", "two_layer_net_no_relu_mask", {"gradient_check", "regularisation", "test_accuracy"},
     "gradient of W1 (numerical gradient check)"),
    ("sigmoid_backprop", "sigmoid_backprop_sigmoid_of_activation",
     {"output_layer_gradient", "gradient_check", "deep_network", "training_step"}, "not sigmoid(a)"),
    ("optimizers", "optimizers_no_bias_correction", {"adam_steps", "amsgrad_steps", "other_hyperparameters"},
     "weights after step 1"),
]


@pytest.mark.parametrize("exercise, name, failing, words", CASES, ids=[c[1] for c in CASES])
def test_wrong_submission_gets_partial_marks_and_the_reason(exercise, name, failing, words):
    report = grader.grade_in_process(exercise, SUBMISSIONS / f"{name}.py")
    assert {r.name for r in report.checks if not r.passed} == failing
    assert 0 < report.score < report.max_score
    first = next(r for r in report.checks if not r.passed)
    assert words in first.message and "Revisit" in first.message


def test_optimizer_message_names_the_bias_correction():
    report = grader.grade_in_process("optimizers", SUBMISSIONS / "optimizers_no_bias_correction.py")
    adam = next(r for r in report.checks if r.name == "adam_steps")
    assert "bias correction" in adam.message and "sqrt(1-beta2^t)/(1-beta1^t)" in adam.message


def test_constant_answers_do_not_pass(tmp_path):
    """A table of the right answers for the public examples still fails the checks drawn elsewhere."""
    cheat = tmp_path / "cheat.py"
    cheat.write_text("def conv_output_size(i, k, p=0, s=1, d=1):\n    return 7\n"
                     "def conv_params(k, c_in, c_out, bias=True):\n    return 27 * 64 * 64\n"
                     "def receptive_field(layers):\n    return 7\n")
    report = grader.grade_in_process("conv_arithmetic", cheat)
    assert report.score == 0
