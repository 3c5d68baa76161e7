"""VoxNet: a 3D CNN on 32x32x32 occupancy grids (Maturana & Scherer 2015).

Reference:
    Maturana, Scherer. "VoxNet: A 3D Convolutional Neural Network for Real-Time
    Object Recognition." IROS 2015.

The paper's network, ``C(32, 5, 2) - C(32, 3, 1) - P(2) - FC(128) - FC(K)``, with
leaky ReLU (0.1) and dropout 0.2 / 0.3 / 0.4 after conv1, the pooling and fc1.
On a 32^3 grid the shapes are 32 -> 14 -> 12 -> 6, so fc1 sees 6*6*6*32 = 6,912
values; with 10 classes the network has 917,866 parameters (ModelNet10 ~92 %).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("voxnet",)

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.common import check_head_args, check_positive, resolve_input_shape
from kerascnn.models.common3d import volume_pooling

DEFAULT_INPUT_SHAPE = (32, 32, 32, 1)
LEAK = 0.1
#: Smallest grid side the two valid convolutions and the pooling leave non-empty.
MIN_SIZE = 10


def voxnet(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 10,
    classifier_activation="softmax",
    filters: int = 32,
    fc_units: int = 128,
    name: str = "voxnet",
) -> keras.Model:
    """VoxNet (Maturana & Scherer 2015).

    Args:
        input_shape: ``(depth, height, width, channels)`` occupancy grid; default ``(32, 32, 32, 1)``.
        filters: channels of both convolutions (paper 32).
        fc_units: width of the hidden fully connected layer (paper 128).
        include_top, pooling, classes, classifier_activation: as in ``keras.applications``
            (``pooling`` applies without the top; with it the pooled map is flattened).
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_positive("filters", filters, int)
    check_positive("fc_units", fc_units, int)
    shape = resolve_input_shape(input_shape, DEFAULT_INPUT_SHAPE, MIN_SIZE, "voxnet")
    inputs = keras.Input(shape=shape, name="grid")
    x = layers.Conv3D(filters, 5, strides=2, name="conv1")(inputs)
    x = layers.LeakyReLU(LEAK, name="conv1_leaky_relu")(x)
    x = layers.Dropout(0.2, name="conv1_dropout")(x)
    x = layers.Conv3D(filters, 3, name="conv2")(x)
    x = layers.LeakyReLU(LEAK, name="conv2_leaky_relu")(x)
    x = layers.MaxPooling3D(2, name="pool")(x)
    x = layers.Dropout(0.3, name="pool_dropout")(x)
    if not include_top:
        return keras.Model(inputs, volume_pooling(x, pooling), name=name)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(fc_units, name="fc1")(x)
    x = layers.LeakyReLU(LEAK, name="fc1_leaky_relu")(x)
    x = layers.Dropout(0.4, name="fc1_dropout")(x)
    outputs = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


register(
    "voxnet",
    voxnet,
    family="VoxNet",
    paper="Maturana & Scherer, VoxNet: A 3D Convolutional Neural Network for Real-Time Object Recognition",
    year=2015,
    default_input_shape=DEFAULT_INPUT_SHAPE,
    task="volume",
    description="two 3D convolutions on a 32^3 occupancy grid",
)
