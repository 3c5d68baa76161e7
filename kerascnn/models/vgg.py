"""VGG-11/13/16/19 (Simonyan & Zisserman, 2015): only 3x3 convolutions.

Five blocks of 3x3 "same" convolutions, each followed by a 2x2 max pool, then
AlexNet's fully connected head (:func:`kerascnn.models.alexnet.fc_head`). The
depths are the paper's configurations A, B, D and E (Table 1); ``batch_norm=True``
gives the later VGG-BN variant (conv without bias -> BatchNorm -> ReLU).

Reference:
    K. Simonyan, A. Zisserman. "Very Deep Convolutional Networks for Large-Scale
    Image Recognition." ICLR 2015 (arXiv:1409.1556, 2014).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("vgg11", "vgg13", "vgg16", "vgg19")

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.alexnet import fc_head
from kerascnn.models.common import check_choice, check_head_args, check_rate, conv_bn_act, resolve_input_shape
from kerascnn.models.transfer import apply_weights

# Convolutions per block for each depth (Table 1 of the paper, configurations A, B, D, E).
BLOCK_CONVS = {
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}
BLOCK_FILTERS = (64, 128, 256, 512, 512)
MIN_SIZE = 32  # five 2x2 max pools: 32 -> 1


def vgg(
    depth: int,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    batch_norm: bool = False,
    dropout: float = 0.5,
    name: str | None = None,
    weights: str | None = None,
) -> keras.Model:
    """Instantiates a VGG network (registered as ``vgg11``, ``vgg13``, ``vgg16``, ``vgg19``).

    Reference:
        Simonyan, Zisserman, "Very Deep Convolutional Networks for Large-Scale
        Image Recognition", ICLR 2015.

    Trainable parameters at 224x224x3 and 1000 classes: VGG-11 132,863,336,
    VGG-13 133,047,848, VGG-16 138,357,544, VGG-19 143,667,240. Layers are named
    like ``keras.applications``: ``block1_conv1`` ... ``block5_pool``, then
    ``fc6``, ``fc7``, ``predictions``.

    Args:
        depth: 11, 13, 16 or 19 weight layers.
        include_top: whether to include the three fully connected layers.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: global pooling of the ``block5_pool`` map when
            ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of output classes.
        classifier_activation: activation of the output layer (``None`` for logits).
        batch_norm: conv (no bias) -> BatchNorm -> ReLU in every conv layer;
            layers are then ``block1_conv1_conv``, ``block1_conv1_bn``,
            ``block1_conv1_relu``.
        dropout: dropout rate after fc6 and fc7 (the paper's 0.5).
        name: model name, default ``vgg{depth}`` (``vgg{depth}_bn`` with batch norm).
        weights: ``None`` (random initialisation) or ``"imagenet"``: keras.applications'
            ImageNet weights, downloaded on first use and transferred into this model
            (:mod:`kerascnn.models.transfer`; needs ``classes=1000`` with the top).

    Returns:
        A ``keras.Model``.
    """
    check_choice("depth", depth, BLOCK_CONVS)
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_choice("batch_norm", batch_norm, (False, True))
    check_rate("dropout", dropout)
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), MIN_SIZE, f"VGG-{depth}")

    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    for block, (convs, filters) in enumerate(zip(BLOCK_CONVS[depth], BLOCK_FILTERS), start=1):
        for index in range(1, convs + 1):
            layer_name = f"block{block}_conv{index}"
            if batch_norm:
                x = conv_bn_act(x, filters, 3, name=layer_name)
            else:
                x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=layer_name)(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    x = fc_head(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
    )
    zoo_name = f"vgg{depth}{'_bn' if batch_norm else ''}"
    model = keras.Model(inputs, x, name=name or zoo_name)
    return apply_weights(model, zoo_name, weights, include_top=include_top, pooling=pooling, classes=classes)


_CONFIGURATION = {11: "A", 13: "B", 16: "D", 19: "E"}
for _depth in BLOCK_CONVS:
    register(
        f"vgg{_depth}",
        vgg,
        family="VGG",
        paper="Simonyan & Zisserman, Very Deep Convolutional Networks for Large-Scale Image Recognition",
        year=2014,
        default_input_shape=(224, 224, 3),
        description=f"configuration {_CONFIGURATION[_depth]}: {sum(BLOCK_CONVS[_depth])} 3x3 convs + 3 FC",
        depth=_depth,
    )
