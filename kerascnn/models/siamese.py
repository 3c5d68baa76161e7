"""Siamese and triplet networks: one embedding tower, shared (Bromley et al. 1993; Koch et al. 2015).

- ``triplet``: the tower alone, ending in an L2-normalised embedding (FaceNet's
  layout, Schroff et al. 2015): image in, unit vector out. Trained with a metric
  loss (:mod:`kerascnn.nn.losses`) on batches of labelled images.
- ``siamese``: the same tower applied to two inputs (shared weights) and a pair
  head: ``"l1"`` (Koch et al.: ``sigmoid(w . |f(x1) - f(x2)| + b)``, the probability
  of "same"), ``"euclidean"`` (the distance a contrastive loss uses; never a sigmoid
  in front of a contrastive margin) or ``"chi_square"`` (DeepFace's weighted χ²).

Towers (``tower=``):

- ``"koch"``: Koch, Zemel & Salakhutdinov (2015), Omniglot 105x105x1: conv 64@10x10,
  pool, 128@7x7, pool, 128@4x4, pool, 256@4x4, a 4096-unit sigmoid layer (38.9 M
  weights at 105x105).
- ``"small"``: a CPU-friendly conv-4 (Vinyals et al. 2016 / Snell et al. 2017):
  four blocks of conv 3x3, BatchNorm, ReLU, max-pool, 64 filters; inputs of 64 px
  or more are first average-pooled to about 32 px.
- ``"wide"``: the same four blocks with 64, 128, 256, 256 filters on inputs
  average-pooled to about 26 px (105 / 4; Vinyals et al. downsample Omniglot to 28),
  and no max-pool after the last block: the global average runs over its 4x4 ReLU
  maps. The one-shot Omniglot recipe's tower (README, "One-shot Omniglot benchmark":
  each of the two changes to Vinyals' conv-4 is worth 2-3 points on unseen alphabets).
- any zoo classifier name (``"resnet18"``, ``"lenet5"`` ...): its convolutional base,
  global average pooling.
- ``"facenet_nn1"``: the FaceNet NN1 network with its own embedding layer.

Every tower ends in ``Dense(embedding_dim, name="embedding")`` and
``L2Normalize(name="l2")``, so embeddings are compared by squared L2 distance.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("siamese", "triplet")

import keras
from keras import layers

from kerascnn.core.errors import UsageError
from kerascnn.models import register
from kerascnn.models.common import check_choice, check_positive, resolve_input_shape
from kerascnn.nn.layers import L2Normalize
from kerascnn.nn.metric_layers import AbsoluteDifference, EuclideanDistance, WeightedChiSquare

BUILT_IN_TOWERS = ("small", "wide", "koch", "facenet_nn1")
HEADS = ("l1", "euclidean", "chi_square")
TOWER_NAME = "tower"
# Koch et al. Figure 4: (filters, kernel) of the four convolutions, max-pool 2x2 after the first three.
KOCH_CONVS = ((64, 10), (128, 7), (128, 4), (256, 4))
KOCH_MIN_SIZE = 65  # 105 -> 96 -> 48 -> 42 -> 21 -> 18 -> 9 -> 6; 65 is the smallest that leaves 1x1
#: Conv-4 towers: (filters of the four blocks, side the input is average-pooled down to first,
#: max-pool after the last block too).
CONV4_TOWERS = {"small": ((64, 64, 64, 64), 32, True), "wide": ((64, 128, 256, 256), 26, False)}


def small_tower_features(inputs, filters=CONV4_TOWERS["small"][0], target: int = CONV4_TOWERS["small"][1],
                         pool_last: bool = True):
    """Conv-4 of Vinyals et al. (2016): 4 x (conv 3x3, BN, ReLU, max-pool 2), global average pooling.

    Inputs at least ``2 * target`` pixels wide are first average-pooled by ``side // target``.
    ``pool_last=False`` leaves out the last block's max-pool (the average then covers its whole map).
    """
    x = inputs
    side = min(int(inputs.shape[1]), int(inputs.shape[2]))
    if side >= 2 * target:
        factor = side // target
        x = layers.AveragePooling2D(factor, name="downsample")(x)
    for block, width in enumerate(filters, start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"block{block}_bn")(x)  # few steps per epoch on small sets
        x = layers.ReLU(name=f"block{block}_relu")(x)
        if pool_last or block < len(filters):
            x = layers.MaxPooling2D(2, padding="same", name=f"block{block}_pool")(x)
    return layers.GlobalAveragePooling2D(name="avg_pool")(x)


def koch_tower_features(inputs):
    """Koch et al. (2015) Figure 4: the convolutional layers and the 4096-unit sigmoid layer."""
    x = inputs
    for k, (filters, kernel) in enumerate(KOCH_CONVS, start=1):
        x = layers.Conv2D(filters, kernel, activation="relu", name=f"conv{k}")(x)
        if k < len(KOCH_CONVS):
            x = layers.MaxPooling2D(2, name=f"pool{k}")(x)
    x = layers.Flatten(name="flatten")(x)
    return layers.Dense(4096, activation="sigmoid", name="fc")(x)


def embedding_tower(tower: str = "small", input_shape=None, embedding_dim: int = 128, name: str = TOWER_NAME,
                    members: int = 1):
    """The shared tower: image (already scaled) in, L2-normalised ``embedding_dim`` vector out.

    ``members`` > 1: an ensemble of that many towers of the same kind with their own weights
    (Dvornik, Schmid & Mairal, "Diversity with Cooperation: Ensemble Methods for Few-Shot
    Classification", ICCV 2019): their unit embeddings are concatenated and renormalised, so
    the cosine of two ensemble embeddings is the mean of the members' cosines.
    """
    check_positive("embedding_dim", embedding_dim, int)
    check_positive("members", members, int)
    if members > 1:
        parts = [embedding_tower(tower, input_shape, embedding_dim, name=f"member{k}") for k in range(1, members + 1)]
        inputs = keras.Input(shape=tuple(parts[0].input_shape[1:]), name="image")
        joined = layers.Concatenate(name="members")([part(inputs) for part in parts])
        return keras.Model(inputs, L2Normalize(name="l2")(joined), name=name)
    if not isinstance(tower, str):
        raise UsageError(f"`tower` must be a name. Received: tower={tower!r}")
    if tower == "facenet_nn1":
        from kerascnn import models

        return models.build("facenet_nn1", input_shape=input_shape, embedding_dim=embedding_dim, name=name)
    if tower == "koch":
        shape = resolve_input_shape(input_shape, (105, 105, 1), KOCH_MIN_SIZE, "The Koch tower")
        inputs = keras.Input(shape=shape, name="image")
        features = koch_tower_features(inputs)
    elif tower in CONV4_TOWERS:
        shape = resolve_input_shape(input_shape, (105, 105, 1), 1, f"The {tower} tower")
        inputs = keras.Input(shape=shape, name="image")
        features = small_tower_features(inputs, *CONV4_TOWERS[tower])
    else:
        from kerascnn import models

        models.check_name(tower)  # one line with the closest zoo names
        if models.get_spec(tower).task != "classification":
            raise UsageError(f"--tower takes {', '.join(BUILT_IN_TOWERS)} or a zoo classifier. Received: {tower!r}")
        base = models.build(tower, include_top=False, pooling="avg", input_shape=input_shape)
        inputs, features = base.inputs[0], base.outputs[0]
    x = layers.Dense(embedding_dim, name="embedding")(features)
    outputs = L2Normalize(name="l2")(x)
    return keras.Model(inputs, outputs, name=name)


def triplet(include_top: bool = True, input_shape=None, tower: str = "small", embedding_dim: int = 128,
            members: int = 1, name: str = "triplet") -> keras.Model:
    """An embedding network for the triplet loss (Schroff et al. 2015): the tower alone.

    Args:
        include_top: kept for the zoo's signature; the embedding is the top.
        input_shape: ``(H, W, C)``; default ``(105, 105, 1)`` (Omniglot).
        tower: ``"small"``, ``"wide"``, ``"koch"``, ``"facenet_nn1"`` or a zoo classifier name.
        embedding_dim: size of the L2-normalised embedding (FaceNet: 128).
        members: towers in an ensemble (see :func:`embedding_tower`; the embedding has
            ``members * embedding_dim`` components).
        name: model name.

    Returns:
        A ``keras.Model`` from images to unit-norm ``embedding_dim`` vectors.
    """
    check_choice("include_top", include_top, (True,))
    return embedding_tower(tower, input_shape, embedding_dim, name=name, members=members)


def siamese(include_top: bool = True, input_shape=None, tower: str = "koch", embedding_dim: int = 128,
            head: str = "l1", members: int = 1, name: str = "siamese") -> keras.Model:
    """A Siamese network (Koch et al. 2015): one tower on two images and a pair head.

    Args:
        include_top: kept for the zoo's signature.
        input_shape: of each image; default ``(105, 105, 1)``.
        tower: see :func:`triplet`.
        embedding_dim: size of the tower's embedding.
        head: ``"l1"`` -> probability of "same" (``Dense(1, sigmoid)`` on ``|f1 - f2|``);
            ``"euclidean"`` -> distance; ``"chi_square"`` -> DeepFace's weighted χ² distance.
        members: towers in an ensemble (see :func:`embedding_tower`).
        name: model name.

    Returns:
        A two-input ``keras.Model`` ``[left, right] -> (batch, 1)``; its nested
        model named ``"tower"`` is the embedding network.
    """
    check_choice("include_top", include_top, (True,))
    check_choice("head", head, HEADS)
    tower_model = embedding_tower(tower, input_shape, embedding_dim, members=members)
    shape = tuple(tower_model.input_shape[1:])
    left, right = keras.Input(shape=shape, name="left"), keras.Input(shape=shape, name="right")
    first, second = tower_model(left), tower_model(right)
    if head == "l1":
        outputs = layers.Dense(1, activation="sigmoid", name="same_probability")(
            AbsoluteDifference(name="l1")([first, second]))
    elif head == "euclidean":
        outputs = EuclideanDistance(name="distance")([first, second])
    else:
        # χ² needs non-negative features: compare the embeddings' squares (still unit-sum vectors).
        squares = [layers.Multiply(name=f"{side}_squared")([e, e]) for side, e in (("left", first), ("right", second))]
        outputs = WeightedChiSquare(name="distance")(squares)
    return keras.Model([left, right], outputs, name=name)


def find_tower(model) -> keras.Model:
    """The embedding network inside a ``siamese`` model (or ``model`` itself)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model) and layer.name == TOWER_NAME:
            return layer
    return model


_PAPER_TRIPLET = "Schroff et al., FaceNet: A Unified Embedding for Face Recognition and Clustering"
register("siamese", siamese, family="Siamese", paper="Koch et al., Siamese Neural Networks for One-shot Image "
         "Recognition", year=2015, default_input_shape=(105, 105, 1), task="embedding",
         description="shared tower on two images, L1 / Euclidean / chi-square pair head")
register("triplet", triplet, family="Siamese", paper=_PAPER_TRIPLET, year=2015, default_input_shape=(105, 105, 1),
         task="embedding", description="embedding tower with L2-normalised output for triplet / contrastive losses")
