"""MobileNetV1 (Howard et al. 2017) and MobileNetV2 (Sandler et al. 2018).

References:
    - Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto, Adam. "MobileNets:
      Efficient Convolutional Neural Networks for Mobile Vision Applications."
      arXiv:1704.04861, 2017.
    - Sandler, Howard, Zhu, Zhmoginov, Chen. "MobileNetV2: Inverted Residuals and
      Linear Bottlenecks." CVPR 2018 (arXiv:1801.04381).

MobileNetV1 replaces each standard convolution by a depthwise separable one: a
3x3 depthwise convolution (one filter per channel) and a 1x1 pointwise convolution
that mixes channels, ~8-9x fewer multiply-adds. The width multiplier ``alpha``
thins every layer (multiply-adds and parameters scale by ~``alpha**2``) and the
resolution multiplier is simply a smaller input (multiply-adds scale by ~``rho**2``).
MobileNetV2 stacks inverted residual blocks: a 1x1 expansion (``t``x wider), a
3x3 depthwise convolution, and a linear 1x1 projection back to a narrow bottleneck,
with a residual connection between bottlenecks of the same shape.

Both follow the paper tables layer by layer (so the multiply-add counts come out
as published: V1 569 M at 1.0/224, 149 M at 0.5/224, 186 M at 1.0/128; V2 ~300 M),
with ReLU6 and BatchNorm after every convolution except V2's projections, as in
the official TensorFlow releases and ``keras.applications``, with their BatchNorm
epsilon (1e-3) and momentum (0.99 in V1, 0.999 in V2). Stride-2 layers use
``padding="same"`` like the TF-slim originals; ``keras.applications`` pads the same
way (``correct_pad``) wherever the input side is even, as it is at 224, 192, 160, 128
and 96.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("mobilenet_v1", "mobilenet_v2")

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.transfer import apply_weights
from kerascnn.models.common import (
    check_choice,
    check_head_args,
    classifier,
    conv_bn_act,
    resolve_input_shape,
)

# MobileNetV1, paper Table 1: (pointwise filters, depthwise stride) of the 13
# depthwise separable blocks after the 3x3/2 stem convolution with 32 filters.
V1_ARCH = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip
V1_ALPHAS = (0.25, 0.5, 0.75, 1.0)
V1_DROPOUT = 1e-3  # keras.applications' MobileNet head
# MobileNetV2, paper Table 2: (expansion t, output channels c, repeats n, first stride s).
V2_ARCH = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
V2_LAST_FILTERS = 1280
STEM_FILTERS = 32
# BatchNorm of the TF-slim releases and keras.applications (Keras's default momentum in V1).
V1_BATCH_NORM = {"epsilon": 1e-3, "momentum": 0.99}
V2_BATCH_NORM = {"epsilon": 1e-3, "momentum": 0.999}
MIN_SIZE = 32  # five stride-2 layers


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never more than 10% down.

    Hardware-friendly channel counts for MobileNetV2 (TF-slim's ``_make_divisible``).
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def depthwise_bn_act(x, *, strides: int = 1, batch_norm: dict, name: str):
    """3x3 depthwise conv (one filter per channel, no bias) -> BatchNorm -> ReLU6.

    ``batch_norm``: BatchNorm's ``epsilon`` and ``momentum``.
    Layer names: ``{name}_conv``, ``{name}_bn``, ``{name}_relu6``.
    """
    x = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(**batch_norm, name=f"{name}_bn")(x)
    return layers.Activation("relu6", name=f"{name}_relu6")(x)


def depthwise_separable_block(x, filters: int, *, strides: int = 1, name: str):
    """MobileNetV1 block (paper Figure 3): 3x3 depthwise -> 1x1 pointwise, each with BN and ReLU6.

    Layers ``{name}_dw_*`` and ``{name}_pw_*``.
    """
    x = depthwise_bn_act(x, strides=strides, batch_norm=V1_BATCH_NORM, name=f"{name}_dw")
    return conv_bn_act(x, filters, 1, activation="relu6", **V1_BATCH_NORM, name=f"{name}_pw")


def inverted_residual_block(x, expansion: int, filters: int, *, strides: int = 1, name: str):
    """MobileNetV2 bottleneck (paper Table 1): expand 1x1 -> depthwise 3x3 -> linear project 1x1.

    The 1x1 expansion to ``expansion * C_in`` channels is skipped when
    ``expansion == 1``; the projection has no activation (a *linear* bottleneck);
    a residual ``{name}_add`` joins input and output when their shapes match.
    """
    inputs = x
    if expansion != 1:
        x = conv_bn_act(x, expansion * x.shape[-1], 1, activation="relu6", **V2_BATCH_NORM, name=f"{name}_expand")
    x = depthwise_bn_act(x, strides=strides, batch_norm=V2_BATCH_NORM, name=f"{name}_dw")
    x = conv_bn_act(x, filters, 1, activation=None, **V2_BATCH_NORM, name=f"{name}_project")
    if strides == 1 and inputs.shape[-1] == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


def mobilenet_v1(
    alpha: float = 1.0,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str = "mobilenet_v1",
    weights: str | None = None,
) -> keras.Model:
    """Instantiates MobileNetV1 (Howard et al. 2017, Table 1).

    Reference:
        Howard et al., "MobileNets: Efficient Convolutional Neural Networks for
        Mobile Vision Applications", arXiv 2017.

    Trainable parameters at 1000 classes: 4,231,976 (alpha 1.0), 2,585,560 (0.75),
    1,331,592 (0.5), 470,072 (0.25), at any resolution. Multiply-adds at 224:
    569 M, 325 M, 149 M, 41 M; at alpha 1.0 and 192/160/128: 418/290/186 M.

    Args:
        alpha: width multiplier, one of 0.25, 0.5, 0.75, 1.0 (the paper's).
        include_top: whether to include the classification head (global average
            pooling, dropout 1e-3, ``predictions``).
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``; any
            size of at least 32x32 (the paper's resolution multiplier: 192, 160, 128).
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name.
        weights: ``None`` (random initialisation) or ``"imagenet"``: keras.applications'
            ImageNet weights, downloaded on first use and transferred into this model
            (:mod:`kerascnn.models.transfer`; needs ``classes=1000`` with the top).

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_choice("alpha", alpha, V1_ALPHAS)
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), MIN_SIZE, name)

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv_bn_act(
        inputs, int(STEM_FILTERS * alpha), 3, strides=2, activation="relu6", **V1_BATCH_NORM, name="conv1"
    )
    for i, (filters, strides) in enumerate(V1_ARCH, start=1):
        x = depthwise_separable_block(x, int(filters * alpha), strides=strides, name=f"block{i}")
    x = classifier(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=V1_DROPOUT,
    )
    model = keras.Model(inputs, x, name=name)
    return apply_weights(
        model, "mobilenet_v1", weights, include_top=include_top, pooling=pooling, classes=classes, alpha=alpha
    )


def mobilenet_v2(
    alpha: float = 1.0,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str = "mobilenet_v2",
    weights: str | None = None,
) -> keras.Model:
    """Instantiates MobileNetV2 (Sandler et al. 2018, Table 2).

    Reference:
        Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
        CVPR 2018.

    Channel counts are ``alpha`` times the paper's, rounded to multiples of 8; the
    last 1x1 convolution keeps 1280 channels unless ``alpha > 1``. Trainable
    parameters at 1.0 and 1000 classes: 3,504,872 (about 300 M multiply-adds at 224).

    Args:
        alpha: width multiplier, one of 0.35, 0.5, 0.75, 1.0, 1.3, 1.4.
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            any size of at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name.
        weights: ``None`` (random initialisation) or ``"imagenet"``: keras.applications'
            ImageNet weights, downloaded on first use and transferred into this model
            (:mod:`kerascnn.models.transfer`; needs ``classes=1000`` with the top).

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_choice("alpha", alpha, V2_ALPHAS)
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), MIN_SIZE, name)

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv_bn_act(
        inputs, make_divisible(STEM_FILTERS * alpha), 3, strides=2, activation="relu6", **V2_BATCH_NORM, name="conv1"
    )
    block = 1
    for expansion, channels, repeats, first_stride in V2_ARCH:
        for i in range(repeats):
            strides = first_stride if i == 0 else 1
            filters = make_divisible(int(channels * alpha))
            x = inverted_residual_block(x, expansion, filters, strides=strides, name=f"block{block}")
            block += 1
    last_filters = make_divisible(V2_LAST_FILTERS * alpha) if alpha > 1.0 else V2_LAST_FILTERS
    x = conv_bn_act(x, last_filters, 1, activation="relu6", **V2_BATCH_NORM, name="top")
    x = classifier(
        x, include_top=include_top, pooling=pooling, classes=classes, classifier_activation=classifier_activation
    )
    model = keras.Model(inputs, x, name=name)
    return apply_weights(
        model, "mobilenet_v2", weights, include_top=include_top, pooling=pooling, classes=classes, alpha=alpha
    )


register(
    "mobilenet_v1",
    mobilenet_v1,
    family="MobileNet",
    paper="Howard et al., MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
    year=2017,
    default_input_shape=(224, 224, 3),
    description="depthwise separable convolutions, width multiplier alpha, any resolution",
)
register(
    "mobilenet_v2",
    mobilenet_v2,
    family="MobileNet",
    paper="Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks",
    year=2018,
    default_input_shape=(224, 224, 3),
    description="inverted residual blocks with linear bottlenecks, width multiplier alpha",
)
