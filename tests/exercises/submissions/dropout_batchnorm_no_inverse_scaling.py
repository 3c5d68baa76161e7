"""A realistic wrong exercise-6 submission: dropout without the 1/p scaling; BN uses batch stats at test time."""

import numpy as np


def dropout_forward(x, keep_prob, training, rng):
    x = np.asarray(x, dtype=float)
    if not training:
        return x
    mask = rng.random(x.shape) < keep_prob
    return x * mask  # forgot to divide by keep_prob


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    x = np.asarray(x, dtype=float)
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axes), x.var(axes)  # batch statistics even at test time
    if training:
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    out = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return out, running_mean, running_var
