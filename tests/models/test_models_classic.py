"""The classic half of the zoo: LeNet-5, AlexNet, ZFNet, VGG, NiN, GoogLeNet, Inception-v3, FaceNet NN1.

Parameter counts are checked against the published numbers (DESIGN.md's table,
the papers, torchvision) at the papers' input sizes; shapes, minimum inputs,
errors and save/load round trips use small inputs to stay fast.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerascnn import models

from kerascnn.analysis import summary
from kerascnn.nn.layers import L2Normalize, LocalResponseNormalization, Maxout

CLASSIC = (
    "lenet5", "alexnet", "zfnet", "vgg11", "vgg13", "vgg16", "vgg19", "nin", "googlenet", "inception_v3", "facenet_nn1"
)

# name, build kwargs, trainable parameters, output shape (default input, 1000 classes unless noted).
PUBLISHED = [
    ("lenet5", {}, 61_706, (None, 10)),  # C1 156 + C3 2,416 + C5 48,120 + F6 10,164 + out 850
    ("alexnet", {}, 62_378_344, (None, 1000)),  # DESIGN.md: the lecture's one-tower AlexNet
    ("zfnet", {}, 62_357_608, (None, 1000)),  # AlexNet - conv1 (34,944) + 7x7x3x96 conv1 (14,208)
    ("zfnet", {"wide": True}, 107_627_624, (None, 1000)),  # conv3-5 of 512-1024-512
    ("vgg11", {}, 132_863_336, (None, 1000)),
    ("vgg13", {}, 133_047_848, (None, 1000)),
    ("vgg16", {}, 138_357_544, (None, 1000)),
    ("vgg19", {}, 143_667_240, (None, 1000)),
    ("vgg16", {"batch_norm": True}, 138_361_768, (None, 1000)),  # torchvision vgg16_bn minus 4,224 conv biases
    ("nin", {}, 7_595_176, (None, 1000)),
    ("googlenet", {}, 6_998_552, (None, 1000)),  # Table 1's "6.8M": weights only, K = 1,024
    ("googlenet", {"aux_logits": True}, 13_378_280, [(None, 1000)] * 3),
    ("inception_v3", {}, 23_834_568, (None, 1000)),  # torchvision inception_v3(aux_logits=False)
    ("inception_v3", {"aux_logits": True}, 27_161_264, [(None, 1000)] * 2),  # torchvision with aux
    ("facenet_nn1", {}, 140_025_664, (None, 128)),  # Table 1: 140M
]


def trainable_params(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.fixture
def shapes_only():
    """Build without filling 100M+ weights with random numbers: these checks need shapes only."""
    with summary.shapes_only():
        yield


@pytest.mark.parametrize(
    ("name", "kwargs", "expected", "output_shape"),
    PUBLISHED,
    ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw, *_ in PUBLISHED],
)
def test_published_parameter_counts(shapes_only, name, kwargs, expected, output_shape):
    model = models.build(name, **kwargs)
    assert trainable_params(model) == expected
    assert model.output_shape == output_shape
    assert model.input_shape[1:] == models.get_spec(name).default_input_shape
    # No bias before BatchNorm (BN's beta replaces it): conv_bn_act names them X_conv -> X_bn.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            assert model.get_layer(layer.name.removesuffix("_bn") + "_conv").use_bias is False, layer.name


@pytest.mark.parametrize(
    ("name", "published_macs"),
    [("alexnet", 1.1e9), ("googlenet", 1.5e9), ("facenet_nn1", 1.6e9)],
)
def test_multiply_adds_match_the_papers(name, published_macs):
    # AlexNet ~1.1 G (lecture), GoogLeNet ~1.5 G (paper, section 5), FaceNet NN1 1.6 G "FLOPS" (Table 1).
    assert summary.summarize_zoo(name).macs == pytest.approx(published_macs, rel=0.06)


def test_registry_metadata():
    for name in CLASSIC:
        spec = models.get_spec(name)
        assert name in models.names()
        assert spec.paper and 1998 <= spec.year <= 2015 and spec.family
        assert "Reference" in spec.builder.__doc__
    assert models.get_spec("facenet_nn1").task == "embedding"
    assert models.get_spec("vgg16").fixed_kwargs == {"depth": 16}
    assert [n for n in models.names() if n.startswith("vgg")] == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert "facenet_nn1" in models.names(task="embedding")
    assert "facenet_nn1" not in models.names(task="classification")


# The smallest input side each network takes (its downsampling reduces it to a 1x1 map,
# or to the 5x5 an auxiliary head's pooling needs), with options that change it.
MIN_SIZES = [
    ("lenet5", {}, 16),
    ("alexnet", {}, 67),
    ("zfnet", {}, 53),
    ("vgg13", {}, 32),
    ("nin", {}, 67),
    ("googlenet", {}, 32),
    ("googlenet", {"aux_logits": True}, 65),
    ("inception_v3", {}, 75),
    ("inception_v3", {"aux_logits": True}, 299),
    ("facenet_nn1", {}, 32),
]
MIN_SIZE_IDS = [f"{n}-{size}" for n, _, size in MIN_SIZES]


@pytest.mark.parametrize(("name", "kwargs", "size"), MIN_SIZES, ids=MIN_SIZE_IDS)
def test_inputs_below_the_minimum_are_rejected(name, kwargs, size):
    with pytest.raises(ValueError, match=rf"at least {size}x{size}.*input_shape=\({size}, {size - 1}, 3\)"):
        models.build(name, input_shape=(size, size - 1, 3), **kwargs)


# Builds at exactly the minimum (googlenet-65 and inception_v3-299 are built by other tests).
SMALLEST = [
    ("lenet5", {"input_shape": (16, 16, 1)}, (None, 10)),
    ("alexnet", {"input_shape": (67, 67, 3), "include_top": False}, (None, 1, 1, 256)),
    ("zfnet", {"input_shape": (53, 53, 3), "classes": 5}, (None, 5)),
    ("vgg13", {"input_shape": (32, 32, 1), "include_top": False, "pooling": "max"}, (None, 512)),
    ("nin", {"input_shape": (67, 67, 1), "classes": 10}, (None, 10)),
    ("googlenet", {"input_shape": (32, 32, 3), "include_top": False}, (None, 1, 1, 1024)),
    ("inception_v3", {"input_shape": (75, 75, 3), "include_top": False, "pooling": "avg"}, (None, 2048)),
    ("facenet_nn1", {"input_shape": (32, 32, 3), "include_top": False}, (None, 1, 1, 256)),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "output_shape"), SMALLEST, ids=[f"{n}-{kw['input_shape'][0]}" for n, kw, _ in SMALLEST]
)
def test_smallest_inputs_build(shapes_only, name, kwargs, output_shape):
    assert models.build(name, **kwargs).output_shape == output_shape


@pytest.mark.parametrize(
    ("name", "kwargs", "output_shape", "params"),
    [
        ("lenet5", {"input_shape": (28, 28, 1)}, (None, 10), 44_426),  # 256 flattened features instead of 400
        # 9,220,480 conv + fc6 on a 2x1x512 map (4,198,400) + fc7 (16,781,312) + 10 classes (40,970)
        ("vgg11", {"input_shape": (64, 48, 3), "classes": 10}, (None, 10), 30_241_162),
        ("alexnet", {"include_top": False, "pooling": "avg"}, (None, 256), 3_747_200),  # the five convs
        ("nin", {"include_top": False}, (None, 5, 5, 384), 1_980_608),  # mlpconv1-3
        ("facenet_nn1", {"include_top": False, "pooling": "max"}, (None, 256), 3_169_984),  # conv1-conv6
    ],
    ids=["lenet5-28", "vgg11-64x48", "alexnet-notop-avg", "nin-notop", "facenet-notop-max"],
)
def test_other_inputs_and_headless_models(shapes_only, name, kwargs, output_shape, params):
    model = models.build(name, **kwargs)
    assert model.output_shape == output_shape
    assert trainable_params(model) == params


def test_layer_names_are_deterministic_and_follow_the_papers(shapes_only):
    first = models.build("googlenet", input_shape=(32, 32, 3), classes=4)
    second = models.build("googlenet", input_shape=(32, 32, 3), classes=4)
    assert [layer.name for layer in first.layers] == [layer.name for layer in second.layers]
    names = {layer.name for layer in first.layers}
    expected = {"conv1_7x7", "inception3a_1x1", "inception3a_5x5_reduce", "inception5b_output", "pool4", "predictions"}
    assert expected <= names
    vgg = {layer.name for layer in models.build("vgg16", input_shape=(32, 32, 3), classes=2).layers}
    assert {"block1_conv1", "block5_conv3", "block5_pool", "fc6", "fc7", "predictions"} <= vgg
    alexnet = {layer.name for layer in models.build("alexnet", input_shape=(67, 67, 3), lrn=True).layers}
    assert {"conv1", "norm1", "pool1", "norm2", "pool5", "fc6", "drop7", "predictions"} <= alexnet


def test_lenet5_classic_variant():
    model = models.build("lenet5", activation="tanh", subsampling="avg")
    assert isinstance(model.get_layer("s2"), keras.layers.AveragePooling2D)
    assert model.get_layer("c1").activation.__name__ == "tanh"
    assert trainable_params(model) == 61_706
    default = models.build("lenet5")
    assert isinstance(default.get_layer("s4"), keras.layers.MaxPooling2D)
    assert default.get_layer("f6").activation.__name__ == "relu"


# Models saved and reloaded: every custom layer, BatchNorm (googlenet), multiple outputs.
ROUND_TRIPS = {
    "lenet5": {"input_shape": (28, 28, 1)},
    "alexnet": {"input_shape": (67, 67, 3), "classes": 5, "lrn": True},
    "googlenet": {"input_shape": (65, 65, 3), "classes": 4, "lrn": True, "aux_logits": True, "batch_norm": True},
    "facenet_nn1": {"input_shape": (32, 32, 3), "lrn": True, "embedding_dim": 16},
}


@pytest.fixture(scope="module")
def small_model():
    """``small_model(name)``: the ``ROUND_TRIPS`` model with random weights, built once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            keras.utils.set_random_seed(0)
            cache[name] = models.build(name, **ROUND_TRIPS[name])
        return cache[name]

    return get


def random_images(model, count=2):
    return np.random.default_rng(1).uniform(0, 1, size=(count, *model.input_shape[1:])).astype("float32")


@pytest.mark.parametrize("name", ROUND_TRIPS)
def test_save_and_load_give_identical_outputs(tmp_path, small_model, name):
    model = small_model(name)
    images = random_images(model)
    if any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers):
        model(images, training=True)  # move BN statistics away from their initial values
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    expected, actual = (keras.tree.flatten(m(images, training=False)) for m in (model, loaded))
    assert len(expected) == len(actual) == len(model.outputs)
    for want, got in zip(expected, actual):
        want, got = keras.ops.convert_to_numpy(want), keras.ops.convert_to_numpy(got)
        np.testing.assert_array_equal(got, want)
        assert not np.allclose(want[0], want[1])  # the check is not vacuous: different inputs, different outputs
    custom = {LocalResponseNormalization, Maxout, L2Normalize}
    assert {type(layer) for layer in loaded.layers} & custom == {type(layer) for layer in model.layers} & custom


def test_facenet_embeddings_are_unit_vectors(small_model):
    model = small_model("facenet_nn1")
    assert isinstance(model.get_layer("fc1_maxout"), Maxout)
    assert model.get_layer("fc1").units == 8192 and model.get_layer("fc1_maxout").output.shape == (None, 4096)
    embeddings = keras.ops.convert_to_numpy(model(random_images(model, 3)))
    assert embeddings.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("vgg16", {"alpha": 0.5}, r"does not take the argument 'alpha'\. Allowed: include_top, .*batch_norm"),
        ("alexnet", {"pooling": "mean"}, r"`pooling`.*None, 'avg', 'max'.*pooling='mean'"),
        ("lenet5", {"classes": 0}, r"`classes`.*positive.*classes=0"),
        ("lenet5", {"activation": "gelu"}, r"`activation`.*'relu', 'tanh', 'sigmoid'.*activation='gelu'"),
        ("lenet5", {"subsampling": "min"}, r"`subsampling`.*'max', 'avg'"),
        ("vgg19", {"batch_norm": "yes"}, r"`batch_norm`.*False, True.*batch_norm='yes'"),
        ("zfnet", {"dropout": 1.0}, r"`dropout`.*\[0, 1\).*dropout=1\.0"),
        ("googlenet", {"aux_logits": True, "include_top": False}, r"aux_logits=True, include_top=False"),
        ("inception_v3", {"input_shape": (299, 299)}, r"input_shape.*3 positive integers"),
        ("facenet_nn1", {"classes": 10}, r"does not take the argument 'classes'.*embedding_dim"),
        ("facenet_nn1", {"embedding_dim": 0}, r"`embedding_dim`.*embedding_dim=0"),
        ("nin", {"input_shape": "big"}, r"input_shape='big'"),
    ],
    ids=[
        "unknown-option", "bad-pooling", "zero-classes", "bad-activation", "bad-subsampling", "non-bool-flag",
        "bad-dropout", "aux-without-top", "2d-input-shape", "facenet-classes",
        "bad-embedding-dim", "non-numeric-shape",
    ],
)
def test_bad_arguments_name_the_argument_and_allowed_values(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build(name, **kwargs)
