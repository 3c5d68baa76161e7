"""Residual networks: ResNet, CIFAR ResNet, pre-activation ResNet, ResNeXt, Wide ResNet.

References:
    - He, Zhang, Ren, Sun. "Deep Residual Learning for Image Recognition." CVPR 2016
      (arXiv:1512.03385). ImageNet ResNet-18/34/50/101/152 (Table 1) and the CIFAR-10
      ResNet-20/32/44/56/110 with parameter-free "option A" shortcuts (Section 4.2).
    - He, Zhang, Ren, Sun. "Identity Mappings in Deep Residual Networks." ECCV 2016
      (arXiv:1603.05027). Pre-activation units: BN -> ReLU -> conv.
    - Xie, Girshick, Dollar, Tu, He. "Aggregated Residual Transformations for Deep
      Neural Networks." CVPR 2017 (arXiv:1611.05431). ResNeXt: grouped 3x3 convolutions.
    - Zagoruyko, Komodakis. "Wide Residual Networks." BMVC 2016 (arXiv:1605.07146).

Every network here is ``stem -> stages -> head``. A stage is a stack of residual
blocks (:func:`stack`), and an architecture is a tuple of ``(blocks, filters)`` per
stage, as in Dive into Deep Learning: ResNet-18 is ``((2, 64), (2, 128), (2, 256),
(2, 512))``. Layer names follow ``keras.applications``: stage ``i`` is ``conv{i}``
(``conv2`` .. ``conv5`` on ImageNet, after the ``conv1`` stem), block ``j`` of it is
``conv{i}_block{j}``, and every block ends in a layer named ``conv{i}_block{j}_out``,
so ``model.get_layer("conv4_block1_out")`` is a natural point to freeze up to.

Conventions: convolutions followed by BatchNorm have no bias; stride-2 layers pad
symmetrically (``ZeroPadding2D`` + ``valid``, as Caffe, PyTorch and ``keras.applications``
do), which gives the papers' output sizes (112, 56, 28, 14, 7 at 224) and keeps a strided
3x3 conv centred on the pixels an option-A shortcut subsamples (TensorFlow's ``"same"``
would pad an even input 0 before / 1 after);
downsampling bottlenecks put the stride on the first 1x1 convolution as in the paper
and ``keras.applications`` (ResNet-50: 3.9 G multiply-adds; torchvision's "v1.5"
moves it to the 3x3 conv for 4.1 G with the same parameters), while ResNeXt puts it
on the grouped 3x3 as its paper does.
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = (
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet56",
    "resnet110",
    "preact_resnet18",
    "resnext50_32x4d",
    "wide_resnet28_10",
)

from collections.abc import Callable

import keras
from keras import layers, ops

from kerascnn.core.errors import UsageError
from kerascnn.models import register
from kerascnn.nn.layers import ZeroPadShortcut
from kerascnn.models.transfer import apply_weights
from kerascnn.models.common import (
    BN_EPSILON,
    check_choice,
    check_head_args,
    check_rate,
    check_positive,
    classifier,
    conv_bn_act,
    imagenet_stem as _stem_7x7,
    resolve_input_shape,
    symmetric_padding,
)

# (block function name, ((blocks, filters) per stage)); filters of a bottleneck
# stage are its inner width, the stage outputs 4x as many channels.
IMAGENET_ARCHS = {
    18: ("basic", ((2, 64), (2, 128), (2, 256), (2, 512))),
    34: ("basic", ((3, 64), (4, 128), (6, 256), (3, 512))),
    50: ("bottleneck", ((3, 64), (4, 128), (6, 256), (3, 512))),
    101: ("bottleneck", ((3, 64), (4, 128), (23, 256), (3, 512))),
    152: ("bottleneck", ((3, 64), (8, 128), (36, 256), (3, 512))),
}
CIFAR_STAGE_FILTERS = (16, 32, 64)
BOTTLENECK_EXPANSION = 4
# Five halvings (stem conv, stem pool, three stages) for ImageNet networks.
IMAGENET_MIN_SIZE = 32
# Two halvings in the CIFAR networks: 8x8 inputs still leave a 2x2 last map.
CIFAR_MIN_SIZE = 8

BlockHook = Callable[..., keras.KerasTensor]


# --------------------------------------------------------------------------- layers


# --------------------------------------------------------------------------- blocks


def _padding(stride: int) -> str:
    """``"symmetric"`` for a strided 3x3 conv (see the module docstring), else ``"same"``."""
    return "symmetric" if stride > 1 else "same"


def _batch_norm(x, name: str):
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)(x)


def _shortcut(x, filters: int, stride: int, kind: str, name: str):
    """Identity when shapes match, else a projection (option B) or zero padding (option A)."""
    if stride == 1 and x.shape[-1] == filters:
        return x
    if kind == "zero_pad":
        return ZeroPadShortcut(filters, stride, name=f"{name}_0_pad")(x)
    return conv_bn_act(x, filters, 1, strides=stride, activation=None, name=f"{name}_0")


def _merge(shortcut, residual, name: str, block_hook: BlockHook | None):
    """``relu(shortcut + hook(residual))``; the ReLU is the block's ``{name}_out`` layer."""
    if block_hook is not None:
        residual = block_hook(residual, name=name)
    x = layers.Add(name=f"{name}_add")([shortcut, residual])
    return layers.Activation("relu", name=f"{name}_out")(x)


def basic_block(
    x,
    filters: int,
    *,
    stride: int = 1,
    shortcut: str = "projection",
    block_hook: BlockHook | None = None,
    name: str,
):
    """Two 3x3 convolutions (ResNet-18/34 and the CIFAR ResNets; paper Figure 5 left).

    Args:
        x: input tensor.
        filters: channels of both convolutions and of the output.
        stride: stride of the first convolution (2 halves the resolution).
        shortcut: when shapes change, ``"projection"`` (1x1 conv + BN, option B)
            or ``"zero_pad"`` (parameter-free, option A).
        block_hook: optional ``hook(residual, name=...)`` applied to the residual
            branch before the addition (e.g. squeeze-and-excitation).
        name: block name, e.g. ``"conv2_block1"``.
    """
    skip = _shortcut(x, filters, stride, shortcut, name)
    x = conv_bn_act(x, filters, 3, strides=stride, padding=_padding(stride), name=f"{name}_1")
    x = conv_bn_act(x, filters, 3, activation=None, name=f"{name}_2")
    return _merge(skip, x, name, block_hook)


def bottleneck_block(
    x,
    filters: int,
    *,
    stride: int = 1,
    width: int | None = None,
    groups: int = 1,
    stride_on_3x3: bool = False,
    block_hook: BlockHook | None = None,
    name: str,
):
    """1x1 reduce -> 3x3 -> 1x1 expand to ``4 * filters`` (ResNet-50+, paper Figure 5 right).

    Args:
        x: input tensor.
        filters: bottleneck width; the block outputs ``4 * filters`` channels.
        stride: downsampling stride of the block.
        width: channels of the two inner convolutions (default ``filters``;
            ResNeXt uses ``cardinality * base_width`` scaled per stage).
        groups: groups of the 3x3 convolution (ResNeXt's cardinality).
        stride_on_3x3: put the stride on the 3x3 convolution (ResNeXt, torchvision's
            ResNet "v1.5") instead of the first 1x1 (ResNet paper).
        block_hook: optional ``hook(residual, name=...)`` applied before the addition.
        name: block name, e.g. ``"conv3_block1"``.
    """
    width = width or filters
    skip = _shortcut(x, BOTTLENECK_EXPANSION * filters, stride, "projection", name)
    x = conv_bn_act(x, width, 1, strides=1 if stride_on_3x3 else stride, name=f"{name}_1")
    stride_3x3 = stride if stride_on_3x3 else 1
    x = conv_bn_act(x, width, 3, strides=stride_3x3, padding=_padding(stride_3x3), groups=groups, name=f"{name}_2")
    x = conv_bn_act(x, BOTTLENECK_EXPANSION * filters, 1, activation=None, name=f"{name}_3")
    return _merge(skip, x, name, block_hook)


def preact_block(x, filters: int, *, stride: int = 1, dropout_rate: float = 0.0, name: str):
    """Pre-activation unit BN -> ReLU -> conv, twice (He et al. 2016, Figure 1b; WRN).

    The shortcut is the identity, or a 1x1 projection of the pre-activated input
    when the shape changes. With ``dropout_rate`` the Wide-ResNet dropout sits
    between the two convolutions. The block ends in the addition ``{name}_out``.
    """
    preact = _batch_norm(x, f"{name}_preact_bn")
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if stride == 1 and x.shape[-1] == filters:
        skip = x
    else:
        skip = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(preact)
    x = conv_bn_act(preact, filters, 3, strides=stride, padding=_padding(stride), name=f"{name}_1")
    if dropout_rate:
        x = layers.Dropout(dropout_rate, name=f"{name}_dropout")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x)
    return layers.Add(name=f"{name}_out")([skip, x])


BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block, "preact": preact_block}


def stack(x, block_fn, filters: int, blocks: int, *, stride: int = 2, name: str, **block_kwargs):
    """A stage: ``blocks`` residual blocks, the first one downsampling by ``stride``.

    Blocks are named ``{name}_block1`` .. ``{name}_block{blocks}``.
    """
    x = block_fn(x, filters, stride=stride, name=f"{name}_block1", **block_kwargs)
    for i in range(2, blocks + 1):
        x = block_fn(x, filters, name=f"{name}_block{i}", **block_kwargs)
    return x


def stages(arch, block_fn, **block_kwargs) -> Callable:
    """The ``stack_fn`` for an arch tuple ``((blocks, filters), ...)``.

    The first stage keeps the resolution, each later one halves it. Stages are
    named ``conv2``, ``conv3``, ... after the ``conv1`` stem, as in the paper's Table 1.
    """

    def stack_fn(x):
        for i, (blocks, filters) in enumerate(arch):
            x = stack(x, block_fn, filters, blocks, stride=1 if i == 0 else 2, name=f"conv{i + 2}", **block_kwargs)
        return x

    return stack_fn


# --------------------------------------------------------------------------- stems


def imagenet_stem(x, *, preact: bool = False):
    """7x7/2 convolution with 64 filters and 3x3/2 max pooling: 224 -> 56, padded symmetrically.

    The pre-activation stem has no ReLU before its pool, so zero padding would change the
    maxima at the border: its pool keeps TensorFlow's ``"same"`` (-inf) padding.
    """
    if not preact:
        return _stem_7x7(x, pool_name="pool1_pool")
    x = symmetric_padding(x, 7, name="conv1_pad")  # BN and ReLU come with the first unit's pre-activation
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    return layers.MaxPooling2D(3, strides=2, padding="same", name="pool1_pool")(x)


def cifar_stem(x, *, preact: bool = False, filters: int = 16):
    """One 3x3 convolution with 16 filters at full resolution (paper Section 4.2)."""
    if preact:
        return layers.Conv2D(filters, 3, padding="same", use_bias=False, name="conv1_conv")(x)
    return conv_bn_act(x, filters, 3, name="conv1")


STEMS = {"imagenet": imagenet_stem, "cifar": cifar_stem}


# --------------------------------------------------------------------------- builders


def _depth_error(depth, form: str, examples: str) -> UsageError:
    return UsageError(f"The `depth` argument must be {form} ({examples}, ...). Received: depth={depth!r}")


def build_resnet(
    stack_fn: Callable,
    *,
    stem: str = "imagenet",
    preact: bool = False,
    default_input_shape=(224, 224, 3),
    min_size: int = IMAGENET_MIN_SIZE,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str = "resnet",
) -> keras.Model:
    """Instantiates a residual network from a stem, a ``stack_fn`` and the usual head.

    Args:
        stack_fn: ``stack_fn(x) -> x`` building every stage (see :func:`stages`).
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max pool) or ``"cifar"`` (3x3 conv).
        preact: pre-activation network: no BN/ReLU in the stem, and a final
            ``post_bn`` + ``post_relu`` after the last stage.
        default_input_shape: input shape used when ``input_shape`` is ``None``.
        min_size: smallest spatial input side the downsampling allows.
        include_top: whether to include global average pooling and the
            ``predictions`` layer.
        input_shape: ``(height, width, channels)``.
        pooling: with ``include_top=False``: ``None`` (4D features), ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name.

    Returns:
        A ``keras.Model``.
    """
    check_head_args(include_top, pooling, classes, classifier_activation)
    check_choice("stem", stem, STEMS)
    input_shape = resolve_input_shape(input_shape, default_input_shape, min_size, name)

    inputs = keras.Input(shape=input_shape, name="input")
    x = STEMS[stem](inputs, preact=preact)
    x = stack_fn(x)
    if preact:
        x = _batch_norm(x, "post_bn")
        x = layers.Activation("relu", name="post_relu")(x)
    x = classifier(
        x, include_top=include_top, pooling=pooling, classes=classes, classifier_activation=classifier_activation
    )
    return keras.Model(inputs, x, name=name)


def resnet(
    depth: int = 50,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
    block_hook: BlockHook | None = None,
    weights: str | None = None,
) -> keras.Model:
    """Instantiates an ImageNet ResNet (He et al. 2016, Table 1).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.

    Trainable parameters at 224x224x3 with 1000 classes: ResNet-18 11,689,512,
    -34 21,797,672, -50 25,557,032, -101 44,549,160, -152 60,192,808.

    Args:
        depth: 18 or 34 (basic blocks), 50, 101 or 152 (bottleneck blocks).
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"resnet{depth}"``.
        block_hook: library use (SE-ResNet): ``hook(residual, name=...)`` applied
            to every block's residual branch before the addition.
        weights: ``None`` (random initialisation) or ``"imagenet"``: keras.applications'
            ImageNet weights, downloaded on first use and transferred into this model
            (:mod:`kerascnn.models.transfer`; needs ``classes=1000`` with the top).

    Returns:
        A ``keras.Model``.
    """
    check_choice("depth", depth, IMAGENET_ARCHS)
    block, arch = IMAGENET_ARCHS[depth]
    model = build_resnet(
        stages(arch, BLOCKS[block], block_hook=block_hook),
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"resnet{depth}",
    )
    zoo_name = f"resnet{depth}" if block_hook is None else model.name
    return apply_weights(model, zoo_name, weights, include_top=include_top, pooling=pooling, classes=classes)


def cifar_resnet(
    depth: int = 20,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
) -> keras.Model:
    """Instantiates a CIFAR-10 ResNet with option-A shortcuts (He et al. 2016, Section 4.2).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.

    ``depth = 6n + 2``: a 3x3 stem conv with 16 filters, three stages of ``n`` basic
    blocks with 16, 32 and 64 filters at 32x32, 16x16 and 8x8, global average
    pooling and a 10-way classifier. Shortcuts that change the shape subsample and
    zero-pad the channels (option A), so every shortcut is parameter-free.
    Trainable parameters with 10 classes: ResNet-20 269,722, -32 464,154,
    -44 658,586, -56 853,018, -110 1,727,962 (paper: 0.27, 0.46, 0.66, 0.85, 1.7 M).

    Args:
        depth: ``6n + 2`` for ``n >= 1``: 20, 32, 44, 56, 110, 1202, ...
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(32, 32, 3)``; at least 8x8.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"resnet{depth}"``.

    Returns:
        A ``keras.Model``.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise _depth_error(depth, "6n + 2", "20, 32, 44, 56, 110")
    n = (depth - 2) // 6
    arch = tuple((n, filters) for filters in CIFAR_STAGE_FILTERS)
    return build_resnet(
        stages(arch, basic_block, shortcut="zero_pad"),
        stem="cifar",
        default_input_shape=(32, 32, 3),
        min_size=CIFAR_MIN_SIZE,
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"resnet{depth}",
    )


def preact_resnet(
    depth: int = 18,
    *,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
) -> keras.Model:
    """Instantiates a pre-activation ResNet with basic blocks (He et al., ECCV 2016).

    Reference:
        He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016.

    Same layout as :func:`resnet` (18 or 34 layers), but every unit is
    BN -> ReLU -> conv, the shortcuts stay clean identities (projections take the
    pre-activated input) and one final BN + ReLU (``post_bn``, ``post_relu``)
    precedes the head. Fewer BatchNorms than ResNet-18: 11,687,720 trainable
    parameters at 1000 classes.

    Args:
        depth: 18 or 34.
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"preact_resnet{depth}"``.

    Returns:
        A ``keras.Model``.
    """
    basic_depths = [d for d, (block, _) in IMAGENET_ARCHS.items() if block == "basic"]
    check_choice("depth", depth, basic_depths)
    _, arch = IMAGENET_ARCHS[depth]
    return build_resnet(
        stages(arch, preact_block),
        preact=True,
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"preact_resnet{depth}",
    )


def resnext(
    depth: int = 50,
    *,
    cardinality: int = 32,
    base_width: int = 4,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 1000,
    classifier_activation="softmax",
    name: str | None = None,
) -> keras.Model:
    """Instantiates ResNeXt (Xie et al. 2017): bottlenecks with grouped 3x3 convolutions.

    Reference:
        Xie et al., "Aggregated Residual Transformations for Deep Neural
        Networks", CVPR 2017.

    A ``{cardinality}x{base_width}d`` block splits its 3x3 convolution into
    ``cardinality`` groups of ``base_width`` channels (scaled 2x per stage), which
    is the paper's Figure 3(c), implemented with ``Conv2D(groups=cardinality)``.
    ResNeXt-50 32x4d: 25,028,904 trainable parameters at 1000 classes.

    Args:
        depth: 50, 101 or 152.
        cardinality: number of groups of the 3x3 convolutions.
        base_width: channels per group in the first stage.
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(224, 224, 3)``;
            at least 32x32.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"resnext{depth}_{cardinality}x{base_width}d"``.

    Returns:
        A ``keras.Model``.
    """
    bottleneck_depths = [d for d, (block, _) in IMAGENET_ARCHS.items() if block == "bottleneck"]
    check_choice("depth", depth, bottleneck_depths)
    check_positive("cardinality", cardinality, int)
    check_positive("base_width", base_width, int)
    _, arch = IMAGENET_ARCHS[depth]

    def block(x, filters, **kwargs):
        width = int(filters * base_width / 64) * cardinality
        return bottleneck_block(x, filters, width=width, groups=cardinality, stride_on_3x3=True, **kwargs)

    return build_resnet(
        stages(arch, block),
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"resnext{depth}_{cardinality}x{base_width}d",
    )


def wide_resnet(
    depth: int = 28,
    width: int = 10,
    *,
    dropout_rate: float = 0.3,
    include_top: bool = True,
    input_shape=None,
    pooling=None,
    classes: int = 10,
    classifier_activation="softmax",
    name: str | None = None,
) -> keras.Model:
    """Instantiates a Wide ResNet WRN-``depth``-``width`` for CIFAR (Zagoruyko & Komodakis 2016).

    Reference:
        Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016.

    ``depth = 6n + 4``: a 3x3 stem conv with 16 filters, three stages of ``n``
    pre-activation blocks with ``16k``, ``32k`` and ``64k`` filters (``k = width``),
    a final BN + ReLU and the classifier. WRN-28-10: 36,479,194 trainable
    parameters with 10 classes (paper: 36.5 M).

    Args:
        depth: ``6n + 4`` for ``n >= 1``: 10, 16, 22, 28, 40, ...
        width: widening factor ``k``.
        dropout_rate: dropout between the two convolutions of a block (the paper's
            best CIFAR results use 0.3; 0 disables it).
        include_top: whether to include the classification head.
        input_shape: ``(height, width, channels)``, default ``(32, 32, 3)``; at least 8x8.
        pooling: with ``include_top=False``: ``None``, ``"avg"`` or ``"max"``.
        classes: number of classes.
        classifier_activation: activation of ``predictions`` (``None`` for logits).
        name: model name, default ``f"wide_resnet{depth}_{width}"``.

    Returns:
        A ``keras.Model``.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise _depth_error(depth, "6n + 4", "16, 22, 28, 40")
    check_positive("width", width, int)
    check_rate("dropout_rate", dropout_rate)
    n = (depth - 4) // 6
    arch = tuple((n, filters * width) for filters in CIFAR_STAGE_FILTERS)
    return build_resnet(
        stages(arch, preact_block, dropout_rate=dropout_rate),
        stem="cifar",
        preact=True,
        default_input_shape=(32, 32, 3),
        min_size=CIFAR_MIN_SIZE,
        include_top=include_top,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name or f"wide_resnet{depth}_{width}",
    )


_HE_2016 = "He et al., Deep Residual Learning for Image Recognition"
for _depth in IMAGENET_ARCHS:
    register(
        f"resnet{_depth}",
        resnet,
        family="ResNet",
        paper=_HE_2016,
        year=2016,
        default_input_shape=(224, 224, 3),
        description=f"ImageNet ResNet-{_depth}, {IMAGENET_ARCHS[_depth][0]} blocks",
        depth=_depth,
    )
for _depth in (20, 32, 44, 56, 110):
    register(
        f"resnet{_depth}",
        cifar_resnet,
        family="ResNet",
        paper=_HE_2016,
        year=2016,
        default_input_shape=(32, 32, 3),
        description=f"CIFAR ResNet-{_depth}, 3 stages of {(_depth - 2) // 6} basic blocks, option-A shortcuts",
        depth=_depth,
    )
register(
    "preact_resnet18",
    preact_resnet,
    family="ResNet",
    paper="He et al., Identity Mappings in Deep Residual Networks",
    year=2016,
    default_input_shape=(224, 224, 3),
    description="ResNet-18 with pre-activation (BN-ReLU-conv) units",
    depth=18,
)
register(
    "resnext50_32x4d",
    resnext,
    family="ResNeXt",
    paper="Xie et al., Aggregated Residual Transformations for Deep Neural Networks",
    year=2017,
    default_input_shape=(224, 224, 3),
    description="ResNet-50 layout, 32 groups of 4 channels in the 3x3 convs",
    depth=50,
    cardinality=32,
    base_width=4,
)
register(
    "wide_resnet28_10",
    wide_resnet,
    family="Wide ResNet",
    paper="Zagoruyko and Komodakis, Wide Residual Networks",
    year=2016,
    default_input_shape=(32, 32, 3),
    description="CIFAR WRN-28-10: pre-activation blocks 160-320-640 wide, dropout 0.3",
    depth=28,
    width=10,
)
