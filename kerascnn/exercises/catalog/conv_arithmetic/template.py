# kerascnn exercise: conv_arithmetic
"""Exercise 1: convolution arithmetic (output sizes, parameter counts, receptive fields).

Lecture idea: a convolution layer's output size, parameter count and receptive field follow from
its kernel size k, padding p, stride s and dilation d alone:

    output size      o = floor((i + 2p - k - (k - 1)(d - 1)) / s) + 1
    parameters       k * k * c_in * c_out (+ c_out biases)
    receptive field  r grows by (k - 1) * d * j per layer, where j (the "jump") is the product of
                     the strides of the layers before it; r starts at 1.

So three stacked 3x3 convolutions see a 7x7 patch, like one 7x7 convolution, with 27 C^2 instead
of 49 C^2 weights (VGG's argument). Your answers are checked against real Keras layers.
Check yourself with ``kerascnn exercises check conv_arithmetic.py``.
"""


def conv_output_size(i, k, p=0, s=1, d=1):
    """Output size (an int) of a convolution over an input of size ``i`` (one spatial axis)."""
    raise NotImplementedError("TODO: o = floor((i + 2p - k - (k-1)(d-1)) / s) + 1")


def conv_params(k, c_in, c_out, bias=True):
    """Trainable parameters of a k x k Conv2D from c_in to c_out channels, with or without bias."""
    raise NotImplementedError("TODO: weights plus biases")


def receptive_field(layers):
    """Receptive field (in input pixels, one axis) of a stack of layers, given as a list of
    ``(k, s, d)`` tuples from input to output (a pooling layer is ``(pool_size, stride, 1)``)."""
    raise NotImplementedError("TODO: r = 1; for each layer r += (k-1)*d*j; j *= s")


if __name__ == "__main__":
    print("224x224 through a 7x7 conv, stride 2, padding 3:", conv_output_size(224, 7, p=3, s=2))
    print("three 3x3 convs see", receptive_field([(3, 1, 1)] * 3), "pixels, like one 7x7 conv")
    print("parameters with 64 channels: three 3x3 =", 3 * conv_params(3, 64, 64, bias=False),
          " one 7x7 =", conv_params(7, 64, 64, bias=False))
