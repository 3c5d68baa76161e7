"""Exercise 7: weight initialisation, Xavier/Glorot vs He, and a deep ReLU stack.

Lecture idea: keep the variance of the signal constant from layer to layer.

* Glorot & Bengio (2010), "Xavier": ``Var(W) = 2 / (fan_in + fan_out)`` (balances the
  forward and the backward pass; right for tanh/linear units).
* He et al. (2015): ``Var(W) = 2 / fan_in``. A ReLU zeroes half of its inputs, which
  halves the second moment of the signal; the factor 2 puts it back.
* A uniform distribution on ``[-limit, limit]`` has variance ``limit**2 / 3``.
* For a convolution kernel ``(k_1, ..., k_n, in_channels, out_channels)`` the fans
  count the receptive field: ``fan_in = k_1 * ... * k_n * in_channels`` and
  ``fan_out = k_1 * ... * k_n * out_channels``; a dense kernel ``(in, out)`` has
  ``fan_in = in`` and ``fan_out = out``.

Your numbers are compared with ``keras.initializers`` (GlorotNormal, GlorotUniform,
HeNormal, HeUniform). Then you stack ReLU layers and watch the activations:
with He they keep their scale, with Xavier they shrink by about 1/sqrt(2) per layer.
Work in NumPy.
"""

import numpy as np


def fans(shape):
    """``(fan_in, fan_out)`` of a dense kernel ``(in, out)`` or a conv kernel ``(*kernel_size, in, out)``."""
    raise NotImplementedError("TODO: fan_in and fan_out (a conv kernel multiplies by its receptive field)")


def init_std(kind, fan_in, fan_out):
    """Standard deviation of the *normal* initialiser ``kind``: ``"glorot"`` or ``"he"``."""
    raise NotImplementedError("TODO: sqrt of the Glorot / He variance")


def uniform_limit(kind, fan_in, fan_out):
    """``limit`` of the *uniform* initialiser ``kind`` on ``[-limit, limit]`` (same variance as the normal one)."""
    raise NotImplementedError("TODO: the limit whose uniform distribution has the Glorot / He variance")


def initialize(kind, distribution, shape, rng):
    """A kernel of ``shape`` drawn with ``kind`` (``"glorot"``/``"he"``) and ``distribution``
    (``"normal"``/``"uniform"``).

    ``rng`` is a ``numpy.random.Generator``.
    """
    # Hint: fan_in, fan_out = fans(shape); rng.normal(0, std, shape) or rng.uniform(-limit, limit, shape)
    raise NotImplementedError("TODO: draw a kernel with the right scale")


def relu_stack_stds(kind, depth=10, width=256, batch=512, seed=0):
    """Push a batch through ``depth`` dense ReLU layers (no bias) and return each layer's activation std.

    Start from ``x`` of shape ``(batch, width)`` drawn from a standard normal; each layer is
    ``x = relu(x @ W)`` with ``W = initialize(kind, "normal", (width, width), rng)``.

    Returns:
        A ``(depth,)`` array: ``x.std()`` after each layer.
    """
    raise NotImplementedError("TODO: the deep ReLU stack experiment")


if __name__ == "__main__":
    for kind in ("glorot", "he"):
        print(kind, np.round(relu_stack_stds(kind), 4))
