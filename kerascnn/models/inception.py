"""GoogLeNet / Inception-v1 (Szegedy et al., 2014) and Inception-v3 (Szegedy et al., 2015).

An Inception module runs 1x1, 3x3 and 5x5 convolutions and a pooling branch
side by side and concatenates their outputs; 1x1 "reduce" convolutions keep
the 3x3 and 5x5 branches cheap. Inception-v3 factorises the large kernels
(5x5 -> two 3x3, n x n -> 1 x n then n x 1) and adds BatchNorm everywhere.

Auxiliary classifiers are optional and off by default. With ``aux_logits=True``
the model has several outputs, main first: ``[predictions, aux1_predictions,
...]``; train it with ``loss_weights=[1.0, 0.3, 0.3]`` (GoogLeNet) or
``[1.0, 0.4]`` (Inception-v3) and use the first output at inference.

References:
    C. Szegedy et al. "Going Deeper with Convolutions." CVPR 2015 (arXiv:1409.4842, 2014).
    C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens, Z. Wojna. "Rethinking the
    Inception Architecture for Computer Vision." CVPR 2016 (arXiv:1512.00567, 2015).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("googlenet", "inception_v3")

import functools

import keras
from keras import layers

from kerascnn.core.errors import UsageError
from kerascnn.nn.layers import LocalResponseNormalization
from kerascnn.models import register
from kerascnn.models.transfer import apply_weights
from kerascnn.models.common import (
    check_choice,
    check_head_args,
    check_rate,
    classifier,
    conv_bn_act,
    resolve_input_shape,
)

# GoogLeNet, Table 1 of the paper: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
GOOGLENET_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
GOOGLENET_AUX_AFTER = ("4a", "4d")
GOOGLENET_POOL_AFTER = ("3b", "4e")  # 3x3/2 max pool between stages 3-4 and 4-5
# GoogLeNet pads every layer ("same"): five stride-2 stages reduce 32x32 to 1x1.
# An auxiliary head's 5x5 average pool needs a 5x5 map after stage 4a (H/16).
GOOGLENET_MIN_SIZE = 32
GOOGLENET_AUX_MIN_SIZE = 65

# Inception-v3's valid-padded stem and reductions: 75 -> 37 -> 35 -> 17 -> 15 -> 7 -> 3 -> 1.
# Its auxiliary head (5x5/3 average pool, then a 5x5 valid conv) needs the 17x17
# map of the 299 input.
INCEPTION_V3_MIN_SIZE = 75
INCEPTION_V3_AUX_MIN_SIZE = 299


def _check_flag(arg: str, value) -> None:
    check_choice(arg, value, (False, True))


def _check_aux(aux_logits: bool, include_top: bool) -> None:
    _check_flag("aux_logits", aux_logits)
    if aux_logits and not include_top:
        raise UsageError(
            "Auxiliary classifiers need the classification top. "
            f"Received: aux_logits={aux_logits!r}, include_top={include_top!r}"
        )


# ----------------------------------------------------------------------------- GoogLeNet


def _conv(x, filters, kernel_size, *, strides=1, batch_norm: bool, name: str):
    """GoogLeNet's conv + ReLU ("same" padding); conv (no bias) + BN + ReLU with ``batch_norm``."""
    if batch_norm:
        return conv_bn_act(x, filters, kernel_size, strides=strides, name=name)
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation="relu", name=name)(x)


def inception_module(x, filters, *, batch_norm: bool, name: str):
    """The Inception module (paper Fig. 2b): 1x1 | 1x1->3x3 | 1x1->5x5 | 3x3 max pool->1x1, concatenated.

    ``filters`` is a row of Table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
    Layers are ``{name}_1x1``, ``{name}_3x3_reduce``, ... and the concatenation ``{name}_output``.
    """
    n1x1, n3x3_reduce, n3x3, n5x5_reduce, n5x5, pool_proj = filters
    branch1 = _conv(x, n1x1, 1, batch_norm=batch_norm, name=f"{name}_1x1")
    branch2 = _conv(x, n3x3_reduce, 1, batch_norm=batch_norm, name=f"{name}_3x3_reduce")
    branch2 = _conv(branch2, n3x3, 3, batch_norm=batch_norm, name=f"{name}_3x3")
    branch3 = _conv(x, n5x5_reduce, 1, batch_norm=batch_norm, name=f"{name}_5x5_reduce")
    branch3 = _conv(branch3, n5x5, 5, batch_norm=batch_norm, name=f"{name}_5x5")
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    branch4 = _conv(branch4, pool_proj, 1, batch_norm=batch_norm, name=f"{name}_pool_proj")
    return layers.Concatenate(name=f"{name}_output")([branch1, branch2, branch3, branch4])


def _googlenet_aux(x, *, classes, classifier_activation, batch_norm: bool, name: str):
    """GoogLeNet's auxiliary classifier: 5x5/3 avg pool, 1x1x128 conv, FC 1024, 70% dropout, softmax."""
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_avg_pool")(x)
    x = _conv(x, 128, 1, batch_norm=batch_norm, name=f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name=f"{name}_predictions")(x)


def googlenet(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    aux_logits: bool = False,
    batch_norm: bool = False,
    lrn: bool = False,
    dropout: float = 0.4,
    name: str = "googlenet",
) -> keras.Model:
    """Instantiates GoogLeNet (Inception-v1), Table 1 of the paper.

    Reference:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv 2014).

    Nine Inception modules (3a-5b) on a 7x7/2 conv, 3x3/2 max pool, 1x1 and
    3x3 conv stem; global average pooling, 40% dropout and one linear layer.
    On 224x224x3 with 1000 classes: 6,998,552 trainable parameters without the
    auxiliary heads (Table 1's "6.8M" counts weights only, in units of
    1,024), 13,378,280 with both.

    Args:
        include_top: whether to include the pooling, dropout and output layer.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32 (65x65 with ``aux_logits``).
        pooling: global pooling of the ``inception5b`` map when
            ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of output classes.
        classifier_activation: activation of the output layer(s) (``None`` for logits).
        aux_logits: add the two auxiliary classifiers on inception4a and
            inception4d; the model then returns
            ``[predictions, aux1_predictions, aux2_predictions]``.
        batch_norm: conv (no bias) -> BatchNorm -> ReLU everywhere (the
            "Inception-v1 with BN" of torchvision) instead of the paper's conv + ReLU.
        lrn: the paper's local response normalisation after pool1 and conv2.
        dropout: dropout rate before the output layer.
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    _check_aux(aux_logits, include_top)
    _check_flag("batch_norm", batch_norm)
    _check_flag("lrn", lrn)
    check_rate("dropout", dropout)
    min_size = GOOGLENET_AUX_MIN_SIZE if aux_logits else GOOGLENET_MIN_SIZE
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), min_size, "GoogLeNet")

    inputs = keras.Input(shape=input_shape, name="input")
    x = _conv(inputs, 64, 7, strides=2, batch_norm=batch_norm, name="conv1_7x7")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    if lrn:
        x = LocalResponseNormalization(name="norm1")(x)
    x = _conv(x, 64, 1, batch_norm=batch_norm, name="conv2_3x3_reduce")
    x = _conv(x, 192, 3, batch_norm=batch_norm, name="conv2_3x3")
    if lrn:
        x = LocalResponseNormalization(name="norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)

    aux_outputs = []
    for module, filters in GOOGLENET_MODULES.items():
        x = inception_module(x, filters, batch_norm=batch_norm, name=f"inception{module}")
        if aux_logits and module in GOOGLENET_AUX_AFTER:
            aux_outputs.append(
                _googlenet_aux(
                    x,
                    classes=classes,
                    classifier_activation=classifier_activation,
                    batch_norm=batch_norm,
                    name=f"aux{len(aux_outputs) + 1}",
                )
            )
        if module in GOOGLENET_POOL_AFTER:
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{module[0]}")(x)

    x = classifier(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
    )
    return keras.Model(inputs, [x, *aux_outputs] if aux_outputs else x, name=name)


# -------------------------------------------------------------------------- Inception-v3

# BatchNorm epsilon of TF-slim's Inception-v3, torchvision's and keras.applications'.
V3_BN_EPSILON = 1e-3
_v3_conv = functools.partial(conv_bn_act, epsilon=V3_BN_EPSILON)


def _inception_a(x, pool_filters: int, name: str):
    """35x35 module (paper Fig. 5): the 5x5 branch and a 5x5 factorised into two 3x3."""
    branch1x1 = _v3_conv(x, 64, 1, name=f"{name}_branch1x1")
    branch5x5 = _v3_conv(x, 48, 1, name=f"{name}_branch5x5_1")
    branch5x5 = _v3_conv(branch5x5, 64, 5, name=f"{name}_branch5x5_2")
    branch3x3dbl = _v3_conv(x, 64, 1, name=f"{name}_branch3x3dbl_1")
    branch3x3dbl = _v3_conv(branch3x3dbl, 96, 3, name=f"{name}_branch3x3dbl_2")
    branch3x3dbl = _v3_conv(branch3x3dbl, 96, 3, name=f"{name}_branch3x3dbl_3")
    branch_pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_branch_pool_avg")(x)
    branch_pool = _v3_conv(branch_pool, pool_filters, 1, name=f"{name}_branch_pool")
    return layers.Concatenate(name=name)([branch1x1, branch5x5, branch3x3dbl, branch_pool])


def _inception_b(x, name: str):
    """35 -> 17 grid reduction (paper Fig. 10): stride-2 conv branches beside a max pool."""
    branch3x3 = _v3_conv(x, 384, 3, strides=2, padding="valid", name=f"{name}_branch3x3")
    branch3x3dbl = _v3_conv(x, 64, 1, name=f"{name}_branch3x3dbl_1")
    branch3x3dbl = _v3_conv(branch3x3dbl, 96, 3, name=f"{name}_branch3x3dbl_2")
    branch3x3dbl = _v3_conv(branch3x3dbl, 96, 3, strides=2, padding="valid", name=f"{name}_branch3x3dbl_3")
    branch_pool = layers.MaxPooling2D(3, strides=2, name=f"{name}_branch_pool")(x)
    return layers.Concatenate(name=name)([branch3x3, branch3x3dbl, branch_pool])


def _inception_c(x, channels_7x7: int, name: str):
    """17x17 module (paper Fig. 6): 7x7 convolutions factorised into 1x7 and 7x1."""
    c7 = channels_7x7
    branch1x1 = _v3_conv(x, 192, 1, name=f"{name}_branch1x1")
    branch7x7 = _v3_conv(x, c7, 1, name=f"{name}_branch7x7_1")
    branch7x7 = _v3_conv(branch7x7, c7, (1, 7), name=f"{name}_branch7x7_2")
    branch7x7 = _v3_conv(branch7x7, 192, (7, 1), name=f"{name}_branch7x7_3")
    branch7x7dbl = _v3_conv(x, c7, 1, name=f"{name}_branch7x7dbl_1")
    for index, (filters, kernel) in enumerate(((c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7))), start=2):
        branch7x7dbl = _v3_conv(branch7x7dbl, filters, kernel, name=f"{name}_branch7x7dbl_{index}")
    branch_pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_branch_pool_avg")(x)
    branch_pool = _v3_conv(branch_pool, 192, 1, name=f"{name}_branch_pool")
    return layers.Concatenate(name=name)([branch1x1, branch7x7, branch7x7dbl, branch_pool])


def _inception_d(x, name: str):
    """17 -> 8 grid reduction."""
    branch3x3 = _v3_conv(x, 192, 1, name=f"{name}_branch3x3_1")
    branch3x3 = _v3_conv(branch3x3, 320, 3, strides=2, padding="valid", name=f"{name}_branch3x3_2")
    branch7x7x3 = _v3_conv(x, 192, 1, name=f"{name}_branch7x7x3_1")
    branch7x7x3 = _v3_conv(branch7x7x3, 192, (1, 7), name=f"{name}_branch7x7x3_2")
    branch7x7x3 = _v3_conv(branch7x7x3, 192, (7, 1), name=f"{name}_branch7x7x3_3")
    branch7x7x3 = _v3_conv(branch7x7x3, 192, 3, strides=2, padding="valid", name=f"{name}_branch7x7x3_4")
    branch_pool = layers.MaxPooling2D(3, strides=2, name=f"{name}_branch_pool")(x)
    return layers.Concatenate(name=name)([branch3x3, branch7x7x3, branch_pool])


def _split_1x3_3x1(x, name: str):
    """The expanded filter bank of paper Fig. 7: parallel 1x3 and 3x1 convolutions, concatenated."""
    left = _v3_conv(x, 384, (1, 3), name=f"{name}a")
    right = _v3_conv(x, 384, (3, 1), name=f"{name}b")
    return layers.Concatenate(name=name)([left, right])


def _inception_e(x, name: str):
    """8x8 module (paper Fig. 7): 3x3 convolutions split into parallel 1x3 and 3x1."""
    branch1x1 = _v3_conv(x, 320, 1, name=f"{name}_branch1x1")
    branch3x3 = _v3_conv(x, 384, 1, name=f"{name}_branch3x3_1")
    branch3x3 = _split_1x3_3x1(branch3x3, name=f"{name}_branch3x3_2")
    branch3x3dbl = _v3_conv(x, 448, 1, name=f"{name}_branch3x3dbl_1")
    branch3x3dbl = _v3_conv(branch3x3dbl, 384, 3, name=f"{name}_branch3x3dbl_2")
    branch3x3dbl = _split_1x3_3x1(branch3x3dbl, name=f"{name}_branch3x3dbl_3")
    branch_pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_branch_pool_avg")(x)
    branch_pool = _v3_conv(branch_pool, 192, 1, name=f"{name}_branch_pool")
    return layers.Concatenate(name=name)([branch1x1, branch3x3, branch3x3dbl, branch_pool])


def _inception_v3_aux(x, *, classes, classifier_activation):
    """Inception-v3's auxiliary classifier on the 17x17 grid (with BatchNorm, paper section 7)."""
    x = layers.AveragePooling2D(5, strides=3, name="aux_avg_pool")(x)
    x = _v3_conv(x, 128, 1, name="aux_conv0")
    x = _v3_conv(x, 768, 5, padding="valid", name="aux_conv1")
    x = layers.GlobalAveragePooling2D(name="aux_gap")(x)
    return layers.Dense(classes, activation=classifier_activation, name="aux_predictions")(x)


def inception_v3(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    aux_logits: bool = False,
    dropout: float = 0.2,
    name: str = "inception_v3",
    weights: str | None = None,
) -> keras.Model:
    """Instantiates Inception-v3.

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer
        Vision", CVPR 2016 (arXiv 2015).

    The layout of ``keras.applications.InceptionV3`` and torchvision's
    ``inception_v3`` (blocks ``mixed5b`` ... ``mixed7c``, named after
    torchvision's), every conv followed by BatchNorm (with scale) and ReLU.
    On 299x299x3 with 1000 classes: 23,834,568 trainable parameters without
    the auxiliary head, as torchvision's model (Keras's own BatchNorm drops
    the scale: 23,817,352), and 27,161,264 with it.

    Args:
        include_top: whether to include the pooling, dropout and output layer.
        input_shape: ``(height, width, channels)``, default ``(299, 299, 3)``;
            at least 75x75 (299x299 with ``aux_logits``).
        pooling: global pooling of the ``mixed7c`` map when ``include_top=False``:
            ``None``, ``"avg"`` or ``"max"``.
        classes: number of output classes.
        classifier_activation: activation of the output layer(s) (``None`` for logits).
        aux_logits: add the auxiliary classifier on ``mixed6e``; the model then
            returns ``[predictions, aux_predictions]``.
        dropout: dropout rate before the output layer (0.2, TF-Slim's keep
            probability of 0.8).
        name: model name.
        weights: ``None`` (random initialisation) or ``"imagenet"``: keras.applications'
            ImageNet weights, downloaded on first use and transferred into this model
            (:mod:`kerascnn.models.transfer`; needs ``classes=1000`` with the top).

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    _check_aux(aux_logits, include_top)
    check_rate("dropout", dropout)
    min_size = INCEPTION_V3_AUX_MIN_SIZE if aux_logits else INCEPTION_V3_MIN_SIZE
    input_shape = resolve_input_shape(input_shape, (299, 299, 3), min_size, "Inception-v3")

    inputs = keras.Input(shape=input_shape, name="input")
    x = _v3_conv(inputs, 32, 3, strides=2, padding="valid", name="conv1a")
    x = _v3_conv(x, 32, 3, padding="valid", name="conv2a")
    x = _v3_conv(x, 64, 3, name="conv2b")
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = _v3_conv(x, 80, 1, padding="valid", name="conv3b")
    x = _v3_conv(x, 192, 3, padding="valid", name="conv4a")
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)

    for block, pool_filters in (("5b", 32), ("5c", 64), ("5d", 64)):
        x = _inception_a(x, pool_filters, name=f"mixed{block}")
    x = _inception_b(x, name="mixed6a")
    for block, channels_7x7 in (("6b", 128), ("6c", 160), ("6d", 160), ("6e", 192)):
        x = _inception_c(x, channels_7x7, name=f"mixed{block}")
    aux = _inception_v3_aux(x, classes=classes, classifier_activation=classifier_activation) if aux_logits else None
    x = _inception_d(x, name="mixed7a")
    x = _inception_e(x, name="mixed7b")
    x = _inception_e(x, name="mixed7c")

    x = classifier(
        x,
        include_top=include_top,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        dropout=dropout,
    )
    model = keras.Model(inputs, [x, aux] if aux_logits else x, name=name)
    zoo_name = "inception_v3_aux" if aux_logits else "inception_v3"  # keras.applications has no auxiliary head
    return apply_weights(model, zoo_name, weights, include_top=include_top, pooling=pooling, classes=classes)


register(
    "googlenet",
    googlenet,
    family="Inception",
    paper="Szegedy et al., Going Deeper with Convolutions",
    year=2014,
    default_input_shape=(224, 224, 3),
    description="nine Inception modules, 1x1 reductions, global average pooling",
)
register(
    "inception_v3",
    inception_v3,
    family="Inception",
    paper="Szegedy et al., Rethinking the Inception Architecture for Computer Vision",
    year=2015,
    default_input_shape=(299, 299, 3),
    description="factorised convolutions (two 3x3, 1xn + nx1), BatchNorm, grid reductions",
)
