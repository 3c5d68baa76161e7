"""Checks of exercise 6: dropout statistically and against the 1/p rule, batch norm against Keras."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, function_of

NUMBER = 6
TITLE = "Inverted dropout and batch normalisation"
LECTURE = "Regularisation and normalisation: train-time vs test-time behaviour of dropout and batch norm"

_DROPOUT_HINT = ("Revisit inverted dropout: keep a unit with probability p and divide the kept units by p "
                 "while training, so that E[output] = x; at test time return x unchanged.")
_BN_HINT = ("Revisit batch norm: while training x_hat = (x - batch mean) / sqrt(batch variance + epsilon) over "
            "every axis but the channels (biased variance, x.var(axes)), then gamma * x_hat + beta.")
_RUNNING_HINT = ("Revisit the running averages: running = momentum * running + (1 - momentum) * batch statistic "
                 "(as keras.layers.BatchNormalization updates moving_mean and moving_variance).")
_TEST_HINT = ("Revisit batch norm at test time: normalise with the running mean and variance (not the batch's) "
              "and leave them unchanged, so one example's output does not depend on the rest of the batch.")


def _dropout(student, x, keep_prob, training, seed):
    out = function_of(student, "dropout_forward")(x.copy(), keep_prob, training, np.random.default_rng(seed))
    out = np.asarray(out, dtype=float)
    if out.shape != x.shape:
        raise CheckFailed(f"dropout output: expected shape {x.shape}, got {out.shape}. {_DROPOUT_HINT}")
    return out


@check(points=1)
def dropout_is_identity_at_test_time(student):
    """Dropout at test time returns its input unchanged."""
    rng = np.random.default_rng(60)
    for keep_prob, shape in ((0.5, (7, 9)), (0.8, (3, 4, 5))):
        x = rng.normal(size=shape)
        expect_close(_dropout(student, x, keep_prob, False, 1), x, f"dropout(training=False, p={keep_prob})",
                     _DROPOUT_HINT)


@check(points=1)
def dropout_keeps_a_fraction_p(student):
    """While training, about a fraction p of the units survive, drawn at random."""
    rng = np.random.default_rng(61)
    x = rng.uniform(1.0, 2.0, size=(400, 500))  # never zero: a zero in the output is a dropped unit
    for keep_prob in (0.3, 0.5, 0.9):
        out = _dropout(student, x, keep_prob, True, 2)
        kept = float(np.mean(out != 0))
        if abs(kept - keep_prob) > 0.01:
            raise CheckFailed(f"fraction of units kept with p={keep_prob}: expected about {keep_prob}, got "
                              f"{kept:.4f}. {_DROPOUT_HINT}")
    first, second = _dropout(student, x, 0.5, True, 3), _dropout(student, x, 0.5, True, 4)
    if np.array_equal(first != 0, second != 0):
        raise CheckFailed("two training calls with different random generators dropped exactly the same units: "
                          "draw a fresh random mask on every call (use the `rng` argument).")


@check(points=2)
def dropout_scales_survivors_by_one_over_p(student):
    """Kept units are divided by p, so the expected output equals the input (the 1/p rule)."""
    rng = np.random.default_rng(62)
    x = rng.uniform(1.0, 2.0, size=(300, 400))
    for keep_prob in (0.25, 0.6):
        out = _dropout(student, x, keep_prob, True, 5)
        kept = out != 0
        ratio = out[kept] / x[kept]
        expect_close(ratio.mean(), 1 / keep_prob, f"kept unit / input with p={keep_prob}", _DROPOUT_HINT)
        expect_close(ratio, np.full_like(ratio, 1 / keep_prob), f"every kept unit / input with p={keep_prob}",
                     _DROPOUT_HINT)
        expect_close(out.mean(), x.mean(), f"mean activation with p={keep_prob}", _DROPOUT_HINT, rtol=0.02)


def _batchnorm_case(seed, shape):
    rng = np.random.default_rng(seed)
    channels = shape[-1]
    x = rng.normal(2.0, 3.0, size=shape)
    gamma, beta = rng.uniform(0.5, 2.0, channels), rng.normal(size=channels)
    mean, var = rng.normal(size=channels), rng.uniform(0.5, 4.0, channels)
    return x, gamma, beta, mean, var


def _keras_batchnorm(x, gamma, beta, mean, var, training, momentum, epsilon):
    """Keras's BatchNormalization with the given weights: ``(out, moving_mean, moving_variance)``."""
    import keras

    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    layer.build(x.shape)
    layer.set_weights([w.astype("float32") for w in (gamma, beta, mean, var)])
    out = np.asarray(layer(x.astype("float32"), training=training))
    return out, layer.moving_mean.numpy(), layer.moving_variance.numpy()


def _compare_batchnorm(student, training, seeds, compare_output, compare_stats, hint):
    batchnorm = function_of(student, "batchnorm_forward")
    for seed, shape, momentum in zip(seeds, ((32, 6), (8, 5, 5, 3)), (0.9, 0.99)):
        x, gamma, beta, mean, var = _batchnorm_case(seed, shape)
        result = batchnorm(x.copy(), gamma.copy(), beta.copy(), mean.copy(), var.copy(), training,
                           momentum=momentum, epsilon=1e-3)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise CheckFailed("batchnorm_forward must return a tuple (out, new_running_mean, new_running_var).")
        expected = _keras_batchnorm(x, gamma, beta, mean, var, training, momentum, 1e-3)
        mode = "training" if training else "test"
        if compare_output:
            expect_close(result[0], expected[0], f"batch norm output ({mode}, input {shape})", hint,
                         rtol=1e-4, atol=1e-4)
        if compare_stats:
            expect_close(result[1], expected[1], f"running mean after a {mode} call (momentum {momentum})", hint,
                         rtol=1e-4, atol=1e-5)
            expect_close(result[2], expected[2], f"running variance after a {mode} call (momentum {momentum})",
                         hint, rtol=1e-4, atol=1e-5)


@check(points=2)
def batchnorm_training_output(student):
    """Training-mode output equals keras BatchNormalization(training=True) with the same gamma and beta."""
    _compare_batchnorm(student, True, (63, 64), True, False, _BN_HINT)


@check(points=1)
def batchnorm_running_average(student):
    """The running mean and variance are updated with momentum, as Keras updates its moving statistics."""
    _compare_batchnorm(student, True, (65, 66), False, True, _RUNNING_HINT)


@check(points=2, hidden=True)
def batchnorm_test_time_uses_running_statistics(student):
    """Test-mode output equals keras BatchNormalization(training=False); running statistics unchanged."""
    _compare_batchnorm(student, False, (67, 68), True, True, _TEST_HINT)
