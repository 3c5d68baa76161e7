"""Exercise 9, reference solution: step, exponential, 1/t and triangular cyclical learning rates."""

import math


def step_decay(step, initial_lr, drop_every, factor):
    """``initial_lr * factor ** floor(step / drop_every)``."""
    return initial_lr * factor ** (step // drop_every)


def exponential_decay(step, initial_lr, decay_steps, decay_rate):
    """``initial_lr * decay_rate ** (step / decay_steps)``."""
    return initial_lr * decay_rate ** (step / decay_steps)


def inverse_time_decay(step, initial_lr, decay_steps, decay_rate):
    """``initial_lr / (1 + decay_rate * step / decay_steps)``."""
    return initial_lr / (1 + decay_rate * step / decay_steps)


def triangular_cyclical(step, base_lr, max_lr, step_size):
    """Smith (2017): a triangle between ``base_lr`` and ``max_lr`` with a half period of ``step_size``."""
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)
