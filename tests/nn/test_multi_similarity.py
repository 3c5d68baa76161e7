"""kerascnn.nn.losses.multi_similarity_loss (Wang et al. 2019): closed-form values with the paper's pair mining
worked out by hand, a perfect batch, save/load, make_loss and one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.nn import losses  # noqa: E402

LABELS = np.array([0, 0, 1, 1])
# Unit vectors; cosines: S01 = 0.6, S02 = 0.8, S03 = -1, S12 = 0.96, S13 = -0.6, S23 = -0.8.
EMBEDDINGS = np.array([[1, 0], [0.6, 0.8], [0.8, 0.6], [-1, 0]], "float32")


def value(tensor) -> float:
    return float(keras.ops.convert_to_numpy(tensor))


def by_hand(alpha=2.0, beta=50.0, base=0.5):
    """Each anchor's kept pairs (epsilon 0.1): a negative with S + 0.1 > its hardest positive, a positive with
    S - 0.1 < its hardest negative."""
    def pull(*cosines):
        return math.log1p(sum(math.exp(-alpha * (s - base)) for s in cosines)) / alpha

    def push(*cosines):
        return math.log1p(sum(math.exp(beta * (s - base)) for s in cosines)) / beta

    anchors = [
        pull(0.6) + push(0.8),         # anchor 0: negative 3 (S -1) dropped, -0.9 < 0.6
        pull(0.6) + push(0.96),        # anchor 1: negative 3 (S -0.6) dropped
        pull(-0.8) + push(0.8, 0.96),  # anchor 2: both negatives kept (hardest positive -0.8)
        pull(-0.8) + push(-0.6),       # anchor 3: negative 0 (S -1) dropped, -0.9 < -0.8; negative 1 kept
    ]
    return sum(anchors) / 4


def test_closed_form_on_a_hand_made_batch():
    assert value(losses.multi_similarity_loss(LABELS, EMBEDDINGS)) == pytest.approx(by_hand(), rel=1e-5)
    assert value(losses.multi_similarity_loss(LABELS, EMBEDDINGS, alpha=1.0, beta=10.0, base=0.3)) == (
        pytest.approx(by_hand(1.0, 10.0, 0.3), rel=1e-5))
    # The cosine does not depend on the length: scaled embeddings give the same loss.
    assert value(losses.multi_similarity_loss(LABELS, 3 * EMBEDDINGS)) == pytest.approx(by_hand(), rel=1e-5)


def test_a_perfect_batch_keeps_no_pairs_and_a_lone_anchor_adds_nothing():
    perfect = np.array([[1, 0], [1, 0], [-1, 0], [-1, 0]], "float32")  # S = 1 within, -1 across: nothing mined
    assert value(losses.multi_similarity_loss(LABELS, perfect)) == 0.0
    # Class 2 has one example: no positive, so it keeps no negative either; the others are as before.
    labels = np.array([0, 0, 1, 1, 2])
    embeddings = np.concatenate([EMBEDDINGS, [[0, 1]]]).astype("float32")
    others = value(losses.multi_similarity_loss(labels, embeddings)) * 5
    assert others > 4 * by_hand()  # the lone image is a new hard negative for the others (S 0.8 and 0.6)


def test_a_gradient_step_lowers_the_loss_and_pulls_the_positives():
    import tensorflow as tf

    x = tf.Variable(EMBEDDINGS)
    with tf.GradientTape() as tape:
        loss = losses.multi_similarity_loss(LABELS, x)
    moved = EMBEDDINGS - 0.1 * tape.gradient(loss, x).numpy()
    unit = moved / np.linalg.norm(moved, axis=1, keepdims=True)
    cosines = unit @ unit.T
    assert cosines[0, 1] > 0.6 and cosines[2, 3] > -0.8 and cosines[0, 2] < 0.8  # positives closer, a negative away
    assert value(losses.multi_similarity_loss(LABELS, unit)) < by_hand()


def test_loss_object_round_trips_and_make_loss():
    obj = losses.MultiSimilarityLoss(alpha=1.5, beta=40.0, base=0.4, epsilon=0.2)
    back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
    assert type(back) is losses.MultiSimilarityLoss and back.get_config() == obj.get_config()
    assert value(back(LABELS, EMBEDDINGS)) == pytest.approx(
        value(losses.multi_similarity_loss(LABELS, EMBEDDINGS, 1.5, 40.0, 0.4, 0.2)))
    assert value(losses.make_loss("multi-similarity")(LABELS, EMBEDDINGS)) == pytest.approx(by_hand(), rel=1e-5)
    assert losses.make_loss("multi-similarity", margin=0.3).epsilon == 0.3  # --margin: the mining epsilon
    assert "multi-similarity" in losses.LOSSES


@pytest.mark.parametrize("call", [
    lambda: losses.MultiSimilarityLoss(beta=0),
    lambda: losses.multi_similarity_loss(LABELS, EMBEDDINGS, alpha=-1.0),
    lambda: losses.multi_similarity_loss(LABELS, EMBEDDINGS, epsilon=2.5),
])
def test_bad_parameters_are_one_line_errors(call):
    with pytest.raises(UsageError) as info:
        call()
    assert "\n" not in str(info.value)
