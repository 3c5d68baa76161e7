"""C3D: 3x3x3 convolutions over 16-frame clips (Tran et al. 2015).

Reference:
    Tran, Bourdev, Fergus, Torresani, Paluri. "Learning Spatiotemporal Features
    with 3D Convolutional Networks." ICCV 2015 (arXiv:1412.0767).

The paper's network on 16x112x112x3 clips: eight 3x3x3 convolutions (stride 1,
same padding) in five groups, ``conv1a 64 | pool1 | conv2a 128 | pool2 | conv3a,b
256 | pool3 | conv4a,b 512 | pool4 | conv5a,b 512 | pool5 | fc6 4096 | fc7 4096 |
fc8``. pool1 is 1x2x2 (keeps the early temporal signal), the others 2x2x2, so the
maps are 16x56x56, 8x28x28, 4x14x14, 2x7x7 and, after pool5 (padded), 1x4x4x512 =
8,192 values into fc6. Paper widths: ``width=64, fc_units=4096``.

The zoo default is the same architecture at 1/16 of the widths and a 256-unit
head (``width=4, fc_units=256``), so that ``kerascnn train c3d --dataset moving_mnist``
trains on a laptop CPU. Clip length and frame size follow ``input_shape``.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("c3d",)

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.common import check_head_args, check_positive, check_rate, resolve_input_shape
from kerascnn.models.common3d import volume_pooling

#: (group name, convolutions, filters as multiples of ``width``, pooling window) as in the paper.
GROUPS = (
    ("1", 1, 1, (1, 2, 2)),
    ("2", 1, 2, (2, 2, 2)),
    ("3", 2, 4, (2, 2, 2)),
    ("4", 2, 8, (2, 2, 2)),
    ("5", 2, 8, (2, 2, 2)),
)
PAPER_INPUT_SHAPE = (16, 112, 112, 3)
PAPER_WIDTH, PAPER_FC_UNITS = 64, 4096
DEFAULT_INPUT_SHAPE = PAPER_INPUT_SHAPE


def c3d(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 487,
    classifier_activation="softmax",
    width: int = 4,
    fc_units: int = 256,
    dropout: float = 0.5,
    name: str = "c3d",
) -> keras.Model:
    """C3D (Tran et al. 2015).

    Args:
        input_shape: ``(frames, height, width, channels)``; default ``(16, 112, 112, 3)``.
        width: filters of conv1a; the groups have 1, 2, 4, 8, 8 times as many (paper 64).
        fc_units: width of fc6 and fc7 (paper 4096).
        dropout: after fc6 and fc7 (paper 0.5).
        classes: 487 as in the paper's Sports-1M.
        include_top, pooling, classifier_activation: as in ``keras.applications``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_positive("width", width, int)
    check_positive("fc_units", fc_units, int)
    check_rate("dropout", dropout)
    shape = resolve_input_shape(input_shape, DEFAULT_INPUT_SHAPE, 1, "c3d")
    inputs = keras.Input(shape=shape, name="clip")
    x = inputs
    for group, convs, multiple, window in GROUPS:
        for index in range(convs):
            suffix = "ab"[index] if convs > 1 else "a"
            x = layers.Conv3D(width * multiple, 3, padding="same", activation="relu", name=f"conv{group}{suffix}")(x)
        x = layers.MaxPooling3D(window, padding="same", name=f"pool{group}")(x)
    if not include_top:
        return keras.Model(inputs, volume_pooling(x, pooling), name=name)
    x = layers.Flatten(name="flatten")(x)
    for fc in ("fc6", "fc7"):
        x = layers.Dense(fc_units, activation="relu", name=fc)(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{fc}_dropout")(x)
    outputs = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


register(
    "c3d",
    c3d,
    family="C3D",
    paper="Tran et al., Learning Spatiotemporal Features with 3D Convolutional Networks",
    year=2015,
    default_input_shape=DEFAULT_INPUT_SHAPE,
    task="volume",
    description="eight 3x3x3 convolutions over clips (zoo default: 1/16 width; paper: width=64, fc_units=4096)",
)
