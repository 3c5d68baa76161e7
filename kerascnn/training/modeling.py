"""From a zoo name to the model that is trained and saved.

The zoo builders take already-scaled inputs (like ``keras.applications`` with
``weights=None``). Training wraps the builder's network, the *backbone*, so the
saved ``model.keras`` takes the data set's own images as raw pixels::

    image (H, W, C) float32 0-255
      -> Normalization (per-channel mean/variance of the training images)
      -> Resizing to the backbone's input size (only when they differ)
      -> Concatenate to 3 channels (only for a colour backbone on grey images)
      -> backbone (the zoo network, a nested keras.Model named after it)

Augmentation is not in this graph: it runs in the tf.data pipeline.

Transfer learning (Yosinski et al. 2014, "How transferable are features in deep
neural networks?"): start from a saved model's backbone or ImageNet weights, swap
the classifier, freeze the base or everything up to a named layer. Keras 3 runs a
BatchNormalization layer with ``trainable = False`` in inference mode, so frozen
BatchNorm keeps its moving statistics.

ImageNet weights (``weights="imagenet"``) go into kerascnn's own network: the zoo
builder downloads keras.applications' weights and transfers them
(:mod:`kerascnn.models.transfer`). The raw pixels are then scaled as the weights were
trained: "tf" to [-1, 1], "torch" and "caffe" by the ImageNet mean (and std); the
Caffe-trained VGG and ResNet weights expect BGR, so their first convolution's input
channels are reversed once and the saved model takes RGB like every other.
"""

from __future__ import annotations

import numpy as np

from kerascnn.core.errors import UsageError

HEAD_LAYER = "predictions"

# ImageNet pixel statistics (RGB, 0-255) of keras.applications' preprocessing modes
# (imagenet_utils.preprocess_input); "tf" is a plain rescaling to [-1, 1].
_IMAGENET_NORMALIZATION = {
    "torch": (np.array([0.485, 0.456, 0.406]) * 255.0, np.array([0.229, 0.224, 0.225]) * 255.0),
    "caffe": (np.array([123.68, 116.779, 103.939]), np.ones(3)),
}


def channel_statistics(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and variance of uint8 NHWC images (float64 accumulation)."""
    pixels = images.reshape(-1, images.shape[-1]).astype(np.float64)
    mean = pixels.mean(axis=0)
    variance = np.maximum(pixels.var(axis=0), 1e-6)
    return mean.tolist(), variance.tolist()


def build_training_model(
    model_name: str,
    *,
    image_shape: tuple[int, int, int],
    num_classes: int,
    mean: list[float],
    variance: list[float],
    input_size: tuple[int, int] | None = None,
    model_kwargs: dict | None = None,
    init_from: str | None = None,
    new_head: bool = False,
    freeze: str | None = None,
    weights: str | None = None,
    weight_decay: float = 0.0,
    l1: float = 0.0,
    name: str | None = None,
):
    """The trainable model: raw-pixel preprocessing + the backbone (see module docstring).

    Args:
        model_name: zoo name of the backbone.
        image_shape: the data set's ``(H, W, C)``.
        num_classes: classifier outputs.
        mean, variance: per-channel statistics of the training pixels (0-255 scale).
        input_size: ``(H, W)`` for the backbone; ``None`` picks the images' size when
            the network accepts it, else the zoo default.
        model_kwargs: extra builder arguments.
        init_from: path of a saved ``.keras`` model whose backbone is reused.
        new_head: re-initialise the classifier of ``init_from`` even if the class
            count matches.
        freeze: ``"base"`` or a layer name of the backbone.
        weights: ``"imagenet"``: kerascnn's network with keras.applications' ImageNet
            weights (downloaded; see the module docstring).
        weight_decay, l1: kernel penalties (see :func:`add_weight_penalty`).
        name: the wrapper model's name.

    Returns:
        A ``keras.Model`` taking ``float32`` images of ``image_shape`` in 0-255.
    """
    import keras
    from keras import layers

    model_kwargs = dict(model_kwargs or {})
    scaling = None
    if init_from:
        backbone = load_backbone(init_from, num_classes=num_classes, new_head=new_head)
    elif weights == "imagenet":
        backbone, scaling = imagenet_backbone(model_name, num_classes, input_size, model_kwargs)
    else:
        backbone = _zoo_backbone(model_name, image_shape, num_classes, input_size, model_kwargs)
    if freeze:
        freeze_layers(backbone, freeze)
    if weight_decay or l1:
        add_weight_penalty(backbone, weight_decay=weight_decay, l1=l1)

    target = tuple(int(d) for d in backbone.input_shape[1:])
    inputs = keras.Input(shape=tuple(image_shape), dtype="float32", name="image")
    if scaling == "tf":
        x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scaling")(inputs)
    elif scaling in _IMAGENET_NORMALIZATION:
        mean, std = _IMAGENET_NORMALIZATION[scaling]
        grey = image_shape[-1] == 1
        x = layers.Normalization(
            mean=mean.mean() if grey else mean,
            variance=(std.mean() if grey else std) ** 2,
            name="normalization",
        )(inputs)
    else:
        x = layers.Normalization(mean=mean, variance=variance, name="normalization")(inputs)
    if tuple(image_shape[:2]) != target[:2]:
        x = layers.Resizing(target[0], target[1], name="resize")(x)
    if image_shape[-1] != target[-1]:
        if image_shape[-1] != 1:
            raise UsageError(
                f"The backbone expects {target[-1]} channels but the images have {image_shape[-1]}. "
                f"Received: image_shape={tuple(image_shape)}"
            )
        x = layers.Concatenate(name="grey_to_rgb")([x] * target[-1])
    outputs = backbone(x)
    return keras.Model(inputs, outputs, name=name or f"{model_name}_classifier")


def _zoo_backbone(model_name, image_shape, num_classes, input_size, model_kwargs):
    """Build the zoo network at the images' size if it fits, else at its default size."""
    from kerascnn import models

    spec = models.get_spec(model_name)
    channels = image_shape[-1]
    if input_size is not None:
        return models.build(model_name, input_shape=(*input_size, channels), classes=num_classes, **model_kwargs)
    try:
        return models.build(model_name, input_shape=tuple(image_shape), classes=num_classes, **model_kwargs)
    except ValueError:
        # Too small for the network's downsampling: upsample to the zoo default inside the model.
        default = spec.default_input_shape
        return models.build(model_name, input_shape=(*default[:2], channels), classes=num_classes, **model_kwargs)


def find_backbone(model):
    """The nested ``keras.Model`` inside a kerascnn training model (or ``model`` itself)."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return nested[-1] if nested else model


def load_backbone(path: str, *, num_classes: int, new_head: bool = False):
    """The backbone of the saved model at ``path``, with a fresh classifier if needed.

    The classifier (the layer named ``predictions``) is replaced by a new
    ``Dense(num_classes, softmax)`` when ``new_head`` is set or the class count differs.
    Every layer comes back trainable, also those frozen when the model was saved.
    """
    import keras
    from keras import layers

    from kerascnn.nn.saving import load_model

    saved = load_model(path)
    backbone = find_backbone(saved)
    for layer in _all_layers(backbone):  # a saved model remembers frozen layers; `freeze` decides afresh
        layer.trainable = True
    head = _head_layer(backbone)
    if not new_head and int(head.units) == int(num_classes):
        return backbone
    features = head.input
    outputs = layers.Dense(num_classes, activation="softmax", name=HEAD_LAYER)(features)
    return keras.Model(backbone.inputs, outputs, name=backbone.name)


def _head_layer(backbone):
    try:
        return backbone.get_layer(HEAD_LAYER)
    except ValueError:
        raise UsageError(
            f"Model {backbone.name!r} has no classifier layer named {HEAD_LAYER!r} to replace."
        ) from None


def imagenet_backbone(model_name: str, num_classes: int, input_size, model_kwargs):
    """kerascnn's ``model_name`` with ImageNet weights (a download) and a new classifier.

    Returns the backbone and the name of its input scaling ("tf", "torch" or "caffe").
    """
    import keras
    from keras import layers

    from kerascnn import models
    from kerascnn.models.transfer import reference_for, reverse_input_channels

    reference = reference_for(model_name)
    size = tuple(input_size or reference.input_shape[:2])
    base = models.build(
        model_name, include_top=False, pooling="avg", input_shape=(*size, 3), weights="imagenet", **model_kwargs
    )
    if reference.preprocessing == "caffe":  # BGR weights: the trained model takes RGB like every other
        reverse_input_channels(base)
    outputs = layers.Dense(num_classes, activation="softmax", name=HEAD_LAYER)(base.output)
    return keras.Model(base.inputs, outputs, name=model_name), reference.preprocessing


def freeze_layers(backbone, freeze: str) -> list[str]:
    """Freeze the base (``"base"``: all but the classifier) or up to and including a named layer.

    Returns the names of the frozen layers. Frozen BatchNorm runs in inference mode.
    """
    names = [layer.name for layer in backbone.layers]
    if freeze == "base":
        last = len(names) - 1 - names[::-1].index(HEAD_LAYER) if HEAD_LAYER in names else len(names)
        stop = last  # exclusive: the classifier stays trainable
    elif freeze in names:
        stop = names.index(freeze) + 1
    else:
        shown = ", ".join(n for n in names if not n.startswith("input"))[:300]
        raise UsageError(
            f"Cannot freeze up to {freeze!r}: {backbone.name!r} has no layer of that name. "
            f"Use 'base' or one of: {shown}"
        )
    frozen = []
    for layer in backbone.layers[:stop]:
        layer.trainable = False
        frozen.append(layer.name)
    return frozen


def add_weight_penalty(model, *, weight_decay: float = 0.0, l1: float = 0.0) -> int:
    """Put an L2 (``weight_decay``), L1 or elastic-net penalty on every trainable kernel.

    ``weight_decay`` is the decay rate lambda of SGD (gradient ``lambda * w``), so
    the L2 coefficient is ``lambda / 2``. Biases and BatchNorm parameters are not
    penalised. The regulariser is also recorded in each layer's config. Returns
    the number of penalised kernels.
    """
    import keras

    if weight_decay and l1:
        regularizer = keras.regularizers.L1L2(l1=l1, l2=weight_decay / 2)
    elif l1:
        regularizer = keras.regularizers.L1(l1)
    else:
        regularizer = keras.regularizers.L2(weight_decay / 2)
    count = 0
    for layer in _all_layers(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not hasattr(layer, "kernel_regularizer") or not layer.trainable:
            continue
        layer.kernel_regularizer = regularizer
        kernel.regularizer = regularizer
        count += 1
    return count


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)
