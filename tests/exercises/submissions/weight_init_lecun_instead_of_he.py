"""A realistic wrong exercise-7 submission: "He" scaled as 1/fan_in (LeCun), forgetting ReLU's factor 2."""

import numpy as np


def fans(shape):
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return receptive_field * shape[-2], receptive_field * shape[-1]


def init_std(kind, fan_in, fan_out):
    if kind == "glorot":
        return np.sqrt(2.0 / (fan_in + fan_out))
    return np.sqrt(1.0 / fan_in)  # missing the factor 2 for ReLU


def uniform_limit(kind, fan_in, fan_out):
    return np.sqrt(3.0) * init_std(kind, fan_in, fan_out)


def initialize(kind, distribution, shape, rng):
    fan_in, fan_out = fans(shape)
    if distribution == "uniform":
        limit = uniform_limit(kind, fan_in, fan_out)
        return rng.uniform(-limit, limit, size=shape)
    return rng.normal(0.0, init_std(kind, fan_in, fan_out), size=shape)


def relu_stack_stds(kind, depth=10, width=256, batch=512, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, width))
    stds = []
    for _ in range(depth):
        x = np.maximum(x @ initialize(kind, "normal", (width, width), rng), 0.0)
        stds.append(x.std())
    return np.array(stds)
