"""A realistic wrong exercise-13 submission: the padding is counted on one side only (i + p instead of i + 2p)."""

import math


def conv3d_output_shape(input_shape, filters, kernel_size, strides, padding, data_format="channels_first"):
    batch = input_shape[0]
    spatial = input_shape[2:] if data_format == "channels_first" else input_shape[1:4]
    out = tuple((i + p - k) // s + 1 for i, k, s, p in zip(spatial, kernel_size, strides, padding))  # p, not 2p
    return (batch, filters, *out) if data_format == "channels_first" else (batch, *out, filters)


def conv3d_parameters(in_channels, filters, kernel_size, use_bias=True):
    return math.prod(kernel_size) * in_channels * filters + (filters if use_bias else 0)


def activation_bytes(shape, bytes_per_value=4):
    return math.prod(shape) * bytes_per_value
