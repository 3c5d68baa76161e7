"""A realistic wrong exercise-14 submission: the running max of a window starts at 0 instead of -inf."""

import numpy as np


def relu(x):
    return np.maximum(x, 0.0)


def _windows(x, pool_size, stride):
    x = np.asarray(x, dtype=float)
    n, h, w, c = x.shape
    out_h, out_w = (h - pool_size) // stride + 1, (w - pool_size) // stride + 1
    for i in range(out_h):
        for j in range(out_w):
            yield i, j, x[:, i * stride:i * stride + pool_size, j * stride:j * stride + pool_size, :]


def max_pool2d(x, pool_size=2, stride=2):
    n, h, w, c = np.shape(x)
    out = np.zeros((n, (h - pool_size) // stride + 1, (w - pool_size) // stride + 1, c))
    for i, j, window in _windows(x, pool_size, stride):
        for a in range(pool_size):
            for b in range(pool_size):
                out[:, i, j, :] = np.maximum(out[:, i, j, :], window[:, a, b, :])  # starts at 0
    return out


def avg_pool2d(x, pool_size=2, stride=2):
    n, h, w, c = np.shape(x)
    out = np.zeros((n, (h - pool_size) // stride + 1, (w - pool_size) // stride + 1, c))
    for i, j, window in _windows(x, pool_size, stride):
        out[:, i, j, :] = window.mean(axis=(1, 2))
    return out


def both_orders(x, pool="max", pool_size=2, stride=2):
    pooling = max_pool2d if pool == "max" else avg_pool2d
    return relu(pooling(x, pool_size, stride)), pooling(relu(x), pool_size, stride)
