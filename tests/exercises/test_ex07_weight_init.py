"""Exercise 7: "He" without ReLU's factor 2 (LeCun's 1/fan_in) fails the He checks; theory is not an experiment."""

from __future__ import annotations

import numpy as np
from partial_marks import assert_partial_marks, grade_submission, message_of

from kerascnn.exercises import grader
from kerascnn.exercises.catalog.weight_init import checks


def test_lecun_scale_instead_of_he_fails_the_he_checks():
    report = grade_submission("weight_init", "weight_init_lecun_instead_of_he")
    assert_partial_marks(report, {"normal_std_matches_keras", "uniform_limit_matches_keras",
                                  "initialize_has_keras_variance", "relu_stack_he_keeps_the_scale"},
                         "init_std('he', fan_in=64, fan_out=10) (keras.initializers.HeNormal): "
                         "expected 0.1768, got 0.125")
    assert "He Var(W) = 2 / fan_in" in message_of(report, "normal_std_matches_keras")
    assert "std after layer" in message_of(report, "relu_stack_he_keeps_the_scale")


def test_closed_form_stack_stds():
    """He keeps std sqrt(1 - 1/pi) in every layer; Xavier starts at sqrt(1/2 - 1/(2 pi)) and halves the variance."""
    assert np.allclose(checks._expected_stds("he", 4), np.sqrt(1 - 1 / np.pi))
    assert np.allclose(checks._expected_stds("glorot", 3), np.sqrt(0.5 - 0.5 / np.pi) * 2.0 ** (-np.arange(3) / 2))


def test_returning_the_closed_form_instead_of_running_the_experiment_fails(tmp_path):
    cheat = tmp_path / "cheat.py"
    cheat.write_text("import numpy as np\n"
                     "def relu_stack_stds(kind, depth=10, width=256, batch=512, seed=0):\n"
                     "    c = np.sqrt(1 - 1 / np.pi)\n"
                     "    return c * (np.ones(depth) if kind == 'he' else 2.0 ** (-np.arange(depth) / 2 - 0.5))\n")
    report = grader.grade_in_process("weight_init", cheat)
    assert report.score == 0
    assert "gave the same stds for seeds" in message_of(report, "relu_stack_he_keeps_the_scale")
