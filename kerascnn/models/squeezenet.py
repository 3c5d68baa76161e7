"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016): AlexNet accuracy with 50x fewer parameters.

Reference:
    Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer. "SqueezeNet: AlexNet-level
    accuracy with 50x fewer parameters and <0.5MB model size." arXiv:1602.07360, 2016.

The building block is the Fire module: a 1x1 "squeeze" convolution feeding a
1x1 and a 3x3 "expand" convolution whose outputs are concatenated. The network
has no fully connected layer: a 1x1 convolution ``conv10`` maps to one channel
per class and global average pooling gives the class scores. SqueezeNet 1.1
(from the authors' repository) starts with a 3x3 instead of a 7x7 convolution
and pools earlier: 2.4x fewer multiply-adds at the same accuracy.

There is no BatchNorm in SqueezeNet, so its convolutions keep their biases.
Max pooling rounds up like Caffe and torchvision (``ceil_mode=True``): 224 -> 109
-> 54 -> 27 -> 13 for 1.0, so the parameter and multiply-add counts match theirs.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("squeezenet1_0", "squeezenet1_1")

import keras
from keras import layers

from kerascnn.models import register
from kerascnn.models.common import check_choice, check_head_args, resolve_input_shape

# version -> (stem (filters, kernel), stages of Fire modules (squeeze, expand) separated by max pooling).
ARCHS = {
    "1.0": (
        (96, 7),
        (
            ((16, 64), (16, 64), (32, 128)),  # fire2-4
            ((32, 128), (48, 192), (48, 192), (64, 256)),  # fire5-8
            ((64, 256),),  # fire9
        ),
    ),
    "1.1": (
        (64, 3),
        (
            ((16, 64), (16, 64)),  # fire2-3
            ((32, 128), (32, 128)),  # fire4-5
            ((48, 192), (48, 192), (64, 256), (64, 256)),  # fire6-9
        ),
    ),
}
MIN_SIZE = 32
DROPOUT = 0.5


def _conv_relu(x, filters: int, kernel_size: int, *, strides: int = 1, padding: str = "valid", name: str):
    # He initialisation keeps the signal alive through a ReLU network without BatchNorm.
    return layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        activation="relu",
        kernel_initializer="he_uniform",
        name=name,
    )(x)


def fire_module(x, squeeze: int, expand: int, *, name: str):
    """Fire module: 1x1 squeeze conv -> concat(1x1 expand conv, 3x3 expand conv), all ReLU.

    The output has ``2 * expand`` channels. Layers: ``{name}_squeeze1x1``,
    ``{name}_expand1x1``, ``{name}_expand3x3``, ``{name}_concat``.
    """
    x = _conv_relu(x, squeeze, 1, name=f"{name}_squeeze1x1")
    left = _conv_relu(x, expand, 1, name=f"{name}_expand1x1")
    right = _conv_relu(x, expand, 3, padding="same", name=f"{name}_expand3x3")
    return layers.Concatenate(name=f"{name}_concat")([left, right])


def ceil_max_pool(x, *, name: str):
    """3x3/2 max pooling that rounds the output size up (Caffe, ``ceil_mode=True``).

    When the last window would hang over the edge, pad one zero row/column at the
    bottom/right first; the inputs are ReLU outputs (>= 0), so the zeros never win.
    """
    pad = tuple((size - 3) % 2 for size in x.shape[1:3])
    if any(pad):
        x = layers.ZeroPadding2D(((0, pad[0]), (0, pad[1])), name=f"{name}_pad")(x)
    return layers.MaxPooling2D(3, strides=2, name=name)(x)


def squeezenet(
    version: str = "1.0",
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
) -> keras.Model:
    """Instantiates SqueezeNet (Iandola et al. 2016, Table 1; 1.1 from the authors' repository).

    Reference:
        Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer
        parameters and <0.5MB model size", arXiv 2016.

    Trainable parameters at 1000 classes: 1.0 1,248,424, 1.1 1,235,496.

    Args:
        version: ``"1.0"`` (the paper) or ``"1.1"``.
        include_top: whether to include the head: dropout (0.5), ``conv10`` and
            global average pooling (``include_top=False`` returns ``fire9``'s features).
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes (filters of ``conv10``).
        classifier_activation: activation applied to the pooled ``conv10``
            scores (``None`` for logits).
        name: model name, default ``"squeezenet1_0"`` / ``"squeezenet1_1"``.

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_choice("version", version, ARCHS)
    name = name or f"squeezenet{version.replace('.', '_')}"
    input_shape = resolve_input_shape(input_shape, (224, 224, 3), MIN_SIZE, name)
    (stem_filters, stem_kernel), fire_stages = ARCHS[version]

    inputs = keras.Input(shape=input_shape, name="input")
    x = _conv_relu(inputs, stem_filters, stem_kernel, strides=2, name="conv1")
    fire = 2  # the paper numbers Fire modules fire2 .. fire9
    for i, stage in enumerate(fire_stages, start=1):
        x = ceil_max_pool(x, name=f"pool{i}")
        for squeeze, expand in stage:
            x = fire_module(x, squeeze, expand, name=f"fire{fire}")
            fire += 1

    if include_top:
        x = layers.Dropout(DROPOUT, name="dropout")(x)
        # small initial class scores, as in the reference implementations
        init = keras.initializers.RandomNormal(stddev=0.01)
        x = layers.Conv2D(classes, 1, activation="relu", kernel_initializer=init, name="conv10")(x)
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Activation(classifier_activation or "linear", name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, x, name=name)


for _version in ARCHS:
    register(
        f"squeezenet{_version.replace('.', '_')}",
        squeezenet,
        family="SqueezeNet",
        paper="Iandola et al., SqueezeNet: AlexNet-level accuracy with 50x fewer parameters",
        year=2016,
        default_input_shape=(224, 224, 3),
        description=f"SqueezeNet {_version}: Fire modules, no fully connected layer",
        version=_version,
    )
