"""Building blocks shared by the 3D families (``voxnet``, ``c3d``, ``r3d``): clips and volumes, channels-last.

The 2D helpers of :mod:`kerascnn.models.common` with 3D layers: conv-BN-activation
and the ``keras.applications``-style head over ``(D, H, W, C)`` feature maps.
"""

from __future__ import annotations

from keras import layers

from kerascnn.models.common import BN_EPSILON


def conv3d_bn(x, filters: int, kernel_size, *, strides=1, activation: str | None = "relu", name: str):
    """Conv3D (no bias) -> BatchNorm -> optional activation: ``{name}_conv``, ``{name}_bn``, ``{name}_{act}``."""
    x = layers.Conv3D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    if activation:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def volume_pooling(x, pooling):
    """Without a classifier: global 3D average (``"avg"``) or max (``"max"``) pooling, or the map itself."""
    if pooling == "avg":
        return layers.GlobalAveragePooling3D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling3D(name="max_pool")(x)
    return x


def volume_head(x, *, include_top: bool, pooling, classes: int, classifier_activation, dropout: float = 0.0):
    """Global 3D average pooling + ``Dense(classes)`` named ``predictions`` (or :func:`volume_pooling`)."""
    if not include_top:
        return volume_pooling(x, pooling)
    x = layers.GlobalAveragePooling3D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
