"""Metric-learning losses: each a pure function plus a serialisable ``keras.losses.Loss``.

Every loss takes integer class ``labels`` (shape ``(B,)``) and a batch of
``embeddings`` (``(B, D)``) and forms its pairs or triplets *inside the batch*
(online mining), like tensorflow/similarity and TF Addons did; a ``Loss`` object
is compiled with ``y_true = labels`` and ``y_pred = embeddings``:

==============================  =============================================================
:func:`contrastive_loss`        Hadsell, Chopra & LeCun (2006): pull same pairs together, push
                                different pairs beyond a margin (Euclidean distance)
:func:`triplet_loss`            Schroff, Kalenichenko & Philbin (2015, FaceNet):
                                ``[d(a,p) - d(a,n) + margin]_+`` on squared L2 distances of
                                normalised embeddings, with ``batch-all`` (Hermans et al. 2017),
                                ``batch-hard`` (Hermans et al.) or ``semi-hard`` (FaceNet) mining;
                                ``soft_margin=True`` replaces the hinge by ``softplus``;
                                ``distance="cosine"`` is the cosine-similarity triplet loss
:func:`angular_loss`            Wang, Zhou, Wen, Liu & Lin (2017): bound the angle at the negative
:func:`multi_similarity_loss`   Wang, Han, Huang, Dong & Scott (2019, MS loss): pairs mined by their
                                cosine against the hardest pair of the other kind, weighted by a
                                soft-max over each anchor's positive and negative similarities
:func:`cosface_loss`            Wang et al. (2018, CosFace / AM-softmax): softmax over scaled cosines
                                to learned class centres, ``s (cos - m)`` for the true class
:func:`arcface_loss`            Deng, Guo, Xue & Zafeiriou (2019, ArcFace): ``s cos(theta + m)`` for
                                the true class (an additive *angular* margin)
==============================  =============================================================

The two large-margin softmax losses are classification-style: they take the
``(B, classes)`` cosines of a :class:`kerascnn.nn.metric_layers.CosineClassifier`
head instead of embeddings; the embedding network is the tower below that head.

Distances (:func:`pairwise_distances`): ``"squared_l2"`` (FaceNet; in ``[0, 4]`` on the
unit sphere), ``"l2"`` and ``"cosine"`` (``1 - cos``). Everything is ``keras.ops``.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from kerascnn.core.errors import UsageError, unknown_name_message

_PACKAGE = "kerascnn"
DISTANCES = ("squared_l2", "l2", "cosine")
MININGS = ("batch-all", "batch-hard", "semi-hard")
_EPSILON = 1e-12


def _check(name: str, value, valid) -> str:
    if value not in valid:
        raise UsageError(unknown_name_message(name, str(value), list(valid)))
    return value


# ---------------------------------------------------------------- distances and masks
def pairwise_distances(embeddings, distance: str = "squared_l2"):
    """``(B, B)`` distances between the rows of ``embeddings``.

    ``"l2"`` has a zero-safe gradient (no NaN at ``d = 0``, e.g. on the diagonal).
    """
    _check("distance", distance, DISTANCES)
    embeddings = ops.cast(embeddings, "float32")
    if distance == "cosine":
        unit = embeddings / ops.maximum(ops.norm(embeddings, axis=1, keepdims=True), _EPSILON)
        return 1.0 - ops.matmul(unit, ops.transpose(unit))
    squared_norms = ops.sum(ops.square(embeddings), axis=1)
    squared = squared_norms[:, None] - 2.0 * ops.matmul(embeddings, ops.transpose(embeddings)) + squared_norms[None, :]
    squared = ops.maximum(squared, 0.0)
    if distance == "squared_l2":
        return squared
    zero = ops.cast(ops.equal(squared, 0.0), "float32")
    return ops.sqrt(squared + zero * _EPSILON) * (1.0 - zero)


def label_masks(labels):
    """``(positive, negative)`` ``(B, B)`` float masks: same label and not itself; different label."""
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    same = ops.equal(labels[:, None], labels[None, :])
    not_self = ops.logical_not(ops.eye(ops.shape(labels)[0], dtype="bool"))
    return ops.cast(ops.logical_and(same, not_self), "float32"), ops.cast(ops.logical_not(same), "float32")


def _masked_mean(values, mask):
    return ops.sum(values * mask) / ops.maximum(ops.sum(mask), 1.0)


# ---------------------------------------------------------------- pure functions
def multi_similarity_loss(labels, embeddings, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5,
                          epsilon: float = 0.1):
    """Multi-similarity loss (Wang et al. 2019, "Multi-Similarity Loss with General Pair Weighting", eq. 4-6).

    On the cosine similarities ``S`` of the batch: for anchor ``i``, a negative ``k`` is kept when
    ``S_ik + epsilon > min S_i(positives)`` and a positive when ``S_ik - epsilon < max S_i(negatives)``
    (the paper's pair mining); then, averaged over the anchors::

        1/alpha log(1 + sum_kept_pos exp(-alpha (S_ik - base))) + 1/beta log(1 + sum_kept_neg exp(beta (S_ik - base)))

    An empty set adds ``log 1 = 0``; an anchor without positives or without negatives keeps no pairs. Defaults:
    ``alpha 2, beta 50, base (lambda) 0.5, epsilon 0.1`` (pytorch-metric-learning's; the authors' code
    calls epsilon ``margin``).
    """
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not value > 0:
            raise UsageError(f"`{name}` must be positive. Received: {name}={value!r}")
    if not 0 <= epsilon < 2:
        raise UsageError(f"`epsilon` must be in [0, 2). Received: epsilon={epsilon!r}")
    similarity = 1.0 - pairwise_distances(embeddings, "cosine")
    positive, negative = label_masks(labels)
    outside = 3.0  # beyond every cosine: "no such pair"
    hardest_positive = ops.min(ops.where(positive > 0, similarity, outside), axis=1, keepdims=True)
    hardest_negative = ops.max(ops.where(negative > 0, similarity, -outside), axis=1, keepdims=True)
    kept_negative = negative * ops.cast(similarity + epsilon > hardest_positive, "float32")
    kept_positive = positive * ops.cast(similarity - epsilon < hardest_negative, "float32")
    pull = ops.log1p(ops.sum(kept_positive * ops.exp(-alpha * (similarity - base)), axis=1)) / alpha
    push = ops.log1p(ops.sum(kept_negative * ops.exp(beta * (similarity - base)), axis=1)) / beta
    return ops.mean(pull + push)


def contrastive_loss(labels, embeddings, margin: float = 1.0):
    """Contrastive loss (Hadsell et al. 2006) over all pairs of the batch.

    Label convention: pairs are *same* when their class labels are equal (in the
    pair form, :func:`pair_contrastive_loss`, ``1 = same``, ``0 = different``, as in
    TF Addons; Hadsell et al. write ``Y = 0`` for similar pairs). With the
    Euclidean distance ``d`` of each pair::

        loss = 1/2 mean_same(d**2) + 1/2 mean_different(max(0, margin - d)**2)

    Same and different pairs are averaged separately (a batch has far more
    different pairs), so a 50/50 batch gives Hadsell's plain mean. Never put a
    sigmoid in front of the margin: ``d`` is an unbounded distance.
    """
    distances = pairwise_distances(embeddings, "l2")
    positive, negative = label_masks(labels)
    pull = _masked_mean(ops.square(distances), positive)
    push = _masked_mean(ops.square(ops.relu(margin - distances)), negative)
    return 0.5 * pull + 0.5 * push


def pair_contrastive_loss(same, distances, margin: float = 1.0):
    """Contrastive loss of given pairs: ``same`` is 1 for a same pair, 0 for a different one.

    ``mean(same * d**2 + (1 - same) * max(0, margin - d)**2) / 2`` (Hadsell et al. 2006).
    """
    same = ops.reshape(ops.cast(same, "float32"), (-1,))
    distances = ops.reshape(ops.cast(distances, "float32"), (-1,))
    per_pair = same * ops.square(distances) + (1.0 - same) * ops.square(ops.relu(margin - distances))
    return 0.5 * ops.mean(per_pair)


def _hinge(values, soft_margin: bool):
    return ops.softplus(values) if soft_margin else ops.relu(values)


def triplet_values(labels, embeddings, distance: str = "squared_l2"):
    """``(d(a,p) - d(a,n), valid)``: ``(B, B, B)`` tensors over anchors ``a``, positives ``p``, negatives ``n``."""
    positive, negative = label_masks(labels)
    return _triplet_gaps(pairwise_distances(embeddings, distance), positive, negative)


def _triplet_gaps(distances, positive, negative):
    return distances[:, :, None] - distances[:, None, :], positive[:, :, None] * negative[:, None, :]


def active_triplet_fraction(labels, embeddings, margin: float = 0.2, distance: str = "squared_l2"):
    """Fraction of the batch's valid triplets with a positive loss (``d(a,p) - d(a,n) + margin > 0``)."""
    gaps, valid = triplet_values(labels, embeddings, distance)
    return _masked_mean(ops.cast(ops.greater(gaps + margin, 0.0), "float32"), valid)


def triplet_loss(labels, embeddings, margin: float = 0.2, mining: str = "semi-hard", distance: str = "squared_l2",
                 soft_margin: bool = False):
    """Triplet loss (Schroff et al. 2015) with online mining in the batch.

    For an anchor ``a``, a positive ``p`` (same class) and a negative ``n``:
    ``[d(a,p) - d(a,n) + margin]_+`` (``softplus(d(a,p) - d(a,n))`` with ``soft_margin``,
    Hermans et al. 2017, which needs no margin).

    Mining:
        ``"batch-all"``: the mean over the triplets with a positive loss (Hermans et al.);
        ``"batch-hard"``: per anchor, its farthest positive and nearest negative;
        ``"semi-hard"``: per (anchor, positive) pair, the nearest negative farther than the
        positive (FaceNet section 3.2); with none, the farthest negative (as TF Addons'
        ``TripletSemiHardLoss``).

    Anchors without a positive or a negative in the batch contribute nothing; a batch
    without any valid triplet has loss 0.
    """
    _check("mining", mining, MININGS)
    distances = pairwise_distances(embeddings, distance)
    positive, negative = label_masks(labels)
    big = ops.stop_gradient(ops.max(distances)) + 1.0
    if mining == "batch-hard":
        hardest_positive = ops.max(distances * positive, axis=1)
        hardest_negative = ops.min(distances + big * (1.0 - negative), axis=1)
        has_both = ops.cast(ops.logical_and(ops.any(positive > 0, axis=1), ops.any(negative > 0, axis=1)), "float32")
        values = _hinge(hardest_positive - hardest_negative + (0.0 if soft_margin else margin), soft_margin)
        return _masked_mean(values, has_both)
    if mining == "batch-all":
        gaps, valid = _triplet_gaps(distances, positive, negative)
        values = _hinge(gaps + (0.0 if soft_margin else margin), soft_margin)
        if soft_margin:
            return _masked_mean(values, valid)
        active = valid * ops.cast(ops.greater(values, 1e-16), "float32")
        return _masked_mean(values, active)
    # semi-hard: for each (a, p), the nearest negative with d(a, n) > d(a, p), else the farthest negative.
    d_ap = distances[:, :, None]  # (a, p, 1)
    d_an = distances[:, None, :]  # (a, 1, n)
    farther = negative[:, None, :] * ops.cast(ops.greater(d_an, d_ap), "float32")  # (a, p, n)
    nearest_farther = ops.min(d_an + big * (1.0 - farther), axis=2)  # (a, p)
    farthest = ops.max(distances * negative - big * (1.0 - negative), axis=1)[:, None]  # (a, 1)
    chosen = ops.where(ops.any(farther > 0, axis=2), nearest_farther, farthest)
    pairs = positive * ops.cast(ops.any(negative > 0, axis=1), "float32")[:, None]
    values = _hinge(distances - chosen + (0.0 if soft_margin else margin), soft_margin)
    return _masked_mean(values, pairs)


def angular_loss(labels, embeddings, alpha_degrees: float = 45.0):
    """Angular loss (Wang et al. 2017, eq. 5) over every valid triplet of the batch.

    With ``c = (a + p) / 2``: ``[||a - p||**2 - 4 tan(alpha)**2 ||n - c||**2]_+``,
    averaged over the triplets with a positive loss: the angle at the negative of
    the triangle ``(a, p, n)`` must stay below ``alpha``.
    """
    if not 0 < alpha_degrees < 90:
        raise UsageError(f"`alpha_degrees` must be in (0, 90). Received: alpha_degrees={alpha_degrees!r}")
    embeddings = ops.cast(embeddings, "float32")
    positive, negative = label_masks(labels)
    squared = pairwise_distances(embeddings, "squared_l2")
    centres = 0.5 * (embeddings[:, None, :] + embeddings[None, :, :])  # (a, p, D)
    to_centre = ops.sum(ops.square(embeddings[None, None, :, :] - centres[:, :, None, :]), axis=-1)  # (a, p, n)
    tan_squared = math.tan(math.radians(alpha_degrees)) ** 2
    values = ops.relu(squared[:, :, None] - 4.0 * tan_squared * to_centre)
    valid = positive[:, :, None] * negative[:, None, :]
    return _masked_mean(values, valid * ops.cast(ops.greater(values, 1e-16), "float32"))


def _margin_softmax(labels, cosines, scale: float, target_logits):
    """Cross-entropy of ``scale * cosines`` with the true class's logit replaced by ``target_logits(cos)``."""
    cosines = ops.cast(cosines, "float32")
    one_hot = ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), ops.shape(cosines)[-1])
    logits = scale * (one_hot * target_logits(cosines) + (1.0 - one_hot) * cosines)
    return ops.mean(keras.losses.categorical_crossentropy(one_hot, logits, from_logits=True))


def _check_margin_softmax(scale, margin, high):
    if not scale > 0:
        raise UsageError(f"`scale` must be positive. Received: scale={scale!r}")
    if not 0 <= margin < high:
        raise UsageError(f"`margin` must be in [0, {high}). Received: margin={margin!r}")


def cosface_loss(labels, cosines, scale: float = 16.0, margin: float = 0.2):
    """CosFace / additive-margin softmax (Wang et al. 2018; AM-softmax, Wang, Cheng, Liu & Liu 2018).

    ``cosines`` are ``cos(theta_j)`` between each L2-normalised embedding and the
    normalised weight of class ``j`` (:class:`~kerascnn.nn.metric_layers.CosineClassifier`).
    The loss is the softmax cross-entropy of the logits ``scale * cos(theta_j)``, with
    ``scale * (cos(theta_y) - margin)`` for the true class ``y``: every example must beat
    the other classes by a cosine margin. ``margin = 0`` is NormFace's scaled-cosine softmax.
    """
    _check_margin_softmax(scale, margin, 1.0)
    return _margin_softmax(labels, cosines, scale, lambda cos: cos - margin)


def arcface_loss(labels, cosines, scale: float = 16.0, margin: float = 0.3):
    """ArcFace / additive angular margin (Deng et al. 2019, eq. 3).

    As :func:`cosface_loss`, with the true class's logit ``scale * cos(theta_y + margin)``.
    Where ``theta_y + margin`` passes ``pi`` the target would grow again, so there it is
    ``cos(theta_y) - margin * sin(margin)`` (the paper's "easy margin" fix, its eq. 3 code).
    """
    _check_margin_softmax(scale, margin, math.pi / 2)
    cos_m, sin_m = math.cos(margin), math.sin(margin)
    threshold = math.cos(math.pi - margin)

    def target(cos):
        cos = ops.clip(cos, -1.0 + 1e-7, 1.0 - 1e-7)
        with_margin = cos * cos_m - ops.sqrt(1.0 - ops.square(cos)) * sin_m  # cos(theta + m)
        return ops.where(cos > threshold, with_margin, cos - margin * sin_m)

    return _margin_softmax(labels, cosines, scale, target)


# ---------------------------------------------------------------- Loss objects
class _MetricLoss(keras.losses.Loss):
    """A loss over the whole batch: ``call(labels, embeddings)`` returns one scalar."""

    def __init__(self, name, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ContrastiveLoss(_MetricLoss):
    """:func:`contrastive_loss` over the batch's pairs (same class = same pair). Args: ``margin``."""

    def __init__(self, margin: float = 1.0, name="contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class TripletLoss(_MetricLoss):
    """:func:`triplet_loss` with online mining. Args: ``margin``, ``mining``, ``distance``, ``soft_margin``."""

    def __init__(self, margin: float = 0.2, mining: str = "semi-hard", distance: str = "squared_l2",
                 soft_margin: bool = False, name="triplet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)
        self.mining = _check("mining", mining, MININGS)
        self.distance = _check("distance", distance, DISTANCES)
        self.soft_margin = bool(soft_margin)

    def call(self, y_true, y_pred):
        return triplet_loss(y_true, y_pred, self.margin, self.mining, self.distance, self.soft_margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin, "mining": self.mining, "distance": self.distance,
                "soft_margin": self.soft_margin}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class AngularLoss(_MetricLoss):
    """:func:`angular_loss`. Args: ``alpha_degrees`` (Wang et al. use 36-55; default 45)."""

    def __init__(self, alpha_degrees: float = 45.0, name="angular_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha_degrees = float(alpha_degrees)

    def call(self, y_true, y_pred):
        return angular_loss(y_true, y_pred, self.alpha_degrees)

    def get_config(self):
        return {**super().get_config(), "alpha_degrees": self.alpha_degrees}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MultiSimilarityLoss(_MetricLoss):
    """:func:`multi_similarity_loss` (Wang et al. 2019). Args: ``alpha``, ``beta``, ``base``, ``epsilon``."""

    def __init__(self, alpha: float = 2.0, beta: float = 50.0, base: float = 0.5, epsilon: float = 0.1,
                 name="multi_similarity_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha, self.beta, self.base, self.epsilon = float(alpha), float(beta), float(base), float(epsilon)
        if not (self.alpha > 0 and self.beta > 0 and 0 <= self.epsilon < 2):  # one line now, not at the first batch
            raise UsageError(f"MultiSimilarityLoss needs alpha > 0, beta > 0 and epsilon in [0, 2). Received: "
                             f"alpha={alpha!r}, beta={beta!r}, epsilon={epsilon!r}")

    def call(self, y_true, y_pred):
        return multi_similarity_loss(y_true, y_pred, self.alpha, self.beta, self.base, self.epsilon)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta, "base": self.base,
                "epsilon": self.epsilon}


class _MarginSoftmaxLoss(_MetricLoss):
    """A large-margin softmax on ``(labels, cosines)``. Args: ``scale``, ``margin``."""

    function = None
    default_margin = 0.0
    largest_margin = 1.0

    def __init__(self, scale: float = 16.0, margin: float | None = None, name=None, **kwargs):
        super().__init__(name=name or self.default_name, **kwargs)
        self.scale = float(scale)
        self.margin = float(self.default_margin if margin is None else margin)
        _check_margin_softmax(self.scale, self.margin, self.largest_margin)  # bad scale / margin: one line, now

    def call(self, y_true, y_pred):
        return type(self).function(y_true, y_pred, self.scale, self.margin)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "margin": self.margin}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CosFaceLoss(_MarginSoftmaxLoss):
    """:func:`cosface_loss` (Wang et al. 2018) on the cosines of a ``CosineClassifier``. Args: ``scale``, ``margin``."""

    function = staticmethod(cosface_loss)
    default_margin, default_name = 0.2, "cosface_loss"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ArcFaceLoss(_MarginSoftmaxLoss):
    """:func:`arcface_loss` (Deng et al. 2019) on the cosines of a ``CosineClassifier``. Args: ``scale``, ``margin``."""

    function = staticmethod(arcface_loss)
    default_margin, default_name, largest_margin = 0.3, "arcface_loss", math.pi / 2


#: ``--loss`` names -> how to make the loss from ``margin`` / ``mining``.
LOSSES = ("contrastive", "triplet", "soft-margin", "cosine-triplet", "angular", "multi-similarity", "cosface",
          "arcface")
#: The losses on a classifier head's cosines (classification-style training) rather than on embeddings.
MARGIN_SOFTMAX_LOSSES = ("cosface", "arcface")
MARGIN_SOFTMAX_SCALE = 16.0  # s for a few hundred classes (the papers use 30-64 for 10k+ face identities)


def make_loss(name: str, *, margin: float | None = None, mining: str = "semi-hard") -> keras.losses.Loss:
    """The ``Loss`` for a ``--loss`` name (default margins: contrastive 1.0, triplet 0.2, cosine 0.2, CosFace 0.2,
    ArcFace 0.3 radians; multi-similarity: the margin is the pair-mining epsilon, 0.1)."""
    _check("loss", name, LOSSES)
    if name in MARGIN_SOFTMAX_LOSSES:
        loss_class = CosFaceLoss if name == "cosface" else ArcFaceLoss
        return loss_class(scale=MARGIN_SOFTMAX_SCALE, margin=margin)
    if name == "contrastive":
        return ContrastiveLoss(margin=1.0 if margin is None else margin)
    if name == "angular":
        return AngularLoss()
    if name == "multi-similarity":
        return MultiSimilarityLoss() if margin is None else MultiSimilarityLoss(epsilon=margin)
    margin = 0.2 if margin is None else margin
    return TripletLoss(margin=margin, mining=mining, distance="cosine" if name == "cosine-triplet" else "squared_l2",
                       soft_margin=name == "soft-margin")


# ---------------------------------------------------------------- epoch metrics
class _BatchMeanMetric(keras.metrics.Mean):
    """Mean over batches of a batch-level statistic of ``(labels, embeddings)``."""

    def statistic(self, labels, embeddings):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(self.statistic(y_true, y_pred))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PositiveDistance(_BatchMeanMetric):
    """Mean squared L2 distance of same-class pairs in the batch (should fall)."""

    def __init__(self, name="positive_distance", **kwargs):
        super().__init__(name=name, **kwargs)

    def statistic(self, labels, embeddings):
        return _masked_mean(pairwise_distances(embeddings), label_masks(labels)[0])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class NegativeDistance(_BatchMeanMetric):
    """Mean squared L2 distance of different-class pairs (should rise; near 0 with the positives = collapse)."""

    def __init__(self, name="negative_distance", **kwargs):
        super().__init__(name=name, **kwargs)

    def statistic(self, labels, embeddings):
        return _masked_mean(pairwise_distances(embeddings), label_masks(labels)[1])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ActiveTriplets(_BatchMeanMetric):
    """Fraction of the batch's triplets violating the margin (``margin`` on squared L2)."""

    def __init__(self, margin: float = 0.2, name="active_triplets", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def statistic(self, labels, embeddings):
        return active_triplet_fraction(labels, embeddings, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PrecisionAtOne(_BatchMeanMetric):
    """Leave-one-out 1-nearest-neighbour accuracy inside the batch (anchors with a same-class partner)."""

    def __init__(self, name="precision_at_1", **kwargs):
        super().__init__(name=name, **kwargs)

    def statistic(self, labels, embeddings):
        distances = pairwise_distances(embeddings)
        positive, negative = label_masks(labels)
        big = ops.stop_gradient(ops.max(distances)) + 1.0
        nearest = ops.argmin(distances + big * ops.eye(ops.shape(distances)[0]), axis=1)
        hit = ops.take_along_axis(positive, nearest[:, None], axis=1)[:, 0]
        return _masked_mean(hit, ops.cast(ops.any(positive > 0, axis=1), "float32"))


def epoch_metrics(margin: float = 0.2) -> list:
    """What a metric run logs each epoch: precision@1, mean positive/negative distance, active triplets."""
    return [PrecisionAtOne(), PositiveDistance(), NegativeDistance(), ActiveTriplets(margin)]
