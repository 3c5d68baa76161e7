"""Exercise 9: learning-rate schedules as functions of the optimizer step.

Lecture idea: a large learning rate explores, a small one settles; schedules move between them.

* Step decay: multiply by ``factor`` every ``drop_every`` steps (ResNet: x0.1 at fixed epochs).
  The drop happens *at* step ``drop_every`` (step 0 .. drop_every-1 use the initial LR).
* Exponential decay: ``lr0 * decay_rate ** (step / decay_steps)`` (smooth).
* 1/t (inverse-time) decay: ``lr0 / (1 + decay_rate * step / decay_steps)``.
* Triangular cyclical LR (Smith 2017): the LR climbs linearly from ``base_lr`` to ``max_lr``
  in ``step_size`` steps, falls back to ``base_lr`` in the next ``step_size`` steps, and repeats.
  Smith writes it with ``cycle = floor(1 + step / (2 * step_size))`` and
  ``x = |step / step_size - 2 * cycle + 1|``: ``lr = base_lr + (max_lr - base_lr) * max(0, 1 - x)``.

Each function takes an integer ``step`` (0, 1, 2, ...) and returns the learning rate as a
float. They are compared with ``keras.optimizers.schedules`` (ExponentialDecay with and
without ``staircase``, InverseTimeDecay) and a cyclical schedule at many steps.
"""

import math


def step_decay(step, initial_lr, drop_every, factor):
    """``initial_lr`` times ``factor`` for every full ``drop_every`` steps done."""
    raise NotImplementedError("TODO: step decay")


def exponential_decay(step, initial_lr, decay_steps, decay_rate):
    """``initial_lr * decay_rate ** (step / decay_steps)``."""
    raise NotImplementedError("TODO: exponential decay")


def inverse_time_decay(step, initial_lr, decay_steps, decay_rate):
    """``initial_lr / (1 + decay_rate * step / decay_steps)``."""
    raise NotImplementedError("TODO: 1/t decay")


def triangular_cyclical(step, base_lr, max_lr, step_size):
    """Smith's triangular cyclical learning rate (a period of ``2 * step_size`` steps)."""
    raise NotImplementedError("TODO: triangular cyclical learning rate")


if __name__ == "__main__":
    for step in range(0, 25, 4):
        print(step, step_decay(step, 0.1, 10, 0.1), triangular_cyclical(step, 0.001, 0.01, 5))
