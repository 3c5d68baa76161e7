"""Video ResNets: R3D-18, MC3-18 and R(2+1)D-18 (Tran et al. 2018).

Reference:
    Tran, Wang, Torresani, Ray, LeCun, Paluri. "A Closer Look at Spatiotemporal
    Convolutions for Action Recognition." CVPR 2018 (arXiv:1711.11248).

The three networks share ResNet-18's arch tuple ``((2, 64), (2, 128), (2, 256),
(2, 512))`` and differ only in the convolution a residual block uses:

=================  =================================================================
``r3d_18``         full 3x3x3 convolutions everywhere (stem 3x7x7, stride (1, 2, 2))
``mc3_18``         3x3x3 in the first stage, then 1x3x3 (no temporal extent, "mixed
                   convolutions"): time is downsampled nowhere after the stem
``r2plus1d_18``    each 3x3x3 factorised into a 1x3x3 spatial conv to ``midplanes``
                   channels, BatchNorm, ReLU, then a 3x1x1 temporal conv, with
                   ``midplanes = (in*out*3*3*3) // (in*3*3 + 3*out)`` so that the pair
                   has about the parameters of the 3x3x3 it replaces
=================  =================================================================

Inputs are channels-last clips ``(frames, height, width, channels)``; like every
zoo builder they take already-scaled values (training adds the scaling in front,
:mod:`kerascnn.tasks.volume`). Convolutions before BatchNorm have no bias, so the
trainable parameters are those torchvision counts (400 classes, 16x112x112x3):
r3d_18 33,371,472; mc3_18 11,695,440; r2plus1d_18 31,505,325.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("r3d_18", "mc3_18", "r2plus1d_18")

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.common import BN_EPSILON, check_choice, check_head_args, check_rate, resolve_input_shape
from kerascnn.models.common3d import conv3d_bn, volume_head

#: ResNet-18's stages as (blocks, filters), as in Dive into Deep Learning.
STAGES = ((2, 64), (2, 128), (2, 256), (2, 512))
DEFAULT_INPUT_SHAPE = (16, 112, 112, 3)
BLOCK_KINDS = ("3d", "mixed", "2plus1d")


def midplanes(in_channels: int, out_channels: int) -> int:
    """Width between the spatial and the temporal conv of a (2+1)D block (parameter-matched to 3x3x3)."""
    return (in_channels * out_channels * 3 * 3 * 3) // (in_channels * 3 * 3 + 3 * out_channels)


def spatiotemporal_conv(x, filters: int, *, kind: str, stride: int, mid: int, activation, name: str):
    """One block convolution + BatchNorm: 3x3x3 (``"3d"``), 1x3x3 (``"mixed"``) or (2+1)D (``"2plus1d"``)."""
    if kind == "3d":
        return conv3d_bn(x, filters, 3, strides=stride, activation=activation, name=name)
    if kind == "mixed":
        return conv3d_bn(x, filters, (1, 3, 3), strides=(1, stride, stride), activation=activation, name=name)
    x = conv3d_bn(x, mid, (1, 3, 3), strides=(1, stride, stride), name=f"{name}_spatial")
    x = layers.Conv3D(filters, (3, 1, 1), strides=(stride, 1, 1), padding="same", use_bias=False,
                      name=f"{name}_temporal_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation(activation, name=f"{name}_{activation}")(x) if activation else x


def basic_block_3d(x, filters: int, *, kind: str, stride: int, name: str):
    """ResNet basic block on clips: two convolutions of ``kind`` and a 1x1x1 projection when shapes change."""
    mid = midplanes(int(x.shape[-1]), filters)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        temporal = 1 if kind == "mixed" else stride  # mixed convolutions never downsample time
        shortcut = conv3d_bn(x, filters, 1, strides=(temporal, stride, stride), activation=None, name=f"{name}_0")
    x = spatiotemporal_conv(x, filters, kind=kind, stride=stride, mid=mid, activation="relu", name=f"{name}_1")
    x = spatiotemporal_conv(x, filters, kind=kind, stride=1, mid=mid, activation=None, name=f"{name}_2")
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def video_resnet(
    *,
    block: str,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 400,
    classifier_activation="softmax",
    dropout: float = 0.0,
    name: str | None = None,
) -> keras.Model:
    """A video ResNet-18 (R3D, MC3 or R(2+1)D, Tran et al. 2018).

    Args:
        block: ``"3d"`` (R3D), ``"mixed"`` (MC3: 3D in stage 1 only) or ``"2plus1d"``.
        input_shape: ``(frames, height, width, channels)``; default ``(16, 112, 112, 3)``.
        include_top, pooling, classes, classifier_activation: as in ``keras.applications``.
        dropout: before the classifier (0: none, as torchvision).
    """
    check_choice("block", block, BLOCK_KINDS)
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_rate("dropout", dropout)
    shape = resolve_input_shape(input_shape, DEFAULT_INPUT_SHAPE, 1, "video ResNet")
    inputs = keras.Input(shape=shape, name="clip")
    if block == "2plus1d":  # R(2+1)D stem: 1x7x7 spatial to 45 channels, then 3x1x1 temporal to 64
        x = conv3d_bn(inputs, 45, (1, 7, 7), strides=(1, 2, 2), name="conv1_spatial")
        x = conv3d_bn(x, 64, (3, 1, 1), name="conv1")
    else:
        x = conv3d_bn(inputs, 64, (3, 7, 7), strides=(1, 2, 2), name="conv1")
    for stage, (blocks, filters) in enumerate(STAGES, start=2):
        kind = "3d" if block == "mixed" and stage == 2 else block
        for index in range(1, blocks + 1):
            stride = 2 if index == 1 and stage > 2 else 1
            x = basic_block_3d(x, filters, kind=kind, stride=stride, name=f"conv{stage}_block{index}")
    outputs = volume_head(x, include_top=include_top, pooling=pooling, classes=classes,
                          classifier_activation=classifier_activation, dropout=dropout)
    return keras.Model(inputs, outputs, name=name or {"3d": "r3d_18", "mixed": "mc3_18", "2plus1d": "r2plus1d_18"}[block])


_PAPER = "Tran et al., A Closer Look at Spatiotemporal Convolutions for Action Recognition"
for _name, _block, _what in (
    ("r3d_18", "3d", "3x3x3 convolutions throughout"),
    ("mc3_18", "mixed", "3D convolutions in the first stage, 2D (1x3x3) after"),
    ("r2plus1d_18", "2plus1d", "(2+1)D: 1x3x3 spatial then 3x1x1 temporal"),
):
    register(_name, video_resnet, family="Video ResNet", paper=_PAPER, year=2018,
             default_input_shape=DEFAULT_INPUT_SHAPE, task="volume", description=_what, block=_block)
