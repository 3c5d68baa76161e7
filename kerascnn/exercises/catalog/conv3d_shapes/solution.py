"""Exercise 13, reference solution: Conv3D output shapes, parameters and activation memory."""

import math


def conv3d_output_shape(input_shape, filters, kernel_size, strides, padding, data_format="channels_first"):
    """``o = floor((i + 2p - k) / s) + 1`` on depth, height and width."""
    batch = input_shape[0]
    spatial = input_shape[2:] if data_format == "channels_first" else input_shape[1:4]
    out = tuple((i + 2 * p - k) // s + 1 for i, k, s, p in zip(spatial, kernel_size, strides, padding))
    return (batch, filters, *out) if data_format == "channels_first" else (batch, *out, filters)


def conv3d_parameters(in_channels, filters, kernel_size, use_bias=True):
    """``k_d * k_h * k_w * C_in * F`` weights plus ``F`` biases."""
    return math.prod(kernel_size) * in_channels * filters + (filters if use_bias else 0)


def activation_bytes(shape, bytes_per_value=4):
    """``prod(shape) * bytes_per_value``."""
    return math.prod(shape) * bytes_per_value
