"""kerascnn.nn.losses: closed-form values on hand-made embeddings, mining picks, a brute-force
reference on random batches, and save/load of every loss and metric."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.nn import losses  # noqa: E402

# Two classes, unit vectors. PERFECT: each class collapsed on its own axis.
# ALL_WRONG: same-class pairs orthogonal (d^2 = 2), each anchor has one negative on top of it (d^2 = 0)
# and one orthogonal (d^2 = 2).
LABELS = np.array([0, 0, 1, 1])
PERFECT = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], "float32")
ALL_WRONG = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], "float32")


def value(tensor) -> float:
    return float(keras.ops.convert_to_numpy(tensor))


@pytest.mark.parametrize("mining", losses.MININGS)
def test_a_perfect_batch_has_zero_triplet_loss(mining):
    assert value(losses.triplet_loss(LABELS, PERFECT, margin=0.2, mining=mining)) == pytest.approx(0.0)
    assert value(losses.active_triplet_fraction(LABELS, PERFECT, margin=0.2)) == 0.0


@pytest.mark.parametrize("mining, expected", [
    ("batch-all", (2.2 + 0.2) / 2),  # all 8 triplets active: half have d(a,n)=0, half d(a,n)=2
    ("batch-hard", 2.2),              # farthest positive 2, nearest negative 0
    ("semi-hard", 0.2),               # no negative beyond d(a,p)=2: the farthest one (2) is taken
])
def test_each_mining_picks_its_triplets_on_an_all_wrong_batch(mining, expected):
    assert value(losses.triplet_loss(LABELS, ALL_WRONG, margin=0.2, mining=mining)) == pytest.approx(expected)


def test_semi_hard_takes_the_nearest_negative_beyond_the_positive():
    # 1-d points: anchor 0 and positive 1 (d^2 = 1); negatives at d^2 = 0.25 (hard), 1.21 (semi-hard), 9 (easy).
    labels = np.array([0, 0, 1, 2, 3])  # only the class-0 pair has positives
    x = np.array([[0.0], [1.0], [-0.5], [1.1], [3.0]], "float32")
    loss = value(losses.triplet_loss(labels, x, margin=0.2, mining="semi-hard"))
    # Pair (0, 1): semi-hard negative 1.21 -> 1 - 1.21 + 0.2 = -0.01 -> 0. Pair (1, 0): d^2 = 1, negatives
    # at 2.25, 0.01, 4 -> nearest beyond 1 is 2.25 -> 0. So the loss is 0 although batch-hard is not.
    assert loss == pytest.approx(0.0, abs=1e-6)
    # Batch-hard: anchor 0 takes the negative at 0.25 (0.95), anchor 1 the one at 0.01 (1.19).
    assert value(losses.triplet_loss(labels, x, margin=0.2, mining="batch-hard")) == pytest.approx(1.07)


def reference_triplet(labels, x, margin, mining, soft=False):
    """Loop-by-loop FaceNet / Hermans et al. definitions, independent of the vectorised code."""
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    n = len(x)
    hinge = (lambda v: math.log1p(math.exp(v))) if soft else (lambda v: max(v, 0.0))
    m = 0.0 if soft else margin
    values = []
    for a in range(n):
        pos = [p for p in range(n) if p != a and labels[p] == labels[a]]
        neg = [k for k in range(n) if labels[k] != labels[a]]
        if not pos or not neg:
            continue
        if mining == "batch-hard":
            values.append(hinge(max(d[a, pos]) - min(d[a, neg]) + m))
        elif mining == "semi-hard":
            for p in pos:
                beyond = [d[a, k] for k in neg if d[a, k] > d[a, p]]
                values.append(hinge(d[a, p] - (min(beyond) if beyond else max(d[a, neg])) + m))
        else:
            values += [hinge(d[a, p] - d[a, k] + m) for p in pos for k in neg]
    if mining == "batch-all" and not soft:
        values = [v for v in values if v > 1e-16]
    return float(np.mean(values)) if values else 0.0


@pytest.mark.parametrize("mining", losses.MININGS)
@pytest.mark.parametrize("soft", [False, True])
def test_vectorised_mining_matches_the_loop_definitions(mining, soft):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 12)
    x = rng.normal(size=(12, 4)).astype("float32")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    got = value(losses.triplet_loss(labels, x, margin=0.2, mining=mining, soft_margin=soft))
    assert got == pytest.approx(reference_triplet(labels, x, 0.2, mining, soft), rel=1e-4, abs=1e-6)


def test_contrastive_closed_form_and_label_convention():
    # Same class = same pair (labels equal). Perfect: same pairs at d=0, different at sqrt(2) > margin 1.
    assert value(losses.contrastive_loss(LABELS, PERFECT, margin=1.0)) == pytest.approx(0.0)
    # All wrong: same pairs at d^2 = 2 (pull term 2); different pairs: two at d=0 (push 1), two beyond the margin.
    assert value(losses.contrastive_loss(LABELS, ALL_WRONG, margin=1.0)) == pytest.approx(0.5 * 2 + 0.5 * 0.5)
    # Pair form: 1 = same. A same pair at distance 0 costs nothing, a different pair at 0 costs margin^2 / 2.
    same_pair = losses.pair_contrastive_loss(np.array([1.0]), np.array([0.0]), margin=2.0)
    different_pair = losses.pair_contrastive_loss(np.array([0.0]), np.array([0.0]), margin=2.0)
    assert value(same_pair) == 0.0 and value(different_pair) == pytest.approx(2.0)


def test_cosine_triplet_and_angular():
    assert value(losses.triplet_loss(LABELS, 3 * PERFECT, distance="cosine", mining="batch-all")) == pytest.approx(0.0)
    # Cosine distances of ALL_WRONG equal half its squared L2 distances (unit vectors): batch-hard 1 - 0 + 0.2.
    assert value(losses.triplet_loss(LABELS, ALL_WRONG, distance="cosine", mining="batch-hard")) == pytest.approx(1.2)
    # Angular (alpha = 45): a=(1,0), p=(0,1), n on their midpoint: ||a-p||^2 - 4 ||n-c||^2 = 2.
    labels = np.array([0, 0, 1])
    x = np.array([[1, 0], [0, 1], [0.5, 0.5]], "float32")
    assert value(losses.angular_loss(labels, x, alpha_degrees=45)) == pytest.approx(2.0)
    assert value(losses.angular_loss(LABELS, PERFECT)) == pytest.approx(0.0)


def test_no_valid_triplet_gives_zero_not_nan():
    for mining in losses.MININGS:
        assert value(losses.triplet_loss(np.array([0, 1, 2]), PERFECT[:3], mining=mining)) == 0.0
    assert value(losses.contrastive_loss(np.array([0, 0]), PERFECT[:2])) == 0.0


def test_gradients_are_finite_at_zero_distance():
    import tensorflow as tf

    x = tf.Variable(PERFECT)
    for loss in (losses.ContrastiveLoss(), losses.TripletLoss(mining="batch-hard"), losses.AngularLoss()):
        with tf.GradientTape() as tape:
            result = loss(LABELS, x)
        assert np.isfinite(tape.gradient(result, x).numpy()).all(), loss.name


def test_epoch_metrics_on_known_batches():
    metrics = {m.name: m for m in losses.epoch_metrics(margin=0.2)}
    for metric in metrics.values():
        metric.update_state(LABELS, ALL_WRONG)
    assert float(metrics["positive_distance"].result()) == pytest.approx(2.0)
    assert float(metrics["negative_distance"].result()) == pytest.approx(1.0)
    assert float(metrics["active_triplets"].result()) == pytest.approx(1.0)
    assert float(metrics["precision_at_1"].result()) == pytest.approx(0.0)
    metrics["precision_at_1"].reset_state()
    metrics["precision_at_1"].update_state(LABELS, PERFECT)
    assert float(metrics["precision_at_1"].result()) == 1.0


@pytest.mark.parametrize("obj", [
    losses.ContrastiveLoss(margin=0.7), losses.TripletLoss(margin=0.3, mining="batch-hard", soft_margin=True),
    losses.TripletLoss(distance="cosine"), losses.AngularLoss(alpha_degrees=40), losses.ActiveTriplets(0.3),
    losses.PositiveDistance(), losses.NegativeDistance(), losses.PrecisionAtOne(),
])
def test_every_loss_and_metric_round_trips(obj):
    config = keras.saving.serialize_keras_object(obj)
    back = keras.saving.deserialize_keras_object(config)
    assert type(back) is type(obj) and back.get_config() == obj.get_config()
    if isinstance(obj, keras.losses.Loss):
        assert value(back(LABELS, ALL_WRONG)) == pytest.approx(value(obj(LABELS, ALL_WRONG)))


def test_a_model_compiled_with_a_metric_loss_saves_and_loads(tmp_path):
    from kerascnn.nn.saving import load_model

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.UnitNormalization()(keras.layers.Dense(2)(inputs)))
    model.compile("adam", loss=losses.TripletLoss(mining="batch-all"), metrics=losses.epoch_metrics())
    history = model.fit(np.eye(3, dtype="float32")[[0, 0, 1, 2]], LABELS, epochs=1, verbose=0).history
    assert set(history) >= {"loss", "precision_at_1", "positive_distance", "negative_distance", "active_triplets"}
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", compile=True)
    assert loaded.loss.get_config() == model.loss.get_config()


@pytest.mark.parametrize("call", [
    lambda: losses.TripletLoss(mining="hardest"),
    lambda: losses.make_loss("tripplet"),
    lambda: losses.angular_loss(LABELS, PERFECT, alpha_degrees=90),
])
def test_bad_names_are_one_line_errors(call):
    with pytest.raises(UsageError) as info:
        call()
    assert "\n" not in str(info.value)


def test_make_loss_defaults():
    assert losses.make_loss("contrastive").margin == 1.0
    soft = losses.make_loss("soft-margin", mining="batch-hard")
    assert soft.soft_margin and soft.mining == "batch-hard"
    assert losses.make_loss("cosine-triplet").distance == "cosine"
    assert set(losses.LOSSES) >= {"contrastive", "triplet", "angular"}
    assert list(itertools.chain(losses.MININGS)) == ["batch-all", "batch-hard", "semi-hard"]
