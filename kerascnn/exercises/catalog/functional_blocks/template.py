"""Exercise 8: four building blocks of modern CNNs with the Keras functional API.

Lecture idea: a block is a function from a tensor to a tensor; architectures are stacks of blocks.
Every function below takes a Keras tensor ``x`` of shape ``(batch, H, W, C)`` (channels last)
and returns the block's output tensor. Use ``keras.layers`` only. The checks build
``keras.Model(inputs, your_block(inputs, ...))`` and compare output shapes and *exact*
parameter counts (trainable and non-trainable) with the blocks of the lecture's papers.

1. Residual block (He et al. 2016, ResNet-18/34 "basic block"):
   conv 3x3 (stride ``stride``) -> BN -> ReLU -> conv 3x3 -> BN, plus a shortcut, then ReLU
   of the sum. The shortcut is the identity when the shape is unchanged, otherwise a
   projection: 1x1 conv with stride ``stride`` -> BN. A convolution followed by batch
   norm has no bias (``use_bias=False``: BN's beta replaces it). ``padding="same"``.
2. Depthwise-separable block (Howard et al. 2017, MobileNet): 3x3 depthwise conv (stride
   ``stride``, no bias) -> BN -> ReLU -> 1x1 pointwise conv to ``filters`` (no bias) -> BN -> ReLU.
3. Inception module (Szegedy et al. 2015, GoogLeNet Fig. 2b): four branches concatenated
   on the channel axis: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max pool (stride 1, same) -> 1x1.
   Every conv has a bias and a ReLU, ``padding="same"``. ``filters`` is a row of GoogLeNet's
   Table 1: ``(#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)``.
4. Squeeze-and-excitation (Hu et al. 2018): global average pool -> dense ``C // ratio`` ReLU
   -> dense ``C`` sigmoid (both with biases) -> multiply ``x`` channel-wise by the result.
   (1x1 convolutions on the pooled 1x1 map are the same thing as dense layers.)

Parameter counts to check yourself (C in, F out, BN has 4 values per channel, 2 trainable):
residual (identity shortcut) 9*C*F + 9*F*F + 2*4*F; depthwise-separable 9*C + 4*C + C*F + 4*F;
squeeze-excite C*(C//r) + C//r + (C//r)*C + C.
"""

import keras
from keras import layers


def residual_block(x, filters, stride=1):
    """ResNet basic block: two 3x3 convs with BN, identity or projection shortcut, ReLU after the add."""
    raise NotImplementedError("TODO: residual block (hint: layers.Add()([shortcut, y]))")


def depthwise_separable_block(x, filters, stride=1):
    """MobileNet block: 3x3 depthwise conv + BN + ReLU, 1x1 pointwise conv + BN + ReLU."""
    raise NotImplementedError("TODO: depthwise-separable block (hint: layers.DepthwiseConv2D)")


def inception_module(x, filters):
    """GoogLeNet's Inception module; ``filters = (n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj)``."""
    raise NotImplementedError("TODO: inception module (hint: layers.Concatenate()([b1, b2, b3, b4]))")


def squeeze_excite_block(x, ratio=16):
    """Squeeze-and-excitation: rescale the channels of ``x`` by a learned gate in (0, 1)."""
    raise NotImplementedError("TODO: squeeze-and-excitation (hint: layers.GlobalAveragePooling2D, layers.Multiply)")


if __name__ == "__main__":
    inputs = keras.Input((32, 32, 64))
    for block in (lambda x: residual_block(x, 128, stride=2), lambda x: depthwise_separable_block(x, 128),
                  lambda x: inception_module(x, (64, 96, 128, 16, 32, 32)), squeeze_excite_block):
        model = keras.Model(inputs, block(inputs))
        print(model.output_shape, model.count_params())
