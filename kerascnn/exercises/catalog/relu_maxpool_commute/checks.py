"""Checks of exercise 14: pooling against Keras layers; the two compositions equal for max, not for average."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, function_of

NUMBER = 14
TITLE = "ReLU and max-pooling commute"
LECTURE = "Pooling layers: ReLU is monotone, so relu(maxpool(x)) = maxpool(relu(x)); not so for average pooling"

_MAX_HINT = ("Revisit max pooling: each output is the maximum of one pool_size x pool_size window, windows start "
             "every `stride` pixels, windows that do not fit are dropped: out = (H - k) // s + 1.")
_NEGATIVE_HINT = ("Revisit max pooling on negative values: the max of a window of negative numbers is negative; "
                  "start from the window's values (window.max()), not from 0.")
_AVG_HINT = "Revisit average pooling: each output is the mean of one window (the same windows as max pooling)."
_COMMUTE_HINT = ("Revisit the compositions: relu(pool(x)) pools first, pool(relu(x)) applies the ReLU first; for "
                 "max pooling they are equal because ReLU is monotone.")
_AVG_COMMUTE_HINT = ("Revisit average pooling and ReLU: relu(avg(x)) <= avg(relu(x)) (ReLU is convex), strictly "
                     "where a window mixes positive and negative values.")

_CASES = (((2, 6, 6, 3), 2, 2), ((1, 7, 9, 2), 3, 2), ((3, 8, 5, 1), 2, 1), ((1, 5, 5, 4), 3, 3))


def _keras_pool(x, pool, pool_size, stride):
    import keras

    layer = (keras.layers.MaxPooling2D if pool == "max" else keras.layers.AveragePooling2D)(pool_size, stride)
    return np.asarray(layer(x.astype("float32")), dtype=float)


def _tensors(seed, shape):
    """Seeded tensors of ``shape``: mixed signs, mostly positive (every window's max > 0), all negative/positive."""
    rng = np.random.default_rng(seed)
    mixed = rng.normal(size=shape)
    return {"mixed-sign": mixed, "mostly-positive": mixed + 2.0, "all-negative": -np.abs(mixed) - 0.1,
            "all-positive": np.abs(mixed) + 0.1}


def _compare_pool(student, name, pool, kinds, hint, seed):
    pooling = function_of(student, name)
    for number, (shape, pool_size, stride) in enumerate(_CASES):
        for kind, x in _tensors(seed + number, shape).items():
            if kind in kinds:
                expect_close(pooling(x.copy(), pool_size=pool_size, stride=stride),
                             _keras_pool(x, pool, pool_size, stride),
                             f"{name} of the {kind} tensor {shape}, pool {pool_size}, stride {stride}", hint,
                             atol=1e-5)


@check(points=2)
def max_pool2d_matches_keras(student):
    """NumPy max pooling equals keras MaxPooling2D (several sizes, strides and odd shapes)."""
    _compare_pool(student, "max_pool2d", "max", ("mostly-positive", "all-positive"), _MAX_HINT, 140)


@check(points=1)
def max_pool2d_on_negative_inputs(student):
    """Max pooling of all-negative tensors equals keras MaxPooling2D (the max is negative)."""
    _compare_pool(student, "max_pool2d", "max", ("all-negative",), _NEGATIVE_HINT, 141)


@check(points=1)
def avg_pool2d_matches_keras(student):
    """NumPy average pooling equals keras AveragePooling2D."""
    _compare_pool(student, "avg_pool2d", "avg", ("mixed-sign", "all-negative"), _AVG_HINT, 142)


def _orders(student, x, pool, pool_size, stride, what):
    result = function_of(student, "both_orders")(x.copy(), pool=pool, pool_size=pool_size, stride=stride)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed("both_orders must return a pair (relu(pool(x)), pool(relu(x))); "
                          f"got {type(result).__name__}.")
    pooled = _keras_pool(x, pool, pool_size, stride)
    expect_close(result[0], np.maximum(pooled, 0.0), f"relu({pool}pool(x)) of {what}", _COMMUTE_HINT, atol=1e-5)
    expect_close(result[1], _keras_pool(np.maximum(x, 0.0), pool, pool_size, stride), f"{pool}pool(relu(x)) of {what}",
                 _COMMUTE_HINT, atol=1e-5)
    return np.asarray(result[0], dtype=float), np.asarray(result[1], dtype=float)


@check(points=1)
def relu_and_max_pool_commute(student):
    """Both orders of ReLU and max pooling match Keras and are equal, on mixed, negative and positive tensors."""
    for number, (shape, pool_size, stride) in enumerate(_CASES):
        for kind, x in _tensors(143 + number, shape).items():
            first, second = _orders(student, x, "max", pool_size, stride, f"the {kind} tensor {shape}")
            if not np.array_equal(first, second):
                raise CheckFailed(f"relu(maxpool(x)) and maxpool(relu(x)) differ on the {kind} tensor {shape} "
                                  f"(largest difference {np.abs(first - second).max():.3g}). {_COMMUTE_HINT}")


@check(points=1, hidden=True)
def relu_and_average_pool_do_not_commute(student):
    """For average pooling the orders differ where a window mixes signs, and relu(avg(x)) <= avg(relu(x))."""
    for number, (shape, pool_size, stride) in enumerate(_CASES):
        tensors = _tensors(147 + number, shape)
        first, second = _orders(student, tensors["mixed-sign"], "avg", pool_size, stride,
                                f"a mixed-sign tensor {shape}")
        if np.allclose(first, second) or np.any(first > second + 1e-9):
            raise CheckFailed(f"for average pooling of a mixed-sign tensor {shape}, expected relu(avg(x)) <= "
                              f"avg(relu(x)) with some strict inequality. {_AVG_COMMUTE_HINT}")
        first, second = _orders(student, tensors["all-positive"], "avg", pool_size, stride,
                                f"an all-positive tensor {shape}")
        expect_close(first, second, f"relu(avg(x)) vs avg(relu(x)) on an all-positive tensor {shape}",
                     _AVG_COMMUTE_HINT)
