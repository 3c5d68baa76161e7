"""Checks of exercise 8: output shapes and exact parameter counts against kerascnn's own model blocks."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_equal, function_of

NUMBER = 8
TITLE = "Keras functional blocks: residual, depthwise-separable, inception, squeeze-excite"
LECTURE = "Modern CNN architectures as stacks of blocks (ResNet, MobileNet, GoogLeNet, SENet)"

_RESIDUAL_HINT = ("Revisit the residual block: conv3x3(stride)-BN-ReLU-conv3x3-BN, convolutions without bias "
                  "(BN's beta replaces it), identity shortcut when the shape is unchanged, otherwise a 1x1 "
                  "conv (stride, no bias) + BN projection; ReLU after the add. Identity case: "
                  "9*C*F + 9*F*F weights + 2 BNs x 4*F values.")
_SEPARABLE_HINT = ("Revisit the depthwise-separable block: a 3x3 DepthwiseConv2D (9*C weights, no bias) + BN "
                   "(4*C) + ReLU, then a 1x1 Conv2D (C*F weights, no bias) + BN (4*F) + ReLU.")
_INCEPTION_HINT = ("Revisit the Inception module: branches 1x1 | 1x1->3x3 | 1x1->5x5 | maxpool3x3(stride 1, "
                   "same)->1x1, every conv with bias + ReLU and padding 'same', concatenated on the channels "
                   "(n1x1 + n3x3 + n5x5 + pool_proj output channels).")
_SE_HINT = ("Revisit squeeze-and-excitation: global average pool -> dense C//r (ReLU, bias) -> dense C (sigmoid, "
            "bias) -> multiply x by the gate channel-wise: C*(C//r) + C//r + (C//r)*C + C parameters, output "
            "shaped like x.")


def _measure(block, input_shape):
    """``(output_shape, trainable, non_trainable)`` of ``keras.Model(inputs, block(inputs))``."""
    import keras

    inputs = keras.Input(input_shape)
    outputs = block(inputs)
    if not hasattr(outputs, "shape"):
        raise CheckFailed(f"your block returned {type(outputs).__name__}; return the block's output tensor.")
    model = keras.Model(inputs, outputs)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return tuple(model.output_shape), trainable, non_trainable


def _compare(student_block, reference_block, input_shape, what, hint):
    got_shape, got_trainable, got_frozen = _measure(student_block, input_shape)
    shape, trainable, frozen = _measure(reference_block, input_shape)
    expect_equal(got_shape, shape, f"{what}: output shape for input {(None, *input_shape)}", hint)
    expect_equal(got_trainable, trainable, f"{what}: trainable parameters for input {(None, *input_shape)}", hint)
    expect_equal(got_frozen, frozen, f"{what}: non-trainable parameters (BN moving statistics) for input "
                                     f"{(None, *input_shape)}", hint)


def _residual_cases(student, cases):
    from kerascnn.models.resnet import basic_block

    block = function_of(student, "residual_block")
    for input_shape, filters, stride in cases:
        _compare(lambda x: block(x, filters, stride=stride),
                 lambda x: basic_block(x, filters, stride=stride, name="reference"),
                 input_shape, f"residual_block(filters={filters}, stride={stride})", _RESIDUAL_HINT)


@check(points=1)
def residual_block_identity_shortcut(student):
    """Residual block with an identity shortcut: shape and parameters as kerascnn's ResNet basic block."""
    _residual_cases(student, (((8, 8, 16), 16, 1), ((6, 6, 32), 32, 1)))


@check(points=1, hidden=True)
def residual_block_projection_shortcut(student):
    """Residual block that changes stride or channels: 1x1 conv + BN projection on the shortcut."""
    _residual_cases(student, (((8, 8, 16), 32, 2), ((10, 10, 8), 8, 2), ((6, 6, 8), 16, 1)))


@check(points=1)
def depthwise_separable_block_parameters(student):
    """Depthwise-separable block: shape and parameters as kerascnn's MobileNet block."""
    from kerascnn.models.mobilenet import depthwise_separable_block

    block = function_of(student, "depthwise_separable_block")
    for input_shape, filters, stride in (((8, 8, 16), 32, 1), ((9, 9, 8), 16, 2)):
        _compare(lambda x: block(x, filters, stride=stride),
                 lambda x: depthwise_separable_block(x, filters, strides=stride, name="reference"),
                 input_shape, f"depthwise_separable_block(filters={filters}, stride={stride})", _SEPARABLE_HINT)


@check(points=1)
def inception_module_parameters(student):
    """Inception module: shape and parameters as kerascnn's GoogLeNet module (incl. GoogLeNet's 3a)."""
    from kerascnn.models.inception import inception_module

    block = function_of(student, "inception_module")
    for input_shape, filters in (((12, 12, 32), (8, 6, 8, 2, 4, 4)), ((7, 7, 192), (64, 96, 128, 16, 32, 32))):
        _compare(lambda x: block(x, filters),
                 lambda x: inception_module(x, filters, batch_norm=False, name="reference"),
                 input_shape, f"inception_module({filters})", _INCEPTION_HINT)


@check(points=1)
def squeeze_excite_parameters(student):
    """Squeeze-and-excitation: shape and parameters as kerascnn's SENet block."""
    from kerascnn.models.senet import squeeze_excite

    block = function_of(student, "squeeze_excite_block")
    for input_shape, ratio in (((8, 8, 32), 16), ((4, 4, 64), 4)):
        _compare(lambda x: block(x, ratio=ratio), lambda x: squeeze_excite(x, ratio=ratio, name="reference"),
                 input_shape, f"squeeze_excite_block(ratio={ratio})", _SE_HINT)
