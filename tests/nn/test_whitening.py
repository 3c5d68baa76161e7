"""Within-class covariance normalisation (kerascnn.nn.whitening): the matrix on hand-made classes, the layer
(identity until fitted, saved with its matrix), the nearest-neighbour gain it exists for, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.nn import whitening  # noqa: E402


def _classes(rng, classes=40, per_class=10, dims=8):
    """Classes apart along dims 2.., drawings of a class spread widely along dims 0-1 (a nuisance)."""
    centres = rng.normal(0, 1.0, (classes, dims))
    centres[:, :2] = 0
    x = np.repeat(centres, per_class, axis=0)
    x[:, :2] += rng.normal(0, 1.5, (len(x), 2))
    x[:, 2:] += rng.normal(0, 0.1, (len(x), dims - 2))
    return x, np.repeat(np.arange(classes), per_class)


def test_the_matrix_turns_the_within_class_covariance_into_a_multiple_of_the_identity():
    rng = np.random.default_rng(0)
    x, y = _classes(rng)
    matrix = whitening.whitening_matrix(x, y, shrinkage=0.0)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    means = np.stack([unit[y == c].mean(0) for c in range(40)])
    deviations = (unit - means[y]) @ matrix
    covariance = deviations.T @ deviations / (len(x) - 40)
    np.testing.assert_allclose(covariance / covariance[0, 0], np.eye(8), atol=1e-3)
    # Full shrinkage: a multiple of the identity, scaled to mean eigenvalue 1 -> the identity.
    np.testing.assert_allclose(whitening.whitening_matrix(x, y, shrinkage=1.0), np.eye(8), atol=1e-6)


def test_whitening_helps_nearest_neighbour_one_shot_when_drawings_vary_along_a_nuisance_direction():
    from kerascnn.analysis.oneshot import nearest_support

    rng = np.random.default_rng(1)
    train, train_labels = _classes(rng, classes=60)
    test, test_labels = _classes(rng, classes=20, per_class=2)  # new classes: one support, one query each
    support, query = test[0::2], test[1::2]
    labels = test_labels[0::2]
    unit = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    plain = np.mean(nearest_support(unit(support), labels, unit(query)) == labels)
    matrix = whitening.whitening_matrix(train, train_labels, shrinkage=0.1)
    whitened = np.mean(nearest_support(unit(unit(support) @ matrix), labels, unit(unit(query) @ matrix)) == labels)
    assert plain <= 0.6 and whitened >= 0.9  # seed 1: 55 % -> 95 %


def test_the_layer_is_the_identity_until_fit_and_saves_its_matrix(tmp_path):
    rng = np.random.default_rng(2)
    inputs = keras.Input((6,))
    embedding = keras.layers.UnitNormalization()(keras.layers.Dense(4, name="embedding")(inputs))
    plain = keras.Model(inputs, embedding)
    model = keras.Model(inputs, whitening.WithinClassWhitening(0.2, name=whitening.LAYER_NAME)(embedding))
    x = rng.normal(size=(80, 6)).astype("float32")
    y = np.repeat(np.arange(8), 10)
    np.testing.assert_allclose(model.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-6)
    assert whitening.fit(model, x, y, batch_size=16)
    expected = whitening.whitening_matrix(plain.predict(x, verbose=0), y, 0.2)
    np.testing.assert_allclose(whitening.whitening_layer(model).matrix.numpy(), expected, atol=1e-5)
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(out, plain.predict(x, verbose=0), atol=1e-3)
    assert not model.get_layer(whitening.LAYER_NAME).trainable_weights  # training never moves it
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), out, atol=1e-6)
    assert loaded.get_layer(whitening.LAYER_NAME).shrinkage == 0.2
    assert not whitening.fit(plain, x, y)  # no whitening layer: nothing to do


@pytest.mark.parametrize("bad", [-0.1, 1.5, "0.3", True, None])
def test_a_bad_shrinkage_is_one_line(bad):
    with pytest.raises(UsageError, match="shrinkage"):
        whitening.WithinClassWhitening(bad)


def test_errors_on_shapes_and_classes_without_variation():
    x = np.eye(3)
    with pytest.raises(UsageError, match="two examples"):
        whitening.whitening_matrix(x, np.arange(3))
    with pytest.raises(UsageError, match=r"\(n, d\)"):
        whitening.whitening_matrix(x, np.arange(4))
