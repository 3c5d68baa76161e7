"""Checks of exercise 13: shapes and parameters against keras Conv3D, memory against kerascnn's lecture table."""

import numpy as np

from kerascnn.exercises.checking import check, expect_equal, function_of

NUMBER = 13
TITLE = "3D convolution shapes, parameters and activation memory"
LECTURE = "3D CNNs for video and volumes: the lecture's Conv3D example and the cost of 3D activations"

_SHAPE_HINT = ("Revisit convolution arithmetic on every spatial axis: o = floor((i + 2p - k) / s) + 1 with p zeros "
               "on each side; the batch axis is kept and the channel axis becomes the number of filters "
               "(channels_first: (N, C, D, H, W); channels_last: (N, D, H, W, C)).")
_PARAMS_HINT = "Revisit the parameters of a 3D convolution: k_d * k_h * k_w * C_in weights per filter, plus F biases."
_BYTES_HINT = ("Revisit activation memory: prod(shape) values (batch included) times the bytes per value "
               "(4 for float32, 2 for float16).")


def keras_output_shape(input_shape, filters, kernel_size, strides, padding, data_format):
    """A real ZeroPadding3D + Conv3D's output shape (symbolic: nothing is computed)."""
    import keras

    inputs = keras.Input(batch_shape=tuple(input_shape))
    x = keras.layers.ZeroPadding3D(tuple(padding), data_format=data_format)(inputs)
    x = keras.layers.Conv3D(filters, tuple(kernel_size), strides=tuple(strides), data_format=data_format)(x)
    return tuple(x.shape)


def _as_tuple(value):
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else value


def _compare_shape(student, case):
    shape = function_of(student, "conv3d_output_shape")
    expected = keras_output_shape(*case)
    input_shape, filters, kernel_size, strides, padding, data_format = case
    got = shape(input_shape, filters, kernel_size, strides, padding, data_format=data_format)
    expect_equal(_as_tuple(got), expected,
                 f"conv3d_output_shape({input_shape}, {filters}, kernel {kernel_size}, stride {strides}, "
                 f"padding {padding}, {data_format!r})", _SHAPE_HINT)


@check(points=1)
def lecture_conv3d_example(student):
    """The lecture's example: (20, 16, 10, 50, 100) -> (20, 33, 8, 50, 99), checked with a real Conv3D."""
    _compare_shape(student, ((20, 16, 10, 50, 100), 33, (3, 5, 2), (2, 1, 1), (4, 2, 0), "channels_first"))


@check(points=2)
def conv3d_output_shapes_match_keras(student):
    """Seeded random 3D convolutions (both data formats) give the shapes real Keras layers give."""
    rng = np.random.default_rng(130)
    for number in range(8):
        data_format = ("channels_first", "channels_last")[number % 2]
        spatial = tuple(int(v) for v in rng.integers(5, 40, 3))
        channels, batch = int(rng.integers(1, 8)), int(rng.integers(1, 5))
        kernel = tuple(int(v) for v in rng.integers(1, 6, 3))
        strides = tuple(int(v) for v in rng.integers(1, 4, 3))
        padding = tuple(int(v) for v in rng.integers(0, 3, 3))
        input_shape = (batch, channels, *spatial) if data_format == "channels_first" else (batch, *spatial, channels)
        _compare_shape(student, (input_shape, int(rng.integers(1, 40)), kernel, strides, padding, data_format))


@check(points=1)
def conv3d_parameters_match_keras(student):
    """Conv3D parameter counts (with and without bias) equal keras.layers.Conv3D's."""
    import keras

    parameters = function_of(student, "conv3d_parameters")
    for in_channels, filters, kernel_size, use_bias in ((16, 33, (3, 5, 2), True), (3, 64, (3, 3, 3), True),
                                                        (64, 128, (1, 3, 3), False), (1, 8, (5, 1, 7), True)):
        layer = keras.layers.Conv3D(filters, kernel_size, use_bias=use_bias)
        layer.build((None, 8, 8, 8, in_channels))
        expect_equal(_as_tuple(parameters(in_channels, filters, kernel_size, use_bias=use_bias)),
                     layer.count_params(),
                     f"conv3d_parameters({in_channels}, {filters}, {kernel_size}, use_bias={use_bias})", _PARAMS_HINT)


@check(points=1)
def activation_memory_of_the_lecture_example(student):
    """The lecture example's output (20, 33, 8, 50, 99) holds 26,136,000 values: 104,544,000 bytes in float32."""
    memory = function_of(student, "activation_bytes")
    shape = keras_output_shape((20, 16, 10, 50, 100), 33, (3, 5, 2), (2, 1, 1), (4, 2, 0), "channels_first")
    expect_equal(_as_tuple(memory(shape)), int(np.prod(shape)) * 4, f"activation_bytes({shape})", _BYTES_HINT)
    expect_equal(_as_tuple(memory(shape, bytes_per_value=2)), int(np.prod(shape)) * 2,
                 f"activation_bytes({shape}, bytes_per_value=2)", _BYTES_HINT)


@check(points=1, hidden=True)
def activation_memory_matches_lecture_table(student):
    """The bytes of each Conv3D output of a small 3D CNN equal kerascnn's lecture table (analysis.summary)."""
    import keras

    from kerascnn.analysis.summary import summarize

    memory = function_of(student, "activation_bytes")
    inputs = keras.Input((16, 32, 32, 1))
    x = keras.layers.Conv3D(8, 3, padding="same", name="conv1")(inputs)
    x = keras.layers.Conv3D(16, (3, 3, 3), strides=2, name="conv2")(x)
    x = keras.layers.Conv3D(32, (1, 3, 3), strides=(1, 2, 2), padding="same", name="conv3")(x)
    model = keras.Model(inputs, x)
    for batch in (1, 6):
        table = summarize(model, batch_size=batch)
        for row in table.layers:
            if row.type == "Conv3D":
                shape = (batch, *row.output_shapes[0])
                expect_equal(_as_tuple(memory(shape)), row.activation_bytes,
                             f"activation_bytes({shape}) of layer {row.name}", _BYTES_HINT)
