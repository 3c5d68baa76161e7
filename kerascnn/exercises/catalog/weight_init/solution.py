"""Exercise 7, reference solution: Glorot and He initialisation, and the deep ReLU stack."""

import numpy as np


def fans(shape):
    """``(fan_in, fan_out)``: a conv kernel's fans include its receptive field (as Keras computes them)."""
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return receptive_field * shape[-2], receptive_field * shape[-1]


def init_std(kind, fan_in, fan_out):
    """Glorot: sqrt(2 / (fan_in + fan_out)); He: sqrt(2 / fan_in)."""
    return float(np.sqrt(2.0 / (fan_in + fan_out) if kind == "glorot" else 2.0 / fan_in))


def uniform_limit(kind, fan_in, fan_out):
    """``sqrt(3) * std``: a uniform on [-a, a] has variance a**2 / 3."""
    return float(np.sqrt(3.0) * init_std(kind, fan_in, fan_out))


def initialize(kind, distribution, shape, rng):
    """Draw a kernel of ``shape`` with the Glorot or He scale."""
    fan_in, fan_out = fans(shape)
    if distribution == "uniform":
        limit = uniform_limit(kind, fan_in, fan_out)
        return rng.uniform(-limit, limit, size=shape)
    return rng.normal(0.0, init_std(kind, fan_in, fan_out), size=shape)


def relu_stack_stds(kind, depth=10, width=256, batch=512, seed=0):
    """Std of the activations after each of ``depth`` dense ReLU layers initialised with ``kind``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, width))
    stds = []
    for _ in range(depth):
        x = np.maximum(x @ initialize(kind, "normal", (width, width), rng), 0.0)
        stds.append(x.std())
    return np.array(stds)
