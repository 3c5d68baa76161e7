"""Checks of exercise 1: output sizes and parameter counts from real Keras layers, receptive fields
from :func:`kerascnn.analysis.receptive_field.receptive_fields`, on configurations drawn here."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_equal, function_of

NUMBER = 1
TITLE = "Convolution arithmetic: output size, parameters, receptive field"
LECTURE = "o = floor((i + 2p - k - (k-1)(d-1))/s) + 1; three 3x3 convs = one 7x7 with fewer parameters"

SIZE_HINT = ("Revisit the output size: o = floor((i + 2p - k - (k-1)(d-1)) / s) + 1 (a dilated kernel spans "
             "k + (k-1)(d-1) pixels; integer division //).")
FIELD_HINT = ("Revisit the receptive field: start at r = 1, j = 1; per layer r += (k-1)*d*j, then j *= s "
              "(strides multiply the step between neighbouring outputs).")


def _keras_output_size(i, k, p, s, d):
    import keras

    padded = i + 2 * p  # keras pads through a ZeroPadding layer; "valid" convolution after it
    return keras.layers.Conv2D(1, k, strides=s, dilation_rate=d).compute_output_shape((None, padded, padded, 1))[1]


def _configurations(seed, count, dilated):
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        i, k, p = int(rng.integers(5, 64)), int(rng.choice([1, 2, 3, 5, 7])), int(rng.integers(0, 4))
        s, d = (1, int(rng.integers(2, 5))) if dilated else (int(rng.integers(1, 5)), 1)
        if i + 2 * p >= k + (k - 1) * (d - 1):
            found.append((i, k, p, s, d))
    return found


def _size(student, i, k, p, s, d):
    got = function_of(student, "conv_output_size")(i, k, p, s, d)
    if isinstance(got, float) and got.is_integer():
        got = int(got)
    return got


@check(points=2)
def output_size_padding_stride(student):
    """conv_output_size matches Keras Conv2D for padding and stride (no dilation)."""
    for i, k, p, s, d in _configurations(1, 12, dilated=False):
        expect_equal(_size(student, i, k, p, s, d), _keras_output_size(i, k, p, s, d),
                     f"output size for i={i}, k={k}, p={p}, s={s}", SIZE_HINT)


@check(points=1)
def output_size_dilation(student):
    """conv_output_size matches Keras Conv2D for dilated kernels."""
    for i, k, p, s, d in _configurations(2, 10, dilated=True):
        expect_equal(_size(student, i, k, p, s, d), _keras_output_size(i, k, p, s, d),
                     f"output size for i={i}, k={k}, p={p}, d={d}", SIZE_HINT)


@check(points=1, hidden=True)
def output_size_stride_and_dilation(student):
    """conv_output_size counts the window positions when stride and dilation are both > 1."""
    rng = np.random.default_rng(3)
    for _ in range(12):
        i, k, p, s, d = (int(rng.integers(8, 50)), int(rng.choice([2, 3, 5])), int(rng.integers(0, 3)),
                         int(rng.integers(2, 4)), int(rng.integers(2, 4)))
        span = k + (k - 1) * (d - 1)
        positions = len(range(0, i + 2 * p - span + 1, s))  # where the dilated window fits, every s pixels
        expect_equal(_size(student, i, k, p, s, d), positions, f"output size for i={i}, k={k}, p={p}, s={s}, d={d}",
                     SIZE_HINT)


@check(points=1)
def parameter_count(student):
    """conv_params matches Keras Conv2D.count_params, with and without bias."""
    import keras

    rng = np.random.default_rng(4)
    for _ in range(6):
        k, c_in, c_out, bias = int(rng.choice([1, 3, 5, 7])), int(rng.integers(1, 65)), int(rng.integers(1, 65)), \
            bool(rng.integers(0, 2))
        layer = keras.layers.Conv2D(c_out, k, use_bias=bias)
        layer.build((None, 16, 16, c_in))
        expect_equal(function_of(student, "conv_params")(k, c_in, c_out, bias), layer.count_params(),
                     f"parameters of a {k}x{k} conv {c_in}->{c_out} channels, bias={bias}",
                     "Revisit the parameter count: one k x k x c_in kernel per output channel, plus one bias "
                     "per output channel when bias=True.")


@check(points=1)
def three_3x3_equal_one_7x7(student):
    """Three 3x3 convolutions see 7x7, like one 7x7 convolution, with 27C^2 instead of 49C^2 weights."""
    field = function_of(student, "receptive_field")
    expect_equal(field([(3, 1, 1)] * 3), 7, "receptive field of three 3x3 convs (stride 1)", FIELD_HINT)
    expect_equal(field([(7, 1, 1)]), 7, "receptive field of one 7x7 conv", FIELD_HINT)
    params = function_of(student, "conv_params")
    for channels in (64, 256):
        stacked, single = 3 * params(3, channels, channels, False), params(7, channels, channels, False)
        if (stacked, single) != (27 * channels**2, 49 * channels**2):
            raise CheckFailed(f"parameters with C={channels}: expected three 3x3 = {27 * channels**2:,} and one "
                              f"7x7 = {49 * channels**2:,}, got {stacked:,} and {single:,}. Revisit conv_params.")


@check(points=2, hidden=True)
def receptive_field_of_stacks(student):
    """receptive_field matches kerascnn's receptive_fields of Conv1D/pooling stacks with strides and dilation."""
    import keras

    from kerascnn.analysis.receptive_field import receptive_fields

    rng = np.random.default_rng(5)
    for _ in range(5):
        layers = []
        x = inputs = keras.Input((512, 1))
        for _ in range(int(rng.integers(2, 6))):
            if rng.random() < 0.3:
                pool = int(rng.integers(2, 4))
                layers.append((pool, pool, 1))
                x = keras.layers.MaxPooling1D(pool)(x)
            else:
                k, stride = int(rng.choice([2, 3, 5])), int(rng.integers(1, 3))
                d = 1 if stride > 1 else int(rng.integers(1, 4))
                layers.append((k, stride, d))
                x = keras.layers.Conv1D(1, k, strides=stride, dilation_rate=d, padding="same")(x)
        fields = receptive_fields(keras.Model(inputs, x))
        expect_equal(function_of(student, "receptive_field")(list(layers)), list(fields.values())[-1],
                     f"receptive field of the stack (k, s, d) = {layers}", FIELD_HINT)
