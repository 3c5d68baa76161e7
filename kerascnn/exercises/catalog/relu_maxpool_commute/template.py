"""Exercise 14: ReLU and max-pooling commute (and ReLU and average pooling do not).

Lecture idea: ``relu(maxpool(x)) == maxpool(relu(x))``. ReLU is monotone (non-decreasing):
the largest value of a window stays the largest after the ReLU, so it does not matter
which comes first, and a network may pool first and apply the ReLU to 4x fewer values.
Average pooling is linear, not a maximum: ``relu(avg(x)) <= avg(relu(x))`` (ReLU is convex),
with equality only when no window mixes signs.

Work in NumPy on ``(batch, height, width, channels)`` tensors (channels last, no padding:
windows that do not fit are dropped, as in ``keras.layers.MaxPooling2D(padding="valid")``).
The checks compare with Keras's pooling layers on seeded random tensors, including
tensors whose values are all negative.
"""

import numpy as np


def relu(x):
    """``max(0, x)`` element-wise."""
    raise NotImplementedError("TODO: ReLU")


def max_pool2d(x, pool_size=2, stride=2):
    """Max pooling of ``(N, H, W, C)`` with square windows; output ``(N, (H - k)//s + 1, (W - k)//s + 1, C)``."""
    raise NotImplementedError("TODO: max pooling (loop over output positions, take each window's max)")


def avg_pool2d(x, pool_size=2, stride=2):
    """Average pooling with the same windows as :func:`max_pool2d`."""
    raise NotImplementedError("TODO: average pooling")


def both_orders(x, pool="max", pool_size=2, stride=2):
    """``(relu(pool(x)), pool(relu(x)))`` for ``pool`` ``"max"`` or ``"avg"``: the two compositions."""
    raise NotImplementedError("TODO: the two orders of ReLU and pooling")


if __name__ == "__main__":
    x = np.random.default_rng(0).normal(size=(1, 4, 4, 1))
    for pool in ("max", "avg"):
        first, second = both_orders(x, pool)
        print(pool, "largest difference:", np.abs(first - second).max())
