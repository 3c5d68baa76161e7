"""A realistic wrong exercise-9 submission: step decay drops one step too early (counts steps from 1)."""

import math


def step_decay(step, initial_lr, drop_every, factor):
    return initial_lr * factor ** ((step + 1) // drop_every)  # off by one


def exponential_decay(step, initial_lr, decay_steps, decay_rate):
    return initial_lr * decay_rate ** (step / decay_steps)


def inverse_time_decay(step, initial_lr, decay_steps, decay_rate):
    return initial_lr / (1 + decay_rate * step / decay_steps)


def triangular_cyclical(step, base_lr, max_lr, step_size):
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)
