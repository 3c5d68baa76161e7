"""Exercise 8, reference solution: residual, depthwise-separable, inception and squeeze-excite blocks."""

import keras
from keras import layers


def _conv_bn(x, filters, kernel_size, stride=1, relu=True):
    x = layers.Conv2D(filters, kernel_size, strides=stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x) if relu else x


def residual_block(x, filters, stride=1):
    """ResNet basic block (He et al. 2016)."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, relu=False)
    y = _conv_bn(x, filters, 3, stride)
    y = _conv_bn(y, filters, 3, relu=False)
    return layers.ReLU()(layers.Add()([shortcut, y]))


def depthwise_separable_block(x, filters, stride=1):
    """MobileNet block (Howard et al. 2017)."""
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    return _conv_bn(x, filters, 1)


def inception_module(x, filters):
    """GoogLeNet's Inception module (Szegedy et al. 2015, Fig. 2b)."""
    n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj = filters

    def conv(y, f, k):
        return layers.Conv2D(f, k, padding="same", activation="relu")(y)

    branch1 = conv(x, n1x1, 1)
    branch2 = conv(conv(x, n3x3_reduce, 1), n3x3, 3)
    branch3 = conv(conv(x, n5x5_reduce, 1), n5x5, 5)
    branch4 = conv(layers.MaxPooling2D(3, strides=1, padding="same")(x), pool_proj, 1)
    return layers.Concatenate()([branch1, branch2, branch3, branch4])


def squeeze_excite_block(x, ratio=16):
    """Squeeze-and-excitation (Hu et al. 2018)."""
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D()(x)
    s = layers.Dense(max(1, channels // ratio), activation="relu")(s)
    s = layers.Dense(channels, activation="sigmoid")(s)
    return layers.Multiply()([x, layers.Reshape((1, 1, channels))(s)])
