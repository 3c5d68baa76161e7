"""Every zoo model with a keras.applications reference computes the reference's function.

The reference is built with ``weights=None`` (nothing downloads), given random weights,
biases and BatchNorm parameters, and BatchNorm moving statistics from a forward pass
(an untrained deep network otherwise shrinks every input to the same output, and the
check would prove nothing). :func:`kerascnn.models.transfer.transfer_weights` copies it
into the zoo model, and the outputs (logits, so the classifier is compared too) must
agree within a relative 1e-5 on inputs whose outputs differ by far more.

These tests fail on the zoo before issue 10: DenseNet's and ResNet's asymmetric "same"
padding of strided layers and the BatchNorm epsilons of MobileNet and Inception-v3
(docs/zoo_fidelity.md lists the measured differences).
"""

from __future__ import annotations

import numpy as np
import pytest

import keras

from kerascnn import models
from kerascnn.core.errors import UsageError
from kerascnn.models import transfer
from test_models_modern import calibrate_batchnorm

# name -> the smallest input the reference takes at which every stride-2 layer sees an even side
# (the case where TensorFlow's "same" padding is asymmetric), builder arguments.
CASES = {
    "vgg16": ((64, 64, 3), {}),
    "vgg19": ((64, 64, 3), {}),
    "resnet50": ((64, 64, 3), {}),
    "resnet101": ((64, 64, 3), {}),
    "resnet152": ((64, 64, 3), {}),
    "densenet121": ((64, 64, 3), {}),
    "densenet169": ((64, 64, 3), {}),
    "densenet201": ((64, 64, 3), {}),
    "mobilenet_v1": ((64, 64, 3), {}),
    "mobilenet_v2": ((64, 64, 3), {}),
    "inception_v3": ((75, 75, 3), {}),
}
SLOW = {"vgg19", "resnet101", "resnet152", "densenet169", "densenet201"}  # one per family stays in the default run


def randomise(model: keras.Model, calibration: np.ndarray, seed: int = 0) -> None:
    """He-scaled kernels, random biases, BatchNorm statistics of ``calibration``, then random scales.

    He scaling keeps the signal of networks without BatchNorm (VGG) well above the biases.
    The moving statistics come from a forward pass (momentum 0) so the signal survives
    every BatchNorm; the scales are drawn afterwards, since a random deep network with
    *exactly* normalised layers is chaotic (Yang et al., "A Mean Field Theory of Batch
    Normalization", ICLR 2019): it amplifies float32 rounding by 1e3 over ResNet-152.
    """
    rng = np.random.default_rng(seed)
    batch_norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)  # kernel (h, w, channels, 1)
            fan_in = int(np.prod(kernel.shape[:-2] if depthwise else kernel.shape[:-1]))
            kernel.assign(rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel.shape))
        bias = layer.beta if layer in batch_norms else getattr(layer, "bias", None)
        if bias is not None:
            bias.assign(rng.normal(0.0, 0.05, bias.shape))
    calibrate_batchnorm(model, calibration)
    for layer in batch_norms:
        if layer.gamma is not None:
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape))




@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CASES]
)
def test_zoo_model_computes_the_reference_function(name):
    shape, kwargs = CASES[name]
    rng = np.random.default_rng(1)
    calibration, inputs = rng.normal(size=(4, *shape)).astype("float32"), rng.normal(size=(3, *shape)).astype("float32")
    reference = transfer.build_reference(name, input_shape=shape, classifier_activation=None, **kwargs)
    randomise(reference, calibration)
    model = models.build(name, input_shape=shape, classifier_activation=None, **kwargs)
    assert transfer.transfer_weights(reference, model) == len(transfer.weighted_layers(reference))

    expected = np.asarray(reference(inputs, training=False))
    # Not vacuous: different images give clearly different logits, and the logits are not flat.
    assert transfer.relative_difference(expected[0], expected[1]) > 1e-2
    assert np.ptp(expected[0]) > 1e-2 * np.max(np.abs(expected[0]))
    assert transfer.compare(reference, model, inputs) <= transfer.TOLERANCE


def test_every_reference_is_a_zoo_model_with_a_fidelity_case():
    assert set(transfer.REFERENCES) == set(CASES)
    assert set(transfer.REFERENCES) <= set(models.declared_names())


def test_conv_bias_folds_into_the_batchnorm_mean_and_a_1x1_conv_classifier_is_dense():
    """The two deliberate differences, in miniature: exact after the transfer."""
    inputs = np.random.default_rng(2).normal(size=(4, 8, 8, 3)).astype("float32")
    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(5, 3, use_bias=True)(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.GlobalAveragePooling2D(keepdims=True)(y)
    y = keras.layers.Reshape((7,))(keras.layers.Conv2D(7, 1)(y))
    reference = keras.Model(x, y)
    randomise(reference, inputs)

    x = keras.Input((8, 8, 3))
    y = keras.layers.Conv2D(5, 3, use_bias=False)(x)
    y = keras.layers.BatchNormalization()(y)
    y = keras.layers.Dense(7)(keras.layers.GlobalAveragePooling2D()(y))
    model = keras.Model(x, y)

    assert transfer.transfer_weights(reference, model) == 3
    assert transfer.compare(reference, model, inputs) < 1e-6


def test_a_model_of_another_shape_is_refused_naming_the_layers():
    reference = transfer.build_reference("mobilenet_v2", input_shape=(32, 32, 3), include_top=False)
    model = models.build("mobilenet_v2", input_shape=(32, 32, 3), alpha=0.5, include_top=False)
    with pytest.raises(ValueError, match="does not correspond to the reference's 'Conv1'"):
        transfer.transfer_weights(reference, model)


def test_padding_is_symmetric_and_counts_are_unchanged():
    """ZeroPadding2D + valid for the strided stem layers; parameters as published (MACs: tests/analysis)."""
    model = models.build("densenet121", input_shape=(32, 32, 3))
    assert model.get_layer("conv1_pad").padding == ((3, 3), (3, 3))
    assert model.get_layer("pool1_pad").padding == ((1, 1), (1, 1))
    assert model.get_layer("conv1_conv").padding == "valid"
    assert models.build("resnet18", input_shape=(32, 32, 3)).get_layer("conv3_block1_1_pad").padding == ((1, 1), (1, 1))


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("vgg11", {"input_shape": (32, 32, 3)}, "exist for: vgg16, vgg19, resnet50"),
        ("resnet18", {"input_shape": (32, 32, 3)}, "Received: model='resnet18'"),
        ("resnet50", {"classes": 10, "input_shape": (32, 32, 3)}, "need classes=1000 .*include_top=False"),
        ("densenet121", {"input_shape": (64, 64, 3)}, "input_shape=224x224x3"),
        ("inception_v3", {"aux_logits": True}, "Received: model='inception_v3_aux'"),
        ("mobilenet_v1", {"include_top": False, "input_shape": (64, 64, 1)}, "need 3 input channels"),
        ("mobilenet_v2", {"include_top": False, "input_shape": (64, 64, 3)}, "downloads are disabled"),
        ("vgg16", {"weights": "cifar", "input_shape": (32, 32, 3)}, "must be None or 'imagenet'"),
    ],
)
def test_imagenet_weights_bad_requests_are_one_line_errors(monkeypatch, name, kwargs, message):
    monkeypatch.setenv("KERASCNN_OFFLINE", "1")
    with pytest.raises(UsageError, match=message) as error:
        models.build(name, **{"weights": "imagenet", **kwargs})
    assert "\n" not in str(error.value)


def test_a_failing_download_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("KERASCNN_OFFLINE", "0")

    def no_network(*args, **kwargs):
        raise OSError("URL fetch failure on https://storage.googleapis.com/...: [Errno -3] name resolution\nmore")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", no_network)
    with pytest.raises(UsageError, match="Could not load the ImageNet weights of keras.applications.MobileNetV2: URL"):
        models.build("mobilenet_v2", include_top=False, input_shape=(96, 96, 3), weights="imagenet")


@pytest.mark.online
@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet50"])
def test_imagenet_weights_give_the_reference_predictions(monkeypatch, name):
    """Downloads the ImageNet weights (run with ``-m online``); the builder checks the transfer itself."""
    monkeypatch.setenv("KERASCNN_OFFLINE", "0")
    try:
        model = models.build(name, weights="imagenet")
    except UsageError as error:
        if "Could not load" in str(error):
            pytest.skip(f"no network: {error}")
        raise
    reference = transfer.build_reference(name, weights="imagenet")
    images = transfer.probe_images(reference.input_shape[1:], transfer.REFERENCES[name].preprocessing, count=3)
    expected = np.asarray(reference(images, training=False))
    assert transfer.relative_difference(expected[0], expected[1]) > 1e-3
    assert transfer.compare(reference, model, images) <= transfer.TOLERANCE


# ------------------------------------------------- `kerascnn train --weights imagenet` (training/modeling.py)


def test_training_with_imagenet_weights_uses_the_zoo_network_and_takes_rgb(monkeypatch):
    """kerascnn's own ResNet-50 gets the reference's weights; Caffe's BGR input becomes RGB in the first conv."""
    from keras.applications import imagenet_utils

    from kerascnn.training.modeling import build_training_model, find_backbone

    monkeypatch.setenv("KERASCNN_OFFLINE", "0")
    references = []

    def offline_reference(name, *, weights=None, **kwargs):  # the download, replaced by random weights
        references.append(build_reference(name, weights=None, **kwargs))
        return references[-1]

    build_reference = transfer.build_reference
    monkeypatch.setattr(transfer, "build_reference", offline_reference)
    model = build_training_model(
        "resnet50", image_shape=(32, 32, 3), num_classes=5, mean=[0.0] * 3, variance=[1.0] * 3, input_size=(32, 32),
        weights="imagenet",
    )
    backbone = find_backbone(model)
    assert backbone.get_layer("conv1_pad") and backbone.output_shape == (None, 5)  # the zoo's layers, a new head
    (reference,) = references

    images = np.random.default_rng(3).uniform(0, 255, size=(2, 32, 32, 3)).astype("float32")
    features = keras.Model(backbone.inputs, backbone.get_layer("avg_pool").output)
    rgb = features(model.get_layer("normalization")(images))
    bgr = reference(imagenet_utils.preprocess_input(images.copy(), mode="caffe"))
    assert transfer.relative_difference(bgr, rgb) <= transfer.TOLERANCE


def test_training_with_imagenet_weights_names_the_models_that_have_them():
    from kerascnn.training.modeling import build_training_model

    with pytest.raises(UsageError, match="exist for: vgg16, .* inception_v3. Received: model='alexnet'"):
        build_training_model("alexnet", image_shape=(32, 32, 3), num_classes=5, mean=[0.0] * 3, variance=[1.0] * 3,
                             weights="imagenet")
