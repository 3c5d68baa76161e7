"""Checks of exercise 5: each NumPy optimiser's trajectory against ``keras.optimizers`` on the same function.

The function is drawn inside each check (a random quadratic bowl plus a ripple), so a hard-coded
trajectory cannot pass; Keras runs in float64 on the same gradients.
"""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, function_of

NUMBER = 5
TITLE = "Optimisers in NumPy: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AMSGrad"
LECTURE = "Optimisation: momentum, per-parameter step sizes, Adam's bias correction"

STEPS = 25
RTOL, ATOL = 1e-4, 1e-4


def _problem(seed, size=6):
    """w0 and the gradient of f(w) = sum a (w - c)^2 + 0.1 sum sin(3 w), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    a, c, w0 = rng.uniform(0.5, 5, size), rng.normal(0, 2, size), rng.normal(0, 2, size)

    def gradient(w):
        return 2 * a * (w - c) + 0.3 * np.cos(3 * w)

    return w0, gradient


def _keras_trajectory(optimizer, w0, gradient, steps=STEPS):
    import keras

    variable = keras.Variable(w0.copy(), dtype="float64")
    trajectory = []
    for _ in range(steps):
        grad = keras.ops.convert_to_tensor(gradient(np.asarray(variable)), dtype="float64")
        optimizer.apply_gradients([(grad, variable)])
        trajectory.append(np.array(variable))
    return np.array(trajectory)


def _student_trajectory(function, w0, gradient, steps=STEPS, **hyper):
    w, state, trajectory = w0.copy(), {}, []
    for _ in range(steps):
        new = function(w.copy(), gradient(w), state, **hyper)
        if new is None:
            raise CheckFailed("the optimiser returned None: return the new weights")
        w = np.asarray(new, dtype=float)
        if w.shape != w0.shape:
            raise CheckFailed(f"the optimiser returned shape {w.shape} for weights of shape {w0.shape}")
        trajectory.append(w)
    return np.array(trajectory)


def _compare(student, name, keras_optimizer, seed, hint, **hyper):
    w0, gradient = _problem(seed)
    got = _student_trajectory(function_of(student, name), w0, gradient, **hyper)
    want = _keras_trajectory(keras_optimizer, w0, gradient)
    settings = ", ".join(f"{k}={v:g}" for k, v in hyper.items())
    for step in range(STEPS):  # Keras keeps lr and betas in float32: agreement to about 1e-5, not 1e-15
        if not np.allclose(got[step], want[step], rtol=RTOL, atol=ATOL):
            expect_close(got[step], want[step], f"{name}({settings}): weights after step {step + 1}"
                         + (" (the steps before it matched)" if step else ""), hint, rtol=RTOL, atol=ATOL)


@check(points=1)
def sgd_and_momentum(student):
    """sgd and momentum follow keras.optimizers.SGD (momentum 0 and 0.9)."""
    import keras

    _compare(student, "sgd", keras.optimizers.SGD(0.02), 1,
             "Revisit gradient descent: w - lr * g.", lr=0.02)
    _compare(student, "momentum", keras.optimizers.SGD(0.02, momentum=0.9), 2,
             "Revisit momentum: v = mu*v - lr*g with v starting at 0, then w = w + v.", lr=0.02, mu=0.9)


@check(points=1)
def nesterov_momentum(student):
    """nesterov follows keras.optimizers.SGD(nesterov=True)."""
    import keras

    _compare(student, "nesterov", keras.optimizers.SGD(0.02, momentum=0.9, nesterov=True), 3,
             "Revisit Nesterov (Keras form): v = mu*v - lr*g, then w = w + mu*v - lr*g (the look-ahead).",
             lr=0.02, mu=0.9)


@check(points=1)
def adagrad_steps(student):
    """adagrad follows keras.optimizers.Adagrad (accumulator starting at 0.1)."""
    import keras

    _compare(student, "adagrad", keras.optimizers.Adagrad(0.3, initial_accumulator_value=0.1, epsilon=1e-7), 4,
             "Revisit AdaGrad: acc starts at initial_accumulator (0.1), acc += g^2, "
             "w -= lr * g / sqrt(acc + eps).", lr=0.3, initial_accumulator=0.1, eps=1e-7)


@check(points=1)
def rmsprop_steps(student):
    """rmsprop follows keras.optimizers.RMSprop."""
    import keras

    _compare(student, "rmsprop", keras.optimizers.RMSprop(0.05, rho=0.9, epsilon=1e-7), 5,
             "Revisit RMSProp: v = rho*v + (1-rho)*g^2 from v = 0, w -= lr * g / sqrt(v + eps).",
             lr=0.05, rho=0.9, eps=1e-7)


ADAM_HINT = ("Revisit Adam: m and v start at 0 and t at 1; alpha = lr*sqrt(1-beta2^t)/(1-beta1^t) is the bias "
             "correction (without it the first steps are far too small); w -= alpha*m/(sqrt(v)+eps).")


@check(points=2)
def adam_steps(student):
    """adam follows keras.optimizers.Adam, bias correction included."""
    import keras

    _compare(student, "adam", keras.optimizers.Adam(0.05, beta_1=0.9, beta_2=0.999, epsilon=1e-7), 6, ADAM_HINT,
             lr=0.05, beta1=0.9, beta2=0.999, eps=1e-7)


@check(points=1, hidden=True)
def amsgrad_steps(student):
    """amsgrad follows keras.optimizers.Adam(amsgrad=True)."""
    import keras

    _compare(student, "amsgrad", keras.optimizers.Adam(0.05, beta_1=0.8, beta_2=0.9, epsilon=1e-7, amsgrad=True),
             7, ADAM_HINT + " AMSGrad divides by sqrt(v_max) with v_max = max(v_max, v).",
             lr=0.05, beta1=0.8, beta2=0.9, eps=1e-7)


@check(points=1, hidden=True)
def other_hyperparameters(student):
    """Every optimiser uses the hyperparameters it is given (not its defaults)."""
    import keras

    hint = "Use the arguments lr, mu, rho, beta1, beta2 you are given, not fixed numbers."
    _compare(student, "momentum", keras.optimizers.SGD(0.01, momentum=0.5), 8, hint, lr=0.01, mu=0.5)
    _compare(student, "nesterov", keras.optimizers.SGD(0.01, momentum=0.7, nesterov=True), 9, hint, lr=0.01, mu=0.7)
    _compare(student, "adagrad", keras.optimizers.Adagrad(0.1, initial_accumulator_value=1.0), 10, hint,
             lr=0.1, initial_accumulator=1.0)
    _compare(student, "rmsprop", keras.optimizers.RMSprop(0.01, rho=0.5), 11, hint, lr=0.01, rho=0.5)
    _compare(student, "adam", keras.optimizers.Adam(0.1, beta_1=0.5, beta_2=0.9), 12, hint,
             lr=0.1, beta1=0.5, beta2=0.9)
