"""FaceNet NN1 (Schroff, Kalenichenko & Philbin, 2015): a face embedding network.

NN1 is the Zeiler & Fergus-based network of the paper's Table 1: ZFNet-style
convolutions with 1x1 "a" convolutions between them (as in Network in Network),
two fully connected layers with maxout (p=2), a 128-d linear layer and L2
normalisation, so faces are points on the unit hypersphere and are compared by
squared Euclidean distance (trained with the triplet loss).

Reference:
    F. Schroff, D. Kalenichenko, J. Philbin. "FaceNet: A Unified Embedding for
    Face Recognition and Clustering." CVPR 2015 (arXiv:1503.03832).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("facenet_nn1",)

import keras
from keras import layers

from kerascnn.nn.layers import L2Normalize, LocalResponseNormalization, Maxout
from kerascnn.models import register
from kerascnn.models.common import POOLINGS, check_choice, check_positive, classifier, resolve_input_shape

# Table 1 after the 7x7/2 conv1 and pool1: (name, #1x1 "a" filters, #3x3 filters, pool after).
# 220 -> conv1 110 -> pool1 55 -> pool2 28 -> pool3 14 -> pool4 7.
NN1_CONVS = (
    ("conv2", 64, 192, "pool2"),
    ("conv3", 192, 384, "pool3"),
    ("conv4", 384, 256, None),
    ("conv5", 256, 256, None),
    ("conv6", 256, 256, "pool4"),
)
MAXOUT_UNITS = 4096  # "1x32x128" in Table 1
MAXOUT_PIECES = 2
# Every layer is "same"-padded: five stride-2 stages reduce 32x32 to 1x1.
MIN_SIZE = 32


def facenet_nn1(
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    embedding_dim: int = 128,
    lrn: bool = False,
    name: str = "facenet_nn1",
) -> keras.Model:
    """Instantiates FaceNet NN1, returning L2-normalised embeddings.

    Reference:
        Schroff, Kalenichenko, Philbin, "FaceNet: A Unified Embedding for Face
        Recognition and Clustering", CVPR 2015, Table 1.

    On the paper's 220x220x3 input: 140,025,664 trainable parameters (Table 1:
    140M), of which fc1 (12,544 x 8,192, maxout to 4,096) holds 103M. Layers
    keep the table's names: ``conv1``, ``pool1``, ``rnorm1``, ``conv2a``,
    ``conv2``, ... ``pool4``, ``fc1``, ``fc2``, ``fc7128``, ``l2``.

    Args:
        include_top: whether to include the maxout layers, the embedding layer
            and the L2 normalisation. Without it the model ends at ``pool4``.
            The embedding layer is named ``fc7{embedding_dim}`` (``fc7128``).
        input_shape: ``(height, width, channels)``, default ``(220, 220, 3)``;
            at least 32x32.
        pooling: global pooling of the ``pool4`` map when ``include_top=False``:
            ``None``, ``"avg"`` or ``"max"``.
        embedding_dim: size of the embedding (the paper's 128).
        lrn: the table's response normalisation (``rnorm1`` after pool1,
            ``rnorm2`` after conv2).
        name: model name.

    Returns:
        A ``keras.Model`` mapping images to unit-norm ``embedding_dim`` vectors.
    """
    check_choice("pooling", pooling, POOLINGS)
    check_positive("embedding_dim", embedding_dim, int)
    check_choice("lrn", lrn, (False, True))
    input_shape = resolve_input_shape(input_shape, (220, 220, 3), MIN_SIZE, "FaceNet NN1")

    def conv(x, filters, kernel_size, name, strides=1):
        return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", activation="relu", name=name)(x)

    def max_pool(x, name):
        return layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv(inputs, 64, 7, "conv1", strides=2)
    x = max_pool(x, "pool1")
    if lrn:
        x = LocalResponseNormalization(name="rnorm1")(x)
    for block, reduce_filters, filters, pool in NN1_CONVS:
        x = conv(x, reduce_filters, 1, f"{block}a")
        x = conv(x, filters, 3, block)
        if lrn and block == "conv2":
            x = LocalResponseNormalization(name="rnorm2")(x)
        if pool:
            x = max_pool(x, pool)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        for fc in ("fc1", "fc2"):
            x = layers.Dense(MAXOUT_UNITS * MAXOUT_PIECES, name=fc)(x)
            x = Maxout(MAXOUT_PIECES, name=f"{fc}_maxout")(x)
        x = layers.Dense(embedding_dim, name=f"fc7{embedding_dim}")(x)
        x = L2Normalize(name="l2")(x)
    else:
        x = classifier(x, include_top=False, pooling=pooling, classes=1, classifier_activation=None)
    return keras.Model(inputs, x, name=name)


register(
    "facenet_nn1",
    facenet_nn1,
    family="FaceNet",
    paper="Schroff et al., FaceNet: A Unified Embedding for Face Recognition and Clustering",
    year=2015,
    default_input_shape=(220, 220, 3),
    task="embedding",
    description="Zeiler&Fergus-based with 1x1 convs, maxout FC layers, L2-normalised 128-d embedding",
)
