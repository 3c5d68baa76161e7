"""Network in Network (Lin, Chen & Yan, 2014): mlpconv blocks and a global average pooling head.

An *mlpconv* block is a convolution followed by two 1x1 convolutions, a small
multilayer perceptron slid over the image (the paper's "cascaded cross channel
parametric pooling", hence the Caffe layer names ``cccp``). There is no fully
connected layer: the last mlpconv produces one feature map per class and global
average pooling turns each map into that class's score.

This is the authors' ImageNet model (Caffe model zoo "NIN-ImageNet", the
AlexNet-sized layout the paper's CIFAR experiments scale down): mlpconv blocks
96-256-384 with 11x11/4, 5x5 and 3x3 kernels and 3x3/2 max pooling, dropout,
then a 1024-1024-``classes`` mlpconv. The class maps are left linear (no ReLU
before global pooling) so every class score can also go negative. Dive into
Deep Learning's simplified NiN uses ``classes`` maps in all three layers of the
last block instead of 1024-1024-``classes``.

Reference:
    M. Lin, Q. Chen, S. Yan. "Network In Network." ICLR 2014 (arXiv:1312.4400).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("nin",)

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.common import check_head_args, check_rate, classifier, resolve_input_shape

# (filters, kernel, strides, padding) of the first conv of each feature block.
FEATURE_BLOCKS = ((96, 11, 4, "valid"), (256, 5, 1, "same"), (384, 3, 1, "same"))
TOP_WIDTH = 1024
# 11x11/4 conv and three valid 3x3/2 pools: 67 -> 15 -> 7 -> 3 -> 1.
MIN_SIZE = 67


def mlpconv(x, filters, kernel_size, *, strides=1, padding="same", out_filters=None, out_activation="relu", name):
    """Conv ``kernel_size`` -> 1x1 conv -> 1x1 conv (ReLU), named ``{name}_conv``, ``{name}_cccp1``, ``{name}_cccp2``.

    ``out_filters`` / ``out_activation`` set the last 1x1 conv (default: ``filters``, ReLU).
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation="relu", name=f"{name}_conv")(x)
    x = layers.Conv2D(filters, 1, activation="relu", name=f"{name}_cccp1")(x)
    return layers.Conv2D(out_filters or filters, 1, activation=out_activation, name=f"{name}_cccp2")(x)


def nin(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    dropout: float = 0.5,
    name: str = "nin",
) -> keras.Model:
    """Instantiates Network in Network (the authors' ImageNet model).

    Reference:
        Lin, Chen, Yan, "Network In Network", ICLR 2014.

    7,595,176 trainable parameters at 224x224x3 with 1000 classes, about a
    tenth of AlexNet's, because global average pooling replaces the fully
    connected layers.

    Args:
        include_top: whether to include the last mlpconv (one map per class),
            global average pooling and the softmax.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 67x67.
        pooling: global pooling of the ``pool3`` map when ``include_top=False``:
            ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes (feature maps of the last mlpconv).
        classifier_activation: activation applied to the pooled class scores
            (``None`` for logits).
        dropout: dropout rate before the last mlpconv.
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_rate("dropout", dropout)
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), MIN_SIZE, "NiN")

    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    for index, (filters, kernel, strides, padding) in enumerate(FEATURE_BLOCKS, start=1):
        x = mlpconv(x, filters, kernel, strides=strides, padding=padding, name=f"mlpconv{index}")
        x = layers.MaxPooling2D(3, strides=2, name=f"pool{index}")(x)
    if include_top:
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        x = mlpconv(x, TOP_WIDTH, 3, out_filters=classes, out_activation=None, name="mlpconv4")
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Activation(classifier_activation or "linear", name="predictions")(x)
    else:
        x = classifier(
            x, include_top=False, pooling=pooling, classes=classes, classifier_activation=classifier_activation
        )
    return keras.Model(inputs, x, name=name)


register(
    "nin",
    nin,
    family="NiN",
    paper="Lin, Chen & Yan, Network In Network",
    year=2013,
    default_input_shape=(224, 224, 3),
    description="mlpconv blocks (conv + two 1x1 convs), global average pooling instead of FC layers",
)
