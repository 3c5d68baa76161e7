# kerascnn exercise: conv_arithmetic
"""A wrong submission: the output size ignores dilation: convolution arithmetic."""


def conv_output_size(i, k, p=0, s=1, d=1):
    return (i + 2 * p - k) // s + 1  # forgot the dilation


def conv_params(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


def receptive_field(layers):
    field, jump = 1, 1
    for k, s, d in layers:
        field += (k - 1) * d * jump
        jump *= s
    return field


if __name__ == "__main__":
    print("224x224 through a 7x7 conv, stride 2, padding 3:", conv_output_size(224, 7, p=3, s=2))
    print("three 3x3 convs see", receptive_field([(3, 1, 1)] * 3), "pixels, like one 7x7 conv")
    print("parameters with 64 channels: three 3x3 =", 3 * conv_params(3, 64, 64, bias=False),
          " one 7x7 =", conv_params(7, 64, 64, bias=False))
