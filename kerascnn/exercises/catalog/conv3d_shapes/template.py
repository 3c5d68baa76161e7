"""Exercise 13: 3D convolution arithmetic and the memory of a 3D activation.

Lecture idea: a 3D convolution (video: time x height x width; volumes: depth x height x width)
slides a ``k_d x k_h x k_w`` kernel through the volume; every spatial axis follows the same
rule as in 2D::

    o = floor((i + 2 p - k) / s) + 1        (p: zero padding on *each* side)

The lecture's example (channels first, ``(batch, channels, depth, height, width)``): input
``(20, 16, 10, 50, 100)``, 33 filters, kernel ``(3, 5, 2)``, stride ``(2, 1, 1)``, padding
``(4, 2, 0)`` gives ``(20, 33, 8, 50, 99)``.

A 3D kernel has ``k_d * k_h * k_w * in_channels`` weights per filter, plus one bias per
filter. Activations are big: a tensor holds ``prod(shape)`` values of 4 bytes (float32) each
(2 bytes in float16/bfloat16).

Plain Python is enough. The checks compare with real ``keras.layers.Conv3D`` layers and with
kerascnn's lecture table (the memory of each layer's output).
"""


def conv3d_output_shape(input_shape, filters, kernel_size, strides, padding, data_format="channels_first"):
    """Output shape of a 3D convolution, batch axis included.

    Args:
        input_shape: ``(batch, C, D, H, W)`` for ``"channels_first"``, ``(batch, D, H, W, C)`` for ``"channels_last"``.
        filters: number of filters (output channels).
        kernel_size, strides, padding: 3-tuples for (D, H, W); ``padding`` is the number of zeros
            added on *each* side of each axis.
        data_format: ``"channels_first"`` or ``"channels_last"``.

    Returns:
        A tuple of 5 ints in the same layout as the input.
    """
    raise NotImplementedError("TODO: o = floor((i + 2p - k) / s) + 1 on each of the three spatial axes")


def conv3d_parameters(in_channels, filters, kernel_size, use_bias=True):
    """Number of weights (and biases) of a Conv3D layer."""
    raise NotImplementedError("TODO: parameters of a 3D convolution")


def activation_bytes(shape, bytes_per_value=4):
    """Memory of a tensor of ``shape`` (batch included) in bytes."""
    raise NotImplementedError("TODO: values times bytes per value")


if __name__ == "__main__":
    out = conv3d_output_shape((20, 16, 10, 50, 100), 33, (3, 5, 2), (2, 1, 1), (4, 2, 0))
    print(out, conv3d_parameters(16, 33, (3, 5, 2)), activation_bytes(out) / 1e6, "MB")
