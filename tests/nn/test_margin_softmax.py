"""CosFace / ArcFace (kerascnn.nn.losses), the CosineClassifier head and ClassifierTrainedEmbedding:
closed-form values, save/load, and training through the wrapper predicts embeddings."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.nn import losses  # noqa: E402
from kerascnn.nn.margin_model import ClassifierTrainedEmbedding, embedding_network  # noqa: E402
from kerascnn.nn.metric_layers import CosineClassifier  # noqa: E402


def value(tensor) -> float:
    return float(keras.ops.convert_to_numpy(tensor))


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


# One example of class 0 with cosine 0.5 to its own centre and 0.1 to the other (two classes):
# cross-entropy = softplus(s * (other logit - own logit)).
LABELS = np.array([0])
COSINES = np.array([[0.5, 0.1]], "float32")


def test_cosface_is_softmax_with_a_cosine_margin():
    assert value(losses.cosface_loss(LABELS, COSINES, scale=16, margin=0.2)) == pytest.approx(
        softplus(16 * (0.1 - (0.5 - 0.2))), rel=1e-5)


def test_arcface_adds_the_margin_to_the_angle():
    target = math.cos(math.acos(0.5) + 0.3)  # cos(60 deg + 0.3 rad)
    assert value(losses.arcface_loss(LABELS, COSINES, scale=16, margin=0.3)) == pytest.approx(
        softplus(16 * (0.1 - target)), rel=1e-5)


def test_arcface_past_pi_falls_back_to_a_cosine_margin():
    # theta + m > pi: cos(theta + m) would rise again; the loss uses cos - m sin(m) instead.
    cosines = np.array([[-0.99, 0.0]], "float32")
    target = -0.99 - 0.3 * math.sin(0.3)
    assert value(losses.arcface_loss(LABELS, cosines, scale=10, margin=0.3)) == pytest.approx(
        softplus(10 * (0.0 - target)), rel=1e-5)


def test_zero_margin_is_the_scaled_cosine_softmax_for_both():
    expected = softplus(8 * (0.1 - 0.5))
    for fn in (losses.cosface_loss, losses.arcface_loss):
        assert value(fn(LABELS, COSINES, scale=8, margin=0.0)) == pytest.approx(expected, rel=1e-5)


def test_a_larger_margin_costs_more_on_the_same_batch():
    labels, cosines = np.array([0, 1, 2]), np.eye(3, dtype="float32") * 0.9
    for fn in (losses.cosface_loss, losses.arcface_loss):
        assert value(fn(labels, cosines, margin=0.1)) < value(fn(labels, cosines, margin=0.4))


@pytest.mark.parametrize("obj", [losses.CosFaceLoss(scale=30, margin=0.35), losses.ArcFaceLoss(margin=0.5)])
def test_margin_losses_round_trip(obj):
    back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
    assert type(back) is type(obj) and back.get_config() == obj.get_config()
    assert value(back(LABELS, COSINES)) == pytest.approx(value(obj(LABELS, COSINES)))


def test_make_loss_gives_the_margin_softmax_losses():
    assert isinstance(losses.make_loss("cosface"), losses.CosFaceLoss) and losses.make_loss("cosface").margin == 0.2
    arc = losses.make_loss("arcface", margin=0.4)
    assert isinstance(arc, losses.ArcFaceLoss) and arc.margin == 0.4 and arc.scale == losses.MARGIN_SOFTMAX_SCALE


@pytest.mark.parametrize("call", [lambda: losses.CosFaceLoss(margin=1.5), lambda: losses.ArcFaceLoss(scale=0),
                                  lambda: losses.arcface_loss(LABELS, COSINES, margin=2.0)])
def test_bad_margins_are_one_line_errors(call):
    with pytest.raises(UsageError) as info:
        call()
    assert "\n" not in str(info.value)


def test_cosine_classifier_outputs_cosines_to_the_normalised_centres():
    layer = CosineClassifier(3)
    layer.build((None, 2))
    layer.centres.assign(np.array([[2.0, 0.0, 1.0], [0.0, 5.0, 1.0]], "float32"))  # columns: x, y, diagonal
    out = keras.ops.convert_to_numpy(layer(np.array([[3.0, 0.0], [0.0, -1.0]], "float32")))
    np.testing.assert_allclose(out, [[1, 0, math.sqrt(0.5)], [0, -1, -math.sqrt(0.5)]], atol=1e-6)
    back = CosineClassifier.from_config(layer.get_config())
    assert back.classes == 3 and back.compute_output_shape((None, 2)) == (None, 3)
    with pytest.raises(ValueError):
        CosineClassifier(1)


def _embedding(dim=4):
    inputs = keras.Input((8,))
    return keras.Model(inputs, keras.layers.UnitNormalization()(keras.layers.Dense(dim)(inputs)))


def test_a_classifier_trained_embedding_learns_predicts_embeddings_and_reloads(tmp_path):
    from kerascnn.nn.saving import load_model

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = np.arange(48) % 3
    x = (np.eye(8)[labels] * 3 + rng.normal(0, 0.3, (48, 8))).astype("float32")
    model = ClassifierTrainedEmbedding(_embedding(), classes=3)
    model.compile(keras.optimizers.Adam(0.05), loss=losses.CosFaceLoss(), metrics=losses.epoch_metrics())
    history = model.fit(x, labels, epochs=15, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] / 2 and history["precision_at_1"][-1] == 1.0
    embeddings = model.predict(x, verbose=0)
    assert embeddings.shape == (48, 4)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", compile=True)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), embeddings, atol=1e-6)
    np.testing.assert_allclose(loaded.head.centres.numpy(), model.head.centres.numpy())
    assert isinstance(loaded.loss, losses.CosFaceLoss)
    assert embedding_network(model) is model.embedding and embedding_network(model.embedding) is model.embedding


def test_each_member_of_an_ensemble_trains_through_its_own_head(tmp_path):
    from kerascnn.nn.saving import load_model

    keras.utils.set_random_seed(0)
    labels = np.arange(48) % 3
    x = (np.eye(8)[labels] * 3 + np.random.default_rng(0).normal(0, 0.3, (48, 8))).astype("float32")
    inputs = keras.Input((8,))
    parts = [keras.layers.UnitNormalization()(keras.layers.Dense(4)(inputs)) for _ in range(2)]
    ensemble = keras.Model(inputs, keras.layers.UnitNormalization()(keras.layers.Concatenate()(parts)))
    model = ClassifierTrainedEmbedding(ensemble, classes=3, members=2)
    assert [head.centres.shape for head in (model.head, *model.member_heads)] == [(4, 3), (4, 3)]
    model.compile(keras.optimizers.Adam(0.05), loss=losses.CosFaceLoss())
    embeddings = model.predict(x[:6], verbose=0)
    # The loss is the mean of the members' CosFace losses, each on its half of the embedding.
    halves = np.split(embeddings, 2, axis=1)
    expected = np.mean([losses.cosface_loss(labels[:6], head(half))
                        for head, half in zip((model.head, *model.member_heads), halves)])
    assert float(model.compute_loss(x[:6], labels[:6], embeddings)) == pytest.approx(float(expected), rel=1e-5)
    history = model.fit(x, labels, epochs=10, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] / 2
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.members == 2
    np.testing.assert_allclose(loaded.member_heads[0].centres.numpy(), model.member_heads[0].centres.numpy())
    with pytest.raises(ValueError, match="does not split into 3 members"):
        ClassifierTrainedEmbedding(ensemble, classes=3, members=3)
