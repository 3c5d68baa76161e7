"""Exercise 6, reference solution: inverted dropout and batch normalisation forward passes."""

import numpy as np


def dropout_forward(x, keep_prob, training, rng):
    """Inverted dropout: keep with probability ``p`` and divide by ``p`` while training; identity at test time."""
    x = np.asarray(x, dtype=float)
    if not training:
        return x
    mask = rng.random(x.shape) < keep_prob
    return x * mask / keep_prob


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """Batch normalisation over every axis but the last; returns ``(out, running_mean, running_var)``."""
    x = np.asarray(x, dtype=float)
    if training:
        axes = tuple(range(x.ndim - 1))
        mean, var = x.mean(axes), x.var(axes)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        mean, var = running_mean, running_var
    out = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return out, running_mean, running_var
