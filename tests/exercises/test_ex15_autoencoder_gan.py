"""Exercise 15: the saturating minimax generator loss loses the hidden check; a no-op training step fails."""

from __future__ import annotations

from partial_marks import assert_partial_marks, grade_submission, message_of

from kerascnn.exercises import find, grader


def test_saturating_generator_loss_fails_the_hidden_check():
    report = grade_submission("autoencoder_gan", "autoencoder_gan_saturating_generator_loss")
    assert_partial_marks(report, {"generator_loss_is_non_saturating"}, "vanishing gradients")
    assert "expected 2.8175, got -0.473" in message_of(report, "generator_loss_is_non_saturating")


def test_a_training_step_that_does_nothing_fails(tmp_path):
    solution = find("autoencoder_gan").solution_path.read_text()
    lazy = tmp_path / "lazy.py"
    step = ('    autoencoder.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")\n'
            '    return float(autoencoder.train_on_batch(x, x))')
    assert step in solution
    lazy.write_text(solution.replace(step, "    return 0.0"))
    report = grader.grade_in_process("autoencoder_gan", lazy)
    assert "reconstruction error after one train_step: expected below" in message_of(
        report, "training_step_lowers_reconstruction_loss")
    assert report.score == report.max_score - 2
