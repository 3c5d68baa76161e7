"""SE-ResNet (Hu et al. 2018): ResNet blocks that reweight their channels.

Reference:
    Hu, Shen, Sun. "Squeeze-and-Excitation Networks." CVPR 2018 (arXiv:1709.01507).

A squeeze-and-excitation unit summarises each channel of a residual branch by
global average pooling (squeeze), passes the vector through a bottleneck MLP
``C -> C/r -> C`` ending in a sigmoid (excitation), and scales the channels by
the result. SE-ResNet is :func:`kerascnn.models.resnet.resnet` with this unit
applied to every block's residual branch before the addition (paper Figure 3).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("se_resnet50",)

from functools import partial

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.common import check_positive
from kerascnn.models.resnet import resnet


def squeeze_excite(x, *, ratio: int = 16, name: str):
    """Scale the channels of ``x`` by ``sigmoid(W2 relu(W1 avgpool(x))))``.

    The two fully connected layers are 1x1 convolutions on the pooled 1x1 map
    (with biases, as in the paper). Layers: ``{name}_se_squeeze``, ``{name}_se_reduce``,
    ``{name}_se_expand``, ``{name}_se_excite``.

    Args:
        x: 4D tensor with ``C`` channels.
        ratio: reduction ratio ``r`` of the bottleneck (``C // r`` hidden units).
        name: prefix of the layer names.
    """
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_se_squeeze")(x)
    s = layers.Conv2D(max(1, channels // ratio), 1, activation="relu", name=f"{name}_se_reduce")(s)
    s = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_se_expand")(s)
    return layers.Multiply(name=f"{name}_se_excite")([x, s])


def se_resnet(
    depth: int = 50,
    *,
    ratio: int = 16,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
) -> keras.Model:
    """Instantiates SE-ResNet (Hu et al. 2018, Table 1).

    Reference:
        Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018.

    SE-ResNet-50: 28,088,024 trainable parameters at 1000 classes (paper: 28.09 M,
    ResNet-50 + 10%).

    Args:
        depth: 18, 34, 50, 101 or 152, as for :func:`kerascnn.models.resnet.resnet`.
        ratio: reduction ratio of the SE bottleneck (the paper's ``r = 16``).
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"se_resnet{depth}"``.

    Returns:
        A ``keras.Model``.
    """
    check_positive("ratio", ratio, int)
    return resnet(
        depth,
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"se_resnet{depth}",
        block_hook=partial(squeeze_excite, ratio=ratio),
    )


register(
    "se_resnet50",
    se_resnet,
    family="SENet",
    paper="Hu et al., Squeeze-and-Excitation Networks",
    year=2018,
    default_input_shape=(224, 224, 3),
    description="ResNet-50 with a squeeze-and-excitation unit (r=16) in every block",
    depth=50,
)
