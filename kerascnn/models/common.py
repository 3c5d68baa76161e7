"""Building blocks and argument checks shared by every family module.

Kept small on purpose: each family module reads like its paper, and only what
is truly common (argument validation, the classifier head, conv-BN-ReLU) lives
here.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from kerascnn.core.checks import check_choice, check_positive, check_rate  # noqa: F401  (the builders' checks)
from kerascnn.core.errors import UsageError

BN_EPSILON = 1.001e-5  # as in keras.applications' ResNet and DenseNet
BN_MOMENTUM = 0.99  # Keras' default
POOLINGS = (None, "avg", "max")


def check_head_args(include_top: bool, pooling, classes, classifier_activation) -> None:
    """Validate the ``keras.applications``-style head arguments."""
    check_choice("pooling", pooling, POOLINGS)
    check_positive("classes", classes, int)
    if classifier_activation is not None and not isinstance(classifier_activation, str) and not callable(
        classifier_activation
    ):
        raise UsageError(
            "The `classifier_activation` argument must be a string, a callable or None. "
            f"Received: classifier_activation={classifier_activation!r}"
        )


def resolve_input_shape(
    input_shape: Sequence[int] | None,
    default: Sequence[int],
    min_size: int,
    model_name: str,
) -> tuple[int, ...]:
    """Return a valid ``(H, W, C)`` (NHWC) input shape for ``model_name``.

    ``min_size`` is the smallest spatial side the network's downsampling can take
    (e.g. 32 for a network that halves the resolution five times).
    """
    if input_shape is None:
        return tuple(default)
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise UsageError(f"`input_shape` must be a tuple (height, width, channels). Received: input_shape={input_shape!r}") from None
    if len(shape) != len(default) or any(d <= 0 for d in shape):
        raise UsageError(
            f"`input_shape` must be {len(default)} positive integers (height, width, channels). "
            f"Received: input_shape={input_shape!r}"
        )
    if min(shape[:-1]) < min_size:
        raise UsageError(
            f"{model_name} needs inputs of at least {min_size}x{min_size} pixels "
            f"(its downsampling would reduce a smaller image to nothing). Received: input_shape={shape}"
        )
    return shape


def classifier(
    x,
    *,
    include_top: bool,
    pooling: str | None,
    classes: int,
    classifier_activation,
    global_pool: bool = True,
    dropout: float = 0.0,
):
    """The usual head: global average pooling + ``Dense(classes)`` named ``predictions``.

    Without ``include_top`` it applies ``pooling`` (``None`` keeps the 4D feature map).
    Set ``global_pool=False`` for heads that already ended in a vector.
    """
    if include_top:
        if global_pool:
            x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def symmetric_padding(x, kernel_size, *, name: str):
    """Zero-pad ``kernel_size // 2`` pixels on every side (``ZeroPadding2D``), for a ``valid`` layer after it.

    Caffe, PyTorch and ``keras.applications`` pad strided layers symmetrically. TensorFlow's
    ``padding="same"`` does not on an even input: a 7x7 stride-2 conv gets 2 rows before and
    3 after, a 3x3 stride-2 layer 0 and 1, so the same weights compute a shifted function.
    """
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    return layers.ZeroPadding2D(tuple(k // 2 for k in kernel), name=name)(x)


def conv_bn_act(
    x,
    filters: int,
    kernel_size,
    *,
    strides=1,
    padding: str = "same",
    activation: str | None = "relu",
    groups: int = 1,
    epsilon: float = BN_EPSILON,
    momentum: float = BN_MOMENTUM,
    name: str,
):
    """Conv (no bias: BatchNorm's beta replaces it) -> BatchNorm -> activation.

    ``padding="symmetric"`` inserts :func:`symmetric_padding` (``{name}_pad``) before a
    ``valid`` convolution. ``epsilon`` and ``momentum`` are BatchNorm's (the reference
    implementation's: 1.001e-5 and 0.99 in ResNet/DenseNet, 1e-3 in MobileNets and Inception-v3).
    Layer names: ``{name}_conv``, ``{name}_bn``, ``{name}_{activation}``.
    """
    if padding == "symmetric":
        x = symmetric_padding(x, kernel_size, name=f"{name}_pad")
        padding = "valid"
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, groups=groups, use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(epsilon=epsilon, momentum=momentum, name=f"{name}_bn")(x)
    if activation:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def imagenet_stem(x, *, filters: int = 64, pool_name: str = "pool1_pool"):
    """The ResNet/DenseNet stem: 7x7/2 conv-BN-ReLU, 3x3/2 max pool (224 -> 56), padded symmetrically.

    Layers ``conv1_pad``, ``conv1_conv``, ``conv1_bn``, ``conv1_relu``, ``pool1_pad``,
    ``pool_name``, as in ``keras.applications``. Zero padding before the max pool equals
    the -inf padding of PyTorch's, since the ReLU output is never negative.
    """
    x = conv_bn_act(x, filters, 7, strides=2, padding="symmetric", name="conv1")
    x = symmetric_padding(x, 3, name="pool1_pad")
    return layers.MaxPooling2D(3, strides=2, name=pool_name)(x)


def intermediate_outputs(model: keras.Model, layer_names: Sequence[str]) -> keras.Model:
    """A model returning ``{layer_name: activation}`` for the named layers.

    The Keras way to do what a lecture does with PyTorch forward hooks::

        probe = intermediate_outputs(vgg, ["block1_conv1", "block5_pool"])
        feats = probe(images)           # dict of arrays
    """
    missing = [n for n in layer_names if n not in {layer.name for layer in model.layers}]
    if missing:
        raise UsageError(
            f"Model {model.name!r} has no layer {missing[0]!r}. "
            f"Layers include: {', '.join(layer.name for layer in model.layers[:12])}, ..."
        )
    outputs = {n: model.get_layer(n).output for n in layer_names}
    return keras.Model(model.inputs, outputs, name=f"{model.name}_features")
