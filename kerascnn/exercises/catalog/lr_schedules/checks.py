"""Checks of exercise 9: schedules against ``keras.optimizers.schedules`` and kerascnn's CyclicalLearningRate."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, function_of

NUMBER = 9
TITLE = "Learning-rate schedules: step, exponential, 1/t, triangular cyclical"
LECTURE = "Learning-rate schedules and cyclical learning rates (Smith 2017)"

_HINTS = {
    "step_decay": "Revisit step decay: lr = initial_lr * factor ** floor(step / drop_every); the first drop is "
                  "at step drop_every, not one step earlier or later.",
    "exponential_decay": "Revisit exponential decay: lr = initial_lr * decay_rate ** (step / decay_steps), a real "
                         "(not floored) exponent.",
    "inverse_time_decay": "Revisit 1/t decay: lr = initial_lr / (1 + decay_rate * step / decay_steps).",
    "triangular_cyclical": "Revisit Smith's triangle: cycle = floor(1 + step / (2 * step_size)), x = |step / "
                           "step_size - 2 * cycle + 1|, lr = base_lr + (max_lr - base_lr) * max(0, 1 - x): base_lr "
                           "at step 0, max_lr at step step_size, base_lr again at 2 * step_size.",
}


def _reference(name, args):
    """The Keras (or kerascnn) schedule equal to ``name(step, *args)``."""
    import keras

    from kerascnn.nn.schedules import CyclicalLearningRate

    schedules = keras.optimizers.schedules
    if name == "step_decay":
        initial, every, factor = args
        return schedules.ExponentialDecay(initial, decay_steps=every, decay_rate=factor, staircase=True)
    if name == "exponential_decay":
        return schedules.ExponentialDecay(*args)
    if name == "inverse_time_decay":
        return schedules.InverseTimeDecay(*args)
    base, high, step_size = args
    return CyclicalLearningRate(base, high, step_size, mode="triangular")


def _compare_curve(student, name, args, steps):
    schedule = function_of(student, name)
    expected = np.asarray(_reference(name, args)(np.arange(steps)), dtype=float)
    call = f"{name}(step, {', '.join(repr(a) for a in args)})"
    for step in range(steps):
        got = schedule(step, *args)
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise CheckFailed(f"{call} at step {step}: expected a number, got {got!r}. {_HINTS[name]}")
        if not np.isclose(value, expected[step], rtol=1e-4, atol=1e-9):
            raise CheckFailed(f"{call} at step {step} (the first wrong step): expected {expected[step]:.6g}, got "
                              f"{value:.6g}. {_HINTS[name]}")


@check(points=1)
def step_decay_matches_keras(student):
    """Step decay equals keras ExponentialDecay(staircase=True), including the steps at each drop."""
    _compare_curve(student, "step_decay", (0.1, 10, 0.1), 45)
    _compare_curve(student, "step_decay", (0.05, 7, 0.5), 40)


@check(points=1)
def exponential_decay_matches_keras(student):
    """Exponential decay equals keras ExponentialDecay at every step."""
    _compare_curve(student, "exponential_decay", (0.1, 10, 0.5), 60)
    _compare_curve(student, "exponential_decay", (0.02, 100, 0.96), 250)


@check(points=1)
def inverse_time_decay_matches_keras(student):
    """1/t decay equals keras InverseTimeDecay at every step."""
    _compare_curve(student, "inverse_time_decay", (0.1, 10, 0.5), 60)
    _compare_curve(student, "inverse_time_decay", (0.5, 1, 0.01), 250)


@check(points=2)
def triangular_cyclical_matches_smith(student):
    """The triangular cyclical LR equals kerascnn's CyclicalLearningRate (Smith 2017) over several cycles."""
    _compare_curve(student, "triangular_cyclical", (0.001, 0.01, 5), 41)
    _compare_curve(student, "triangular_cyclical", (0.0, 1.0, 4), 33)


@check(points=1, hidden=True)
def schedules_with_other_settings(student):
    """All four schedules on other seeded settings, for a few hundred steps."""
    rng = np.random.default_rng(90)
    for _ in range(2):
        initial = float(np.round(rng.uniform(0.01, 1.0), 4))
        _compare_curve(student, "step_decay", (initial, int(rng.integers(2, 30)), float(rng.choice([0.1, 0.3, 0.5]))),
                       200)
        _compare_curve(student, "exponential_decay", (initial, int(rng.integers(5, 50)), 0.9), 200)
        _compare_curve(student, "inverse_time_decay", (initial, int(rng.integers(5, 50)), 2.0), 200)
        low = float(np.round(rng.uniform(1e-4, 1e-2), 5))
        _compare_curve(student, "triangular_cyclical", (low, 10 * low, int(rng.integers(3, 25))), 300)
