"""AlexNet (Krizhevsky et al., 2012) and ZFNet (Zeiler & Fergus, 2013).

Both are five convolutions, three max poolings and three fully connected
layers; ZFNet is AlexNet with a smaller, denser first layer (7x7 stride 2
instead of 11x11 stride 4, found by visualising AlexNet's filters). One generic
builder, :func:`_conv_stack`, reads a table of :class:`ConvStage` rows, and the
fully connected head :func:`fc_head` is shared with VGG.

References:
    A. Krizhevsky, I. Sutskever, G. E. Hinton. "ImageNet Classification with Deep
    Convolutional Neural Networks." NeurIPS 2012.
    M. D. Zeiler, R. Fergus. "Visualizing and Understanding Convolutional
    Networks." ECCV 2014 (arXiv:1311.2901, 2013).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("alexnet", "zfnet")

from typing import NamedTuple

import keras
from keras import layers

from kerascnn.nn.layers import LocalResponseNormalization
from kerascnn.models import register
from kerascnn.models.common import check_choice, check_head_args, check_rate, classifier, resolve_input_shape


class ConvStage(NamedTuple):
    """One row of the architecture table: conv (+ ReLU) [+ LRN] [+ 3x3/2 max pool]."""

    filters: int
    kernel: int
    strides: int = 1
    padding: str | int = "same"  # "same", "valid", or explicit zero padding in pixels
    pool: str | None = None  # None, or the padding of the 3x3 stride-2 max pool
    norm: bool = False  # local response normalisation in this stage (when lrn=True)


# The lecture's single-GPU AlexNet: 96-256-384-384-256 without the two-GPU groups.
# 227 -> conv1 55 -> pool 27 -> conv2 27 -> pool 13 -> conv3..5 13 -> pool 6.
ALEXNET = (
    ConvStage(96, 11, 4, "valid", pool="valid", norm=True),
    ConvStage(256, 5, 1, "same", pool="valid", norm=True),
    ConvStage(384, 3),
    ConvStage(384, 3),
    ConvStage(256, 3, pool="valid"),
)
# Zeiler & Fergus, Fig. 3: 224 -> conv1 110 -> pool 55 -> conv2 26 -> pool 13 -> 13 -> pool 6.
ZFNET = (
    ConvStage(96, 7, 2, 1, pool="same", norm=True),
    ConvStage(256, 5, 2, "valid", pool="same", norm=True),
    ConvStage(384, 3),
    ConvStage(384, 3),
    ConvStage(256, 3, pool="valid"),
)
# Zeiler & Fergus, Table 2: layers 3, 4, 5 widened to 512, 1024, 512 filters.
ZFNET_WIDE_FILTERS = (512, 1024, 512)

# Smallest input side each network can take (the last 3x3 valid pool needs a
# 3x3 map): AlexNet 67 (67 -> 15 -> 7 -> 3 -> 1); ZFNet 53 (53 -> 25 -> 13 -> 5 -> 3 -> 1).
ALEXNET_MIN_SIZE = 67
ZFNET_MIN_SIZE = 53


def fc_head(
    x,
    *,
    include_top: bool,
    pooling,
    classes: int,
    classifier_activation,
    units=(4096, 4096),
    dropout: float = 0.5,
):
    """AlexNet's classifier, reused by ZFNet and VGG: flatten, ``fc6``/``fc7`` + dropout, ``predictions``.

    Layer names follow the original Caffe models (``fc6``, ``drop6``, ``fc7``,
    ``drop7``); without ``include_top`` it applies ``pooling`` to the feature map.
    """
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        for index, width in enumerate(units, start=6):
            x = layers.Dense(width, activation="relu", name=f"fc{index}")(x)
            if dropout:
                x = layers.Dropout(dropout, name=f"drop{index}")(x)
    return classifier(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        global_pool=False,
    )


def _conv_stack(inputs, stages, *, lrn: bool, norm_before_pool: bool):
    """Apply the ``stages`` table; layers are named ``conv{i}``, ``norm{i}``, ``pool{i}``."""
    x = inputs
    for index, stage in enumerate(stages, start=1):
        padding = stage.padding
        if isinstance(padding, int):
            x = layers.ZeroPadding2D(padding, name=f"conv{index}_pad")(x)
            padding = "valid"
        x = layers.Conv2D(
            stage.filters, stage.kernel, strides=stage.strides, padding=padding, activation="relu", name=f"conv{index}"
        )(x)
        norm = lrn and stage.norm
        if norm and norm_before_pool:
            x = LocalResponseNormalization(name=f"norm{index}")(x)
        if stage.pool:
            x = layers.MaxPooling2D(3, strides=2, padding=stage.pool, name=f"pool{index}")(x)
        if norm and not norm_before_pool:
            x = LocalResponseNormalization(name=f"norm{index}")(x)
    return x


def alexnet(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    lrn: bool = False,
    dropout: float = 0.5,
    name: str = "alexnet",
) -> keras.Model:
    """Instantiates AlexNet as taught in the lecture (one tower, no groups).

    Reference:
        Krizhevsky, Sutskever, Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NeurIPS 2012.

    Five ReLU convolutions 96-256-384-384-256 (11x11/4, 5x5, 3x3, 3x3, 3x3),
    3x3 stride-2 overlapping max pooling after conv1, conv2 and conv5, and
    fc6/fc7 of 4096 units with dropout. On the default 227x227x3 input with 1000
    classes: 62,378,344 trainable parameters. The paper's two-GPU grouping of
    conv2, conv4 and conv5 is not reproduced.

    Args:
        include_top: whether to include fc6, fc7 and the output layer.
        input_shape: ``(height, width, channels)``, default ``(227, 227, 3)``;
            at least 67x67.
        pooling: global pooling of the conv5 map when ``include_top=False``:
            ``None``, ``"avg"`` or ``"max"``.
        classes: number of output classes.
        classifier_activation: activation of the output layer (``None`` for logits).
        lrn: add the paper's local response normalisation after conv1 and conv2
            (before pooling). Off by default: it adds compute and no accuracy
            (Simonyan & Zisserman 2015 found the same for VGG).
        dropout: dropout rate after fc6 and fc7 (the paper's 0.5).
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_rate("dropout", dropout)
    check_choice("lrn", lrn, (False, True))
    input_shape = resolve_input_shape(input_shape, (227, 227, 3), ALEXNET_MIN_SIZE, "AlexNet")
    inputs = keras.Input(shape=input_shape, name="input")
    x = _conv_stack(inputs, ALEXNET, lrn=lrn, norm_before_pool=True)
    x = fc_head(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
    )
    return keras.Model(inputs, x, name=name)


def zfnet(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    lrn: bool = False,
    wide: bool = False,
    dropout: float = 0.5,
    name: str = "zfnet",
) -> keras.Model:
    """Instantiates ZFNet, the network of Zeiler & Fergus's Fig. 3.

    Reference:
        Zeiler, Fergus, "Visualizing and Understanding Convolutional Networks",
        ECCV 2014 (arXiv 2013).

    AlexNet with a 7x7 stride-2 conv1 and a stride-2 conv2 on a 224x224 input:
    feature maps 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 6, as in the paper's figure.
    62,357,608 trainable parameters at 224x224x3 and 1000 classes.

    Args:
        include_top: whether to include fc6, fc7 and the output layer.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 53x53.
        pooling: global pooling of the conv5 map when ``include_top=False``:
            ``None``, ``"avg"`` or ``"max"``.
        classes: number of output classes.
        classifier_activation: activation of the output layer (``None`` for logits).
        lrn: add the paper's cross-channel normalisation after pool1 and pool2.
        wide: use 512-1024-512 filters in conv3-conv5 (the paper's Table 2 model,
            the "ZFNet" of some lecture slides) instead of Fig. 3's 384-384-256.
        dropout: dropout rate after fc6 and fc7.
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_rate("dropout", dropout)
    check_choice("lrn", lrn, (False, True))
    check_choice("wide", wide, (False, True))
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), ZFNET_MIN_SIZE, "ZFNet")
    stages = ZFNET
    if wide:
        stages = ZFNET[:2] + tuple(s._replace(filters=f) for s, f in zip(ZFNET[2:], ZFNET_WIDE_FILTERS))
    inputs = keras.Input(shape=input_shape, name="input")
    x = _conv_stack(inputs, stages, lrn=lrn, norm_before_pool=False)
    x = fc_head(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
    )
    return keras.Model(inputs, x, name=name)


register(
    "alexnet",
    alexnet,
    family="AlexNet",
    paper="Krizhevsky et al., ImageNet Classification with Deep Convolutional Neural Networks",
    year=2012,
    default_input_shape=(227, 227, 3),
    description="96-256-384-384-256 convs, fc 4096-4096, ReLU, dropout, optional LRN",
)
register(
    "zfnet",
    zfnet,
    family="AlexNet",
    paper="Zeiler & Fergus, Visualizing and Understanding Convolutional Networks",
    year=2013,
    default_input_shape=(224, 224, 3),
    description="AlexNet with a 7x7 stride-2 conv1 and stride-2 conv2",
)
