"""kerascnn.models.siamese and kerascnn.nn.metric_layers: exact parameter counts, shared weights, pair heads
in closed form, and save/load of every head."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn import models  # noqa: E402
from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.nn.metric_layers import AbsoluteDifference, EuclideanDistance, WeightedChiSquare  # noqa: E402


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_koch_tower_has_the_papers_38_9_million_weights():
    tower = models.build("triplet", tower="koch")  # 105x105x1
    koch = sum(tower.get_layer(n).count_params() for n in ("conv1", "conv2", "conv3", "conv4", "fc"))
    assert koch == 38_947_648  # Koch et al. Figure 4: 10x10x64, 7x7x128, 4x4x128, 4x4x256, 9216 -> 4096
    assert tower.get_layer("conv4").output.shape[1:] == (6, 6, 256)
    assert tower.output_shape == (None, 128)


def test_small_tower_and_zoo_towers():
    small = models.build("triplet")  # 105x105x1, average-pooled to 35x35 first
    assert trainable(small) == 576 + 3 * 36_864 + 4 * 128 + 64 * 128 + 128
    assert small.get_layer("downsample").output.shape[1:3] == (35, 35)
    resnet = models.build("triplet", tower="resnet18", input_shape=(32, 32, 3))
    assert trainable(resnet) == 11_689_512 - 513_000 + 512 * 128 + 128  # ResNet-18 without its classifier
    with pytest.raises(UsageError, match="Unknown model 'resnet81'"):
        models.build("triplet", tower="resnet81")
    with pytest.raises(UsageError, match="Koch tower needs inputs of at least 65x65"):
        models.build("triplet", tower="koch", input_shape=(28, 28, 1))


@pytest.mark.parametrize("head, head_params", [("l1", 129), ("euclidean", 0), ("chi_square", 128)])
def test_siamese_shares_one_tower_and_round_trips(tmp_path, head, head_params):
    from kerascnn.models.siamese import find_tower
    from kerascnn.nn.saving import load_model

    model = models.build("siamese", tower="small", input_shape=(28, 28, 1), head=head)
    tower = find_tower(model)
    assert tower.name == "tower" and model.count_params() == tower.count_params() + head_params
    x = np.random.default_rng(0).uniform(0, 1, (2, 3, 28, 28, 1)).astype("float32")
    expected = model.predict([x[0], x[1]], verbose=0)
    same = model.predict([x[0], x[0]], verbose=0)
    if head != "l1":
        np.testing.assert_allclose(same, 0.0, atol=1e-3)  # a distance is 0 for identical images
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(load_model(tmp_path / "m.keras").predict([x[0], x[1]], verbose=0), expected, atol=1e-6)


def test_pair_layers_in_closed_form():
    a = np.array([[3.0, 0.0], [1.0, 0.0]], "float32")
    b = np.array([[0.0, 4.0], [0.0, 1.0]], "float32")
    np.testing.assert_allclose(AbsoluteDifference()([a, b]), [[3, 4], [1, 1]])
    np.testing.assert_allclose(EuclideanDistance()([a, b]), [[5.0], [np.sqrt(2)]], rtol=1e-6)
    # chi-square with unit weights: (3-0)^2/3 + (0-4)^2/4 = 7; (1)^2/1 + (1)^2/1 = 2.
    np.testing.assert_allclose(WeightedChiSquare()([a, b]), [[7.0], [2.0]], rtol=1e-5)
    config = keras.saving.serialize_keras_object(WeightedChiSquare(epsilon=1e-5))
    assert keras.saving.deserialize_keras_object(config).epsilon == 1e-5


def test_the_zoo_lists_siamese_and_triplet_as_embedding_models():
    for name in ("siamese", "triplet"):
        spec = models.get_spec(name)
        assert spec.task == "embedding" and spec.year == 2015 and spec.default_input_shape == (105, 105, 1)


def test_wide_tower_of_the_omniglot_recipe():
    wide = models.build("triplet", tower="wide")  # 105x105x1, average-pooled by 4 to 26x26 first
    assert wide.get_layer("downsample").output.shape[1:3] == (26, 26)
    # No max-pool after the last block: the global average covers its 4x4 ReLU maps (26 -> 13 -> 7 -> 4).
    assert wide.get_layer("avg_pool").input.shape[1:] == (4, 4, 256)
    assert "block4_pool" not in [layer.name for layer in wide.layers] and wide.get_layer("block3_pool")
    small = models.build("triplet", tower="small")
    assert small.get_layer("avg_pool").input is small.get_layer("block4_pool").output  # Vinyals' conv-4: 4 pools
    convs = 9 * 64 + 9 * 64 * 128 + 9 * 128 * 256 + 9 * 256 * 256
    assert trainable(wide) == convs + 2 * (64 + 128 + 2 * 256) + 256 * 128 + 128  # + BN gamma/beta + embedding


def test_an_ensemble_tower_concatenates_independent_members():
    ensemble = models.build("triplet", tower="small", input_shape=(28, 28, 1), embedding_dim=16, members=3)
    single = models.build("triplet", tower="small", input_shape=(28, 28, 1), embedding_dim=16)
    members = [ensemble.get_layer(f"member{k}") for k in (1, 2, 3)]
    assert ensemble.output.shape[1:] == (48,) and trainable(ensemble) == 3 * trainable(single)
    x = np.random.default_rng(0).normal(size=(5, 28, 28, 1)).astype("float32")
    parts = [member.predict(x, verbose=0) for member in members]  # each a unit embedding of its own
    out = ensemble.predict(x, verbose=0)
    np.testing.assert_allclose(out, np.concatenate(parts, axis=1) / np.sqrt(3), atol=1e-5)
    # The cosine of two ensemble embeddings is the mean of the members' cosines.
    np.testing.assert_allclose(out[0] @ out[1], np.mean([p[0] @ p[1] for p in parts]), atol=1e-5)
    assert models.build("siamese", tower="small", input_shape=(28, 28, 1), members=2).get_layer("tower").output.shape[
        1:] == (256,)
    with pytest.raises(ValueError, match="members"):
        models.build("triplet", tower="small", members=0)
