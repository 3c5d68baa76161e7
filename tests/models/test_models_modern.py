"""The modern half of the zoo: ResNets, ResNeXt, WRN, DenseNet, SE-ResNet, SqueezeNet, MobileNets.

Parameter counts are checked exactly against the published/torchvision numbers
(DESIGN.md's table); the largest networks are ``slow``. Every big model is built
once per module through the ``zoo`` fixture.
"""

from __future__ import annotations

import numpy as np
import pytest

import keras

from kerascnn import models
from kerascnn.core.errors import UsageError
from kerascnn.models.common import intermediate_outputs
from kerascnn.models.densenet import densenet
from kerascnn.models.mobilenet import make_divisible, mobilenet_v1, mobilenet_v2
from kerascnn.nn.layers import ZeroPadShortcut
from kerascnn.models.resnet import cifar_resnet, preact_resnet, resnet, resnext, wide_resnet
from kerascnn.models.senet import se_resnet
from kerascnn.models.squeezenet import squeezenet

# name -> (trainable parameters at the default input and classes, the paper's rounded figure in millions).
PUBLISHED = {
    "resnet18": (11_689_512, 11.7),
    "resnet34": (21_797_672, 21.8),
    "resnet50": (25_557_032, 25.6),
    "resnet101": (44_549_160, 44.5),
    "resnet152": (60_192_808, 60.2),
    "resnet20": (269_722, 0.27),
    "resnet32": (464_154, 0.46),
    "resnet44": (658_586, 0.66),
    "resnet56": (853_018, 0.85),
    "resnet110": (1_727_962, 1.7),
    "preact_resnet18": (11_687_720, 11.7),
    "resnext50_32x4d": (25_028_904, 25.0),
    "wide_resnet28_10": (36_479_194, 36.5),
    "densenet121": (7_978_856, 8.0),
    "densenet169": (14_149_480, 14.1),
    "densenet201": (20_013_928, 20.0),
    "se_resnet50": (28_088_024, 28.09),
    "squeezenet1_0": (1_248_424, 1.25),
    "squeezenet1_1": (1_235_496, 1.24),
    "mobilenet_v1": (4_231_976, 4.2),
    "mobilenet_v2": (3_504_872, 3.5),
}
SLOW = {"resnet101", "resnet152", "densenet169", "densenet201"}


def trainable_params(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def calibrate_batchnorm(model: keras.Model, x: np.ndarray) -> None:
    """Set every BatchNorm's moving statistics to those of ``x``.

    An untrained deep network with initial BN statistics shrinks its signal to
    ~1e-12, so every input gets the same output and an equality check proves nothing.
    """
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    model(x, training=True)
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum


@pytest.fixture(scope="module")
def zoo():
    """``zoo(name)``: the registered model with default arguments, built once per module."""
    cache: dict[str, keras.Model] = {}

    def get(name: str) -> keras.Model:
        if name not in cache:
            cache[name] = models.build(name)
        return cache[name]

    yield get
    cache.clear()
    keras.backend.clear_session()


# --------------------------------------------------------------------------- registry and parameter counts


def test_every_modern_model_is_registered_with_its_paper():
    for name in PUBLISHED:
        spec = models.get_spec(name)
        assert spec.paper and spec.family and 2015 <= spec.year <= 2018, name
        assert spec.task == "classification"
    assert models.get_spec("resnet20").default_input_shape == (32, 32, 3)
    assert models.get_spec("wide_resnet28_10").default_input_shape == (32, 32, 3)
    assert models.get_spec("densenet121").default_input_shape == (224, 224, 3)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in PUBLISHED]
)
def test_trainable_params_match_published(zoo, name):
    exact, paper_millions = PUBLISHED[name]
    model = zoo(name)
    spec = models.get_spec(name)
    count = trainable_params(model)
    assert count == exact
    digits = len(str(paper_millions).split(".")[1])
    assert round(count / 1e6, digits) == paper_millions
    assert model.input_shape == (None, *spec.default_input_shape)
    classes = 10 if spec.default_input_shape[0] == 32 else 1000
    assert model.output_shape == (None, classes)


def test_no_bias_before_batchnorm(zoo):
    for name in ("resnet50", "densenet121", "mobilenet_v2", "resnext50_32x4d"):
        model = zoo(name)
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                producer = layer.input._keras_history.operation
                if isinstance(producer, keras.layers.Conv2D):  # DepthwiseConv2D included
                    assert not producer.use_bias, f"{name}: {producer.name} has a bias before {layer.name}"


@pytest.mark.parametrize(
    ("alpha", "exact", "paper_millions"),
    [(0.75, 2_585_560, 2.6), (0.5, 1_331_592, 1.3), (0.25, 470_072, 0.5)],
)
def test_mobilenet_v1_width_multiplier(alpha, exact, paper_millions):
    model = mobilenet_v1(alpha=alpha)
    assert trainable_params(model) == exact
    assert round(exact / 1e6, 1) == paper_millions
    assert model.get_layer("block13_pw_conv").filters == int(1024 * alpha)


def test_mobilenet_v2_width_multiplier_rounds_channels_to_multiples_of_8():
    model = mobilenet_v2(alpha=0.35, include_top=False, input_shape=(96, 96, 3))
    assert trainable_params(model) == 396_128  # keras.applications MobileNetV2(alpha=0.35) without top
    assert model.get_layer("conv1_conv").filters == 16  # 32 * 0.35 = 11.2 -> 16
    assert model.get_layer("block17_project_conv").filters == 112  # 320 * 0.35
    assert model.output_shape == (None, 3, 3, 1280)  # the last conv keeps 1280 for alpha <= 1
    assert [make_divisible(v) for v in (11.2, 8.4, 35.0, 60.0)] == [16, 8, 32, 64]


# --------------------------------------------------------------------------- layer names and structure


def test_resnet_layer_names_follow_keras_applications(zoo):
    model = zoo("resnet50")
    names = {layer.name for layer in model.layers}
    for stage, blocks in ((2, 3), (3, 4), (4, 6), (5, 3)):
        assert f"conv{stage}_block{blocks}_out" in names
        assert f"conv{stage}_block1_0_conv" in names  # projection shortcut of each stage
        assert f"conv{stage}_block2_0_conv" not in names  # identity shortcuts afterwards
    assert {"conv1_conv", "conv1_bn", "conv1_relu", "pool1_pool", "avg_pool", "predictions"} <= names
    # stride on the first 1x1 conv, as in the paper and keras.applications
    assert model.get_layer("conv3_block1_1_conv").strides == (2, 2)


def test_resnet_stages_halve_the_resolution_and_can_be_probed(zoo):
    model = zoo("resnet18")
    assert "conv2_block1_0_conv" not in {layer.name for layer in model.layers}  # 64 -> 64: identity
    stage_ends = ["conv2_block2_out", "conv3_block1_out", "conv4_block2_out", "conv5_block2_out"]
    probe = intermediate_outputs(model, stage_ends)
    shapes = {name: tuple(t.shape) for name, t in probe.output.items()}
    assert shapes == {
        "conv2_block2_out": (None, 56, 56, 64),
        "conv3_block1_out": (None, 28, 28, 128),
        "conv4_block2_out": (None, 14, 14, 256),
        "conv5_block2_out": (None, 7, 7, 512),
    }


def test_freezing_up_to_a_named_layer():
    model = models.build("resnet18", input_shape=(64, 64, 3), classes=5)
    cut = [layer.name for layer in model.layers].index("conv4_block1_out")
    for layer in model.layers[: cut + 1]:
        layer.trainable = False
    assert not model.get_layer("conv3_block2_2_conv").trainable
    assert model.get_layer("conv4_block2_1_conv").trainable
    # left trainable: conv4_block2 (two 3x3x256x256 convs + BNs), conv5, the 512 -> 5 classifier
    conv4_block2 = 2 * 3 * 3 * 256 * 256 + 2 * 2 * 256
    conv5 = 3 * 3 * 256 * 512 + 3 * 3 * 512 * 512 * 3 + 256 * 512 + 4 * 2 * 512 + 2 * 512
    assert trainable_params(model) == conv4_block2 + conv5 + 512 * 5 + 5


def test_resnext_uses_32_groups_of_4_channels(zoo):
    conv = zoo("resnext50_32x4d").get_layer("conv2_block1_2_conv")
    assert conv.groups == 32 and tuple(conv.kernel.shape) == (3, 3, 4, 128)
    assert zoo("resnext50_32x4d").get_layer("conv3_block1_2_conv").strides == (2, 2)  # stride on the 3x3


def test_densenet_layer_names_and_transitions(zoo):
    model = zoo("densenet121")
    assert model.get_layer("conv2_block6_concat").output.shape == (None, 56, 56, 64 + 6 * 32)
    assert model.get_layer("pool2_pool").output.shape == (None, 28, 28, 128)
    assert model.get_layer("conv5_block16_concat").output.shape == (None, 7, 7, 1024)
    assert model.get_layer("relu").output.shape == (None, 7, 7, 1024)


def test_se_resnet_adds_one_excitation_per_block(zoo):
    model = zoo("se_resnet50")
    excites = [layer.name for layer in model.layers if layer.name.endswith("_se_excite")]
    assert len(excites) == 3 + 4 + 6 + 3
    reduce = model.get_layer("conv5_block3_se_reduce")
    assert tuple(reduce.kernel.shape) == (1, 1, 2048, 2048 // 16)
    assert "conv5_block3_out" in {layer.name for layer in model.layers}


def test_mobilenet_v1_follows_the_paper_table(zoo):
    model = zoo("mobilenet_v1")
    depthwise = [layer for layer in model.layers if isinstance(layer, keras.layers.DepthwiseConv2D)]
    assert len(depthwise) == 13
    assert [layer.output.shape[1] for layer in depthwise] == [112, 56, 56, 28, 28, 14, 14, 14, 14, 14, 14, 7, 7]
    assert model.get_layer("block13_pw_relu6").output.shape == (None, 7, 7, 1024)


def test_mobilenet_v2_inverted_residuals(zoo):
    model = zoo("mobilenet_v2")
    adds = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Add)]
    # repeats n-1 of each stage of paper Table 2 keep their shape: 1 + 2 + 3 + 2 + 2 = 10
    assert len(adds) == 10
    assert "block1_expand_conv" not in {layer.name for layer in model.layers}  # t = 1
    assert model.get_layer("block2_expand_conv").filters == 6 * 16
    assert model.get_layer("top_relu6").output.shape == (None, 7, 7, 1280)


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(("size", "side"), [(128, 4), (160, 5), (192, 6), (225, 8)])
def test_mobilenet_v1_takes_any_resolution(size, side):
    model = mobilenet_v1(alpha=0.25, input_shape=(size, size, 3), include_top=False)
    assert model.output_shape == (None, side, side, 256)
    assert trainable_params(model) == 470_072 - (256 * 1000 + 1000)  # the resolution changes no weight


@pytest.mark.parametrize("depth", [20, 32])
def test_cifar_resnets_on_32x32(depth):
    model = cifar_resnet(depth, include_top=False)
    assert model.output_shape == (None, 8, 8, 64)
    assert model.get_layer("conv2_block1_out").output.shape == (None, 32, 32, 16)
    assert model.get_layer("conv3_block1_0_pad").output.shape == (None, 16, 16, 32)
    n = (depth - 2) // 6
    assert sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers) == 6 * n + 1
    assert cifar_resnet(depth, include_top=False, pooling="avg").output_shape == (None, 64)


@pytest.mark.parametrize(
    ("builder", "kwargs", "shape"),
    [
        (resnet, dict(depth=18, input_shape=(64, 64, 3), pooling="max"), (None, 512)),
        (preact_resnet, dict(input_shape=(32, 32, 3), pooling="avg"), (None, 512)),
        (squeezenet, dict(version="1.1", pooling=None), (None, 13, 13, 512)),
        (squeezenet, dict(version="1.0", pooling="avg"), (None, 512)),
        (mobilenet_v2, dict(alpha=0.5, input_shape=(160, 160, 3), pooling="max"), (None, 1280)),
        (wide_resnet, dict(depth=16, width=2, pooling=None), (None, 8, 8, 128)),
    ],
)
def test_feature_extractors(builder, kwargs, shape):
    model = builder(include_top=False, **kwargs)
    assert model.output_shape == shape
    assert "predictions" not in {layer.name for layer in model.layers}


def test_squeezenet_pools_round_up_like_caffe():
    model = squeezenet("1.0", include_top=False)
    sides = [model.get_layer(n).output.shape[1] for n in ("conv1", "pool1", "pool2", "pool3")]
    assert sides == [109, 54, 27, 13]  # torchvision's ceil_mode sizes
    model = squeezenet("1.1", include_top=False)
    assert [model.get_layer(n).output.shape[1] for n in ("conv1", "pool1", "pool2", "pool3")] == [111, 55, 27, 13]


def test_custom_classes_and_logits():
    model = models.build("resnet20", classes=100, classifier_activation=None)
    assert model.output_shape == (None, 100)
    assert model.get_layer("predictions").activation is keras.activations.linear


def test_zero_pad_shortcut_subsamples_and_appends_zero_channels():
    x = np.arange(2 * 5 * 5 * 3, dtype="float32").reshape(2, 5, 5, 3)
    y = keras.ops.convert_to_numpy(ZeroPadShortcut(8, strides=2)(x))
    assert y.shape == (2, 3, 3, 8)
    np.testing.assert_array_equal(y[..., :3], x[:, ::2, ::2, :])
    assert not y[..., 3:].any()
    assert not ZeroPadShortcut(8).weights


# --------------------------------------------------------------------------- save / load


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("resnet20", {}),
        ("squeezenet1_1", dict(input_shape=(64, 64, 3), classes=7)),
        ("mobilenet_v2", dict(alpha=0.35, input_shape=(32, 32, 3), classes=5)),
    ],
)
def test_keras_round_trip_gives_identical_outputs(tmp_path, name, kwargs):
    model = models.build(name, classifier_activation=None, **kwargs)
    x = np.random.default_rng(0).uniform(-1, 1, (4, *model.input_shape[1:])).astype("float32")
    calibrate_batchnorm(model, x)
    expected = keras.ops.convert_to_numpy(model(x))
    assert expected.std(axis=0).max() > 1e-3 * np.abs(expected).max() > 0  # outputs depend on the input
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), expected, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: models.build("mobilenet_v1", alpha=0.3), r"`alpha`.*0\.25.*Received: alpha=0\.3"),
        (lambda: models.build("mobilenet_v2", alpha=0.25), r"`alpha`.*1\.4.*Received: alpha=0\.25"),
        (lambda: models.build("mobilenet_v1", alpha="1.0"), r"Received: alpha='1\.0'"),
        (lambda: models.build("resnet50", input_shape=(16, 16, 3)), r"at least 32x32"),
        (lambda: models.build("mobilenet_v1", input_shape=(31, 64, 3)), r"at least 32x32"),
        (lambda: models.build("resnet20", input_shape=(4, 4, 3)), r"at least 8x8"),
        (lambda: models.build("resnet20", input_shape=(32, 32)), r"input_shape"),
        (lambda: models.build("resnet50", alpha=0.5), r"does not take the argument 'alpha'"),
        (lambda: models.build("resnet20", depth=21), r"does not take the argument 'depth'"),
        (lambda: models.build("densenet121", pooling="mean"), r"`pooling`.*Received: pooling='mean'"),
        (lambda: models.build("squeezenet1_0", classes=0), r"`classes`.*Received: classes=0"),
        (lambda: models.build("resnet51"), r"Unknown model 'resnet51'\. Did you mean: .*resnet50"),
        (lambda: resnet(depth=42), r"`depth`.*Received: depth=42"),
        (lambda: cifar_resnet(depth=21), r"6n \+ 2.*Received: depth=21"),
        (lambda: wide_resnet(depth=27), r"6n \+ 4.*Received: depth=27"),
        (lambda: wide_resnet(dropout_rate=1.5), r"Received: dropout_rate=1\.5"),
        (lambda: wide_resnet(width=0), r"`width`.*Received: width=0"),
        (lambda: preact_resnet(depth=50), r"`depth`.*Received: depth=50"),
        (lambda: resnext(cardinality=0), r"`cardinality`.*Received: cardinality=0"),
        (lambda: densenet(depth=100), r"`depth`.*121.*Received: depth=100"),
        (lambda: se_resnet(ratio=0), r"`ratio`.*Received: ratio=0"),
        (lambda: squeezenet(version="2.0"), r"`version`.*Received: version='2\.0'"),
    ],
)
def test_bad_arguments_raise_value_error(call, match):
    with pytest.raises(UsageError, match=match):
        call()
    assert issubclass(UsageError, ValueError)
