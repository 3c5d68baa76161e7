"""DenseNet-121/169/201 (Huang et al. 2017): every layer sees every earlier feature map.

Reference:
    Huang, Liu, van der Maaten, Weinberger. "Densely Connected Convolutional
    Networks." CVPR 2017 (arXiv:1608.06993).

DenseNet-BC as in the paper's Table 1: a 7x7/2 stem and 3x3/2 max pooling (padded
symmetrically like the paper's Torch model and ``keras.applications``), then
four dense blocks separated by transition layers (BN-ReLU-1x1 conv halving the
channels, 2x2 average pooling). Inside a block each layer is the bottleneck
BN-ReLU-1x1 conv (``4k`` channels) -> BN-ReLU-3x3 conv (``k`` = growth rate
channels), and its output is concatenated to its input. Layer names follow
``keras.applications.densenet``: ``conv{i}_block{j}_concat`` ends layer ``j`` of
dense block ``i - 1``, ``pool{i}_pool`` ends transition ``i``.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("densenet121", "densenet169", "densenet201")

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.transfer import apply_weights
from kerascnn.models.common import (
    BN_EPSILON,
    check_choice,
    check_head_args,
    classifier,
    imagenet_stem,
    resolve_input_shape,
)

# depth -> layers per dense block (growth rate 32, 64 stem filters).
ARCHS = {
    121: (6, 12, 24, 16),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
}
GROWTH_RATE = 32
BOTTLENECK_SIZE = 4  # the 1x1 conv of a layer outputs 4 * growth_rate channels
COMPRESSION = 0.5  # transitions keep half the channels (the "C" of DenseNet-BC)
MIN_SIZE = 32  # five halvings: stem conv, stem pool, three transitions


def bn_relu_conv(x, filters: int, kernel_size: int, *, name: str):
    """Pre-activation composite function H: BN -> ReLU -> conv (no bias)."""
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    return layers.Conv2D(filters, kernel_size, padding="same", use_bias=False, name=f"{name}_conv")(x)


def conv_block(x, growth_rate: int, *, name: str):
    """One dense layer: bottleneck to ``4k`` channels, 3x3 conv to ``k``, concatenate."""
    y = bn_relu_conv(x, BOTTLENECK_SIZE * growth_rate, 1, name=f"{name}_1")
    y = bn_relu_conv(y, growth_rate, 3, name=f"{name}_2")
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def dense_block(x, blocks: int, growth_rate: int, *, name: str):
    """``blocks`` dense layers named ``{name}_block1`` .. ``{name}_block{blocks}``."""
    for i in range(1, blocks + 1):
        x = conv_block(x, growth_rate, name=f"{name}_block{i}")
    return x


def transition_block(x, reduction: float, *, name: str):
    """BN -> ReLU -> 1x1 conv to ``reduction`` of the channels -> 2x2 average pooling."""
    x = bn_relu_conv(x, int(x.shape[-1] * reduction), 1, name=name)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def densenet(
    depth: int = 121,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    weights: str | None = None,
) -> keras.Model:
    """Instantiates DenseNet-BC (Huang et al. 2017, Table 1).

    Reference:
        Huang et al., "Densely Connected Convolutional Networks", CVPR 2017.

    Trainable parameters at 1000 classes: DenseNet-121 7,978,856, -169 14,149,480,
    -201 20,013,928.

    Args:
        depth: 121, 169 or 201.
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"densenet{depth}"``.
        weights: ``None`` (random initialisation) or ``"imagenet"``: keras.applications'
            ImageNet weights, downloaded on first use and transferred into this model
            (:mod:`kerascnn.models.transfer`; needs ``classes=1000`` with the top).

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_choice("depth", depth, ARCHS)
    name = name or f"densenet{depth}"
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), MIN_SIZE, name)

    inputs = keras.Input(shape=input_shape, name="input")
    x = imagenet_stem(inputs, filters=2 * GROWTH_RATE, pool_name="pool1")
    blocks = ARCHS[depth]
    for i, n in enumerate(blocks, start=2):
        x = dense_block(x, n, GROWTH_RATE, name=f"conv{i}")
        if i < len(blocks) + 1:
            x = transition_block(x, COMPRESSION, name=f"pool{i}")
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = classifier(
        x, include_top=include_top, pooling=pooling, classes=classes, classifier_activation=classifier_activation
    )
    model = keras.Model(inputs, x, name=name)
    return apply_weights(model, f"densenet{depth}", weights, include_top=include_top, pooling=pooling, classes=classes)


for _depth, _blocks in ARCHS.items():
    register(
        f"densenet{_depth}",
        densenet,
        family="DenseNet",
        paper="Huang et al., Densely Connected Convolutional Networks",
        year=2017,
        default_input_shape=(224, 224, 3),
        description=f"DenseNet-BC, growth rate 32, dense blocks {'-'.join(map(str, _blocks))}",
        depth=_depth,
    )
