"""Weight transfer from ``keras.applications`` into the zoo: the fidelity proof and ImageNet weights.

Equal parameter counts do not prove equal functions. A zoo model *computes what its
reference computes* when the reference's weights, copied in, give the same outputs on
inputs whose outputs differ. :func:`transfer_weights` does the copying, and the same
code serves two purposes:

* the equivalence tests (``tests/models/test_zoo_fidelity.py``) build the reference with
  ``weights=None``, give it random weights, biases and BatchNorm statistics (so the
  signal survives ~150 layers), transfer, and compare outputs (no download);
* ``weights="imagenet"`` in a builder downloads keras.applications' weights, transfers
  them into kerascnn's own model and checks the result the same way (:func:`apply_weights`).

The mapping (docs/zoo_fidelity.md): the layers that hold weights, in graph order, pair
one to one (the builders create layers in the reference's order), and each pair must
be the same kind of layer with the same shapes:

* ``Conv2D``/``DepthwiseConv2D``/``Dense``: kernel and bias copied as they are.
* A conv **bias in front of BatchNorm** (keras.applications' ResNets): kerascnn's conv
  has none, by design, since BatchNorm subtracts it again. ``BN(conv(x) + b)`` with moving
  mean ``m`` equals ``BN(conv(x))`` with moving mean ``m - b``, so ``b`` folds into the mean.
* BatchNorm **without a scale** (keras.applications' Inception-v3): gamma = 1.
* A **1x1-conv classifier** (keras.applications' MobileNet ``conv_preds``) on a 1x1 map
  is a ``Dense`` layer: its ``(1, 1, C, K)`` kernel reshapes to ``(C, K)``.

References:
    Keras team, ``keras.applications`` (keras/src/applications).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerascnn.core.errors import UsageError, first_line

# Largest relative max |difference| between a zoo model and its reference (float32).
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Reference:
    """The keras.applications network a zoo model computes the same function as."""

    application: str  # keras.applications attribute, e.g. "ResNet50"
    preprocessing: str  # keras.applications.imagenet_utils.preprocess_input mode: "caffe", "tf" or "torch"
    input_shape: tuple[int, int, int] = (224, 224, 3)  # ImageNet resolution of its classifier
    options: tuple[str, ...] = ()  # builder arguments the reference takes too (the width multiplier)


REFERENCES = {
    "vgg16": Reference("VGG16", "caffe"),
    "vgg19": Reference("VGG19", "caffe"),
    "resnet50": Reference("ResNet50", "caffe"),
    "resnet101": Reference("ResNet101", "caffe"),
    "resnet152": Reference("ResNet152", "caffe"),
    "densenet121": Reference("DenseNet121", "torch"),
    "densenet169": Reference("DenseNet169", "torch"),
    "densenet201": Reference("DenseNet201", "torch"),
    "mobilenet_v1": Reference("MobileNet", "tf", options=("alpha",)),
    "mobilenet_v2": Reference("MobileNetV2", "tf", options=("alpha",)),
    "inception_v3": Reference("InceptionV3", "tf", input_shape=(299, 299, 3)),
}


def reference_for(name: str) -> Reference:
    """The reference of zoo model ``name``; a one-line error naming the models that have one."""
    if name not in REFERENCES:
        raise UsageError(
            f"ImageNet weights (keras.applications) exist for: {', '.join(REFERENCES)}. Received: model={name!r}"
        )
    return REFERENCES[name]


def build_reference(name: str, *, weights=None, **kwargs):
    """``keras.applications.<Reference>(weights=weights, **kwargs)`` for zoo model ``name``."""
    import keras

    return getattr(keras.applications, reference_for(name).application)(weights=weights, **kwargs)


def weighted_layers(model) -> list:
    """The layers of ``model`` that hold weights, in graph order."""
    return [layer for layer in model.layers if layer.weights]


def _kind(layer) -> str:
    from keras import layers

    for kind in (layers.BatchNormalization, layers.DepthwiseConv2D, layers.Conv2D, layers.Dense):
        if isinstance(layer, kind):
            return kind.__name__
    return type(layer).__name__


def _mismatch(source, target, what: str) -> ValueError:
    return ValueError(
        f"Layer {target.name!r} ({_kind(target)}) does not correspond to the reference's {source.name!r} "
        f"({_kind(source)}): {what}."
    )


def _kernel(source, target) -> np.ndarray:
    """The source kernel in the target's shape (a 1x1-conv classifier becomes a Dense kernel)."""
    kernel = np.asarray(source.kernel)
    shape = tuple(target.kernel.shape)
    if kernel.shape == shape:
        return kernel
    if _kind(source) == "Conv2D" and _kind(target) == "Dense" and kernel.shape[:2] == (1, 1) and kernel.shape[2:] == shape:
        return kernel.reshape(shape)
    raise _mismatch(source, target, f"kernel {kernel.shape} vs {shape}")


def _copy_batch_norm(source, target, folded_bias) -> None:
    """Copy BatchNorm state; a missing scale is gamma = 1; a preceding conv bias folds into the mean."""
    if _kind(source) != "BatchNormalization":
        raise _mismatch(source, target, "expected a BatchNormalization")
    channels = int(target.moving_mean.shape[0])
    if int(source.moving_mean.shape[0]) != channels:
        raise _mismatch(source, target, f"{int(source.moving_mean.shape[0])} vs {channels} channels")
    if target.gamma is None or target.beta is None:
        raise _mismatch(source, target, "the zoo's BatchNorm has no scale or centre to copy into")
    gamma = np.asarray(source.gamma) if source.gamma is not None else np.ones(channels, "float32")
    beta = np.asarray(source.beta) if source.beta is not None else np.zeros(channels, "float32")
    mean = np.asarray(source.moving_mean) - (folded_bias if folded_bias is not None else 0.0)
    target.gamma.assign(gamma)
    target.beta.assign(beta)
    target.moving_mean.assign(mean)
    target.moving_variance.assign(np.asarray(source.moving_variance))


def _producer(layer):
    """The layer whose output ``layer`` takes as its (single) input."""
    return layer.input._keras_history.operation


def transfer_weights(reference, model) -> int:
    """Copy ``reference``'s weights into ``model`` with the module's mapping; returns the layers paired.

    Raises:
        ValueError: naming the first pair of layers that do not correspond (kind, shape,
            count, or a conv bias with no BatchNorm after it to fold into).
    """
    sources, targets = weighted_layers(reference), weighted_layers(model)
    if len(sources) != len(targets):
        raise ValueError(
            f"{model.name!r} has {len(targets)} layers with weights, the reference {reference.name!r} {len(sources)}."
        )
    batch_norm_after = {
        id(_producer(layer)): layer for layer in sources if _kind(layer) == "BatchNormalization"
    }  # conv -> the BatchNorm reading its output
    folded = {}  # id(reference BatchNorm) -> the bias of the conv before it
    for source, target in zip(sources, targets):
        if _kind(target) == "BatchNormalization":
            _copy_batch_norm(source, target, folded.pop(id(source), None))
            continue
        if _kind(source) != _kind(target) and {_kind(source), _kind(target)} != {"Conv2D", "Dense"}:
            raise _mismatch(source, target, "different kinds of layer")
        target.kernel.assign(_kernel(source, target))
        bias = np.asarray(source.bias) if getattr(source, "bias", None) is not None else None
        if getattr(target, "bias", None) is not None:
            target.bias.assign(bias if bias is not None else np.zeros(target.bias.shape, "float32"))
        elif bias is not None:
            if id(source) not in batch_norm_after:
                raise _mismatch(source, target, "the reference's bias has no BatchNorm after it to fold into")
            folded[id(batch_norm_after[id(source)])] = bias
    return len(targets)


def relative_difference(expected, actual) -> float:
    """``max |expected - actual| / max |expected|`` (float64)."""
    expected = np.asarray(expected, np.float64)
    actual = np.asarray(actual, np.float64)
    return float(np.max(np.abs(expected - actual)) / max(float(np.max(np.abs(expected))), 1e-30))


def probe_images(shape, preprocessing: str, *, count: int = 2, seed: int = 0) -> np.ndarray:
    """``count`` random 0-255 images, preprocessed like keras.applications' ``preprocess_input``."""
    from keras.applications import imagenet_utils

    images = np.random.default_rng(seed).uniform(0, 255, size=(count, *shape)).astype("float32")
    return np.asarray(imagenet_utils.preprocess_input(images, mode=preprocessing))


def compare(reference, model, inputs) -> float:
    """Relative max |difference| between the two models' outputs on ``inputs`` (inference mode)."""
    return relative_difference(reference(inputs, training=False), model(inputs, training=False))


def apply_weights(model, name: str, weights, *, include_top: bool, pooling, classes: int, **options):
    """A builder's ``weights`` argument: ``None`` returns ``model``; ``"imagenet"`` loads the reference's.

    The ImageNet weights come from ``keras.applications.<Reference>(weights="imagenet")``
    (a download on first use, cached by Keras in ``~/.keras/models``), are transferred with
    :func:`transfer_weights` and checked: both models must agree on probe images within
    :data:`TOLERANCE`. ``options`` are the builder arguments the reference takes too (``alpha``).

    Raises:
        UsageError: ``weights`` not None/"imagenet", a model without a reference,
            ``include_top`` with ``classes != 1000`` or another input size than the
            reference's classifier, downloads disabled (``$KERASCNN_OFFLINE``) or failing.
    """
    if weights is None:
        return model
    if weights != "imagenet":
        raise UsageError(f"`weights` must be None or 'imagenet'. Received: weights={weights!r}")
    reference = reference_for(name)
    input_shape = tuple(int(d) for d in model.input_shape[1:])
    if include_top and classes != 1000:
        raise UsageError(
            "ImageNet weights with include_top=True need classes=1000 (the ImageNet classifier); "
            f"pass include_top=False to put your own head on. Received: classes={classes!r}"
        )
    if include_top and input_shape != reference.input_shape:
        size = "x".join(map(str, reference.input_shape))
        raise UsageError(
            f"ImageNet weights with include_top=True need the classifier's input_shape={size}; "
            f"pass include_top=False for other sizes. Received: input_shape={input_shape}"
        )
    if input_shape[-1] != 3:
        raise UsageError(f"ImageNet weights need 3 input channels (RGB). Received: input_shape={input_shape}")
    from kerascnn.data.base import offline

    if offline():
        raise UsageError(
            f"ImageNet weights for {name!r} are downloaded by keras.applications, and downloads are disabled: "
            "$KERASCNN_OFFLINE is set."
        )
    kwargs = {k: v for k, v in options.items() if k in reference.options}
    try:
        source = build_reference(
            name, weights="imagenet", include_top=include_top, pooling=pooling, input_shape=input_shape, **kwargs
        )
    except Exception as err:  # urllib, HTTP, checksum and Keras's own ValueErrors
        raise UsageError(
            f"Could not load the ImageNet weights of keras.applications.{reference.application}: {first_line(err)}"
        ) from None
    transfer_weights(source, model)
    difference = compare(source, model, probe_images(input_shape, reference.preprocessing))
    if not difference <= TOLERANCE:
        raise RuntimeError(
            f"{name!r} with ImageNet weights differs from keras.applications.{reference.application} "
            f"by {difference:.2e} (relative), more than {TOLERANCE:.0e}."
        )
    return model


def reverse_input_channels(model) -> None:
    """Make a BGR network take RGB: reverse the input-channel axis of its first layer's kernel.

    keras.applications' VGG and ResNet weights come from Caffe and expect BGR images
    minus the ImageNet mean ("caffe" preprocessing); a convolution over reversed channels
    equals the same convolution with its kernel's channel axis reversed.
    """
    first = weighted_layers(model)[0]
    first.kernel.assign(np.asarray(first.kernel)[..., ::-1, :])
