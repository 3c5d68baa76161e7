"""Data augmentation from a short spec: ``"flip,crop,rotate:15,contrast:0.2"``.

Each item is ``name`` or ``name:value`` and becomes one Keras preprocessing
layer (``keras.layers.Random*``; a small serialisable layer only where Keras has
none). The layers take raw pixels (float32, 0–255) and run in the ``tf.data``
pipeline (:func:`kerascnn.data.pipeline`) in training mode; they are never part
of a saved model, and they are the identity when called with ``training=False``.

    >>> from kerascnn.data import augment
    >>> layers = augment.build("rotate:10,translate:0.1", input_shape=(28, 28, 1))

Choose augmentations that keep the label: mirror images (``flip``) suit photos
(CIFAR) and clothes, but not digits or letters (a flipped 2 or an S is not a
digit of the same class), and large rotations turn a 6 into a 9. Nothing is
added by default: without ``--augment`` no augmentation runs;
:func:`suggest` gives label-safe starting points per data set.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from kerascnn.core.errors import UsageError, unknown_name_message

VALUE_RANGE = (0.0, 255.0)


def _layers():
    """``keras.layers``, imported on first use: parsing a spec needs no TensorFlow."""
    import keras

    return keras.layers


@functools.cache
def _random_color_cast():
    """Define and register :class:`RandomColorCast` (a Keras layer) the first time it is needed."""
    import keras

    @keras.saving.register_keras_serializable(package="kerascnn")
    class RandomColorCast(keras.layers.Layer):
        """Shift each colour channel of each image by its own random offset (a colour cast).

        The offsets are drawn uniformly from ``[-factor, factor] * (high - low)``
        and the result is clipped to ``value_range`` (cf. the colour augmentation of
        Krizhevsky et al., 2012, "ImageNet Classification with Deep CNNs").
        Identity when ``training=False``.

        Args:
            factor: largest shift as a fraction of the value range, in ``(0, 1]``.
            value_range: ``(low, high)`` of the pixel values, ``(0, 255)`` for raw pixels.
            seed: integer seed of the layer's random generator.
        """

        def __init__(self, factor: float, value_range=VALUE_RANGE, seed: int | None = None, **kwargs):
            super().__init__(**kwargs)
            if not 0 < float(factor) <= 1:
                raise ValueError(f"`factor` must be in (0, 1]. Received: factor={factor}")
            self.factor = float(factor)
            self.value_range = tuple(float(v) for v in value_range)
            self.seed = seed
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, images, training=True):
            if not training:
                return images
            low, high = self.value_range
            span = self.factor * (high - low)
            shape = keras.ops.shape(images)
            offsets_shape = (shape[0], 1, 1, shape[-1]) if len(images.shape) == 4 else (1, 1, shape[-1])
            offsets = keras.random.uniform(offsets_shape, -span, span, dtype=images.dtype, seed=self.seed_generator)
            return keras.ops.clip(images + offsets, low, high)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "factor": self.factor, "value_range": self.value_range, "seed": self.seed}

    RandomColorCast.__module__, RandomColorCast.__qualname__ = __name__, "RandomColorCast"
    return RandomColorCast


def _random_affine(strength: float, seed: int | None):
    """:class:`kerascnn.data.distortions.RandomAffine` with Koch et al.'s ranges times ``strength``, edge fill."""
    from kerascnn.data.distortions import KOCH_RANGES, RandomAffine

    return RandomAffine(**{name: bound * strength for name, bound in KOCH_RANGES.items()}, fill_mode="nearest",
                        seed=seed)


def __getattr__(name: str):
    # ``augment.RandomColorCast`` defines the Keras layer on first access (this module imports no Keras).
    if name == "RandomColorCast":
        return _random_color_cast()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Augmentation:
    """One spec item: its value's default and valid range, and its layer factory."""

    name: str
    help: str
    make: Callable[..., object]  # make(value, seed=...) -> a keras layer
    default: float | None = None  # None: the item takes no value
    low: float = 0.0  # value must satisfy low < value <= high
    high: float = 1.0
    rgb_only: bool = False
    mirrors: bool = False  # a mirror image: changes the label of digits and letters


_AUGMENTATIONS: dict[str, Augmentation] = {
    a.name: a
    for a in (
        Augmentation(
            "flip", "mirror left-right (photos, clothes; not digits or letters)",
            lambda v, seed: _layers().RandomFlip("horizontal", seed=seed), mirrors=True,
        ),
        Augmentation(
            "crop", "pad with zeros by this fraction of the side and crop back at random "
            "(He et al. 2016: 4 px on 32x32 = 0.125)",
            # Zero-pad + random crop of the original size == an integer shift with zero fill,
            # drawn per image (keras.layers.RandomCrop draws one offset per batch).
            lambda v, seed: _layers().RandomTranslation(
                v, v, fill_mode="constant", fill_value=0.0, interpolation="nearest", seed=seed
            ),
            default=0.125, high=0.5,
        ),
        Augmentation(
            "translate", "shift by up to this fraction of height/width",
            lambda v, seed: _layers().RandomTranslation(v, v, seed=seed), default=0.1,
        ),
        Augmentation(
            "zoom", "scale in or out by up to this fraction",
            lambda v, seed: _layers().RandomZoom((-v, v), seed=seed), default=0.1, high=0.9,
        ),
        Augmentation(
            "rotate", "rotate by up to this many degrees",
            lambda v, seed: _layers().RandomRotation(v / 360.0, seed=seed), default=15.0, high=180.0,
        ),
        Augmentation(
            "shear", "shear (affine distortion) by up to this factor along x and y",
            lambda v, seed: _layers().RandomShear(x_factor=v, y_factor=v, seed=seed), default=0.1,
        ),
        Augmentation(
            "affine", "Koch et al. 2015's random affine map in one resampling, its ranges times v: rotation 10 deg, "
            "shear 0.3, scale +-0.2, shift 2/105 of the side; the edges are extended",
            lambda v, seed: _random_affine(v, seed), default=1.0, high=3.0,
        ),
        Augmentation(
            "perspective", "move the corners by up to this fraction (projective distortion)",
            lambda v, seed: _layers().RandomPerspective(factor=(1.0, 1.0), scale=v, seed=seed), default=0.1,
        ),
        Augmentation(
            "contrast", "scale the contrast by a factor in [1 - v, 1 + v]",
            lambda v, seed: _layers().RandomContrast(v, value_range=VALUE_RANGE, seed=seed), default=0.2,
        ),
        Augmentation(
            "brightness", "add up to +-v * 255 to every pixel",
            lambda v, seed: _layers().RandomBrightness(v, value_range=VALUE_RANGE, seed=seed), default=0.2,
        ),
        Augmentation(
            "color", "colour jitter: saturation in [0.5 - v, 0.5 + v] (0.5 = unchanged), hue up to v (RGB only)",
            lambda v, seed: _layers().RandomColorJitter(
                value_range=VALUE_RANGE, saturation_factor=(0.5 - v, 0.5 + v), hue_factor=v, seed=seed
            ),
            default=0.1, high=0.5, rgb_only=True,
        ),
        Augmentation(
            "cast", "colour cast: shift each channel by up to +-v * 255 (RGB only)",
            lambda v, seed: _random_color_cast()(v, seed=seed), default=0.1, rgb_only=True,
        ),
        Augmentation(
            "cutout", "blank a random square of this fraction of the side "
            "(DeVries & Taylor 2017: 16 px on 32x32 = 0.5)",
            lambda v, seed: _layers().RandomErasing(
                factor=(1.0, 1.0), scale=(v * v, v * v), fill_value=0.0, value_range=VALUE_RANGE, seed=seed
            ),
            default=0.5, high=0.99,
        ),
    )
}  # fmt: skip

# Label-safe starting points (not applied unless asked for): no flips for digits/letters.
_SUGGESTED = {
    "digits": "rotate:10,translate:0.1",
    "mnist": "rotate:10,translate:0.1,zoom:0.1",
    "fashion_mnist": "flip,translate:0.1",
    "svhn_cropped": "crop,rotate:10,contrast:0.2",
    "cifar10": "flip,crop",
    "cifar100": "flip,crop",
    "omniglot": "rotate:10,translate:0.1,shear:0.1",
}
_SUGGESTED_OTHER = "translate:0.1,rotate:10"
#: Data sets of digits and letters: a mirrored 2, S or glyph is not the same class.
MIRROR_SENSITIVE = ("digits", "mnist", "emnist", "kmnist", "svhn_cropped", "omniglot")


def names() -> list[str]:
    """Every augmentation a spec may name, in a sensible order of application."""
    return list(_AUGMENTATIONS)


def describe() -> dict[str, str]:
    """``{name: help}`` with each default, for ``--help`` texts."""
    out = {}
    for a in _AUGMENTATIONS.values():
        out[a.name] = a.help if a.default is None else f"{a.help} (default {a.default:g})"
    return out


def suggest(dataset: str) -> str:
    """A label-safe augmentation spec for ``dataset`` (a starting point, never a silent default)."""
    return _SUGGESTED.get(dataset, _SUGGESTED_OTHER)


def mirror_warning(spec: str | None, dataset: str) -> str | None:
    """One line of warning when ``spec`` mirrors the images of a data set of digits or letters, else ``None``.

    The data set is known by its name (:data:`MIRROR_SENSITIVE`); the spec must be valid.
    """
    mirrored = [name for name, _ in parse(spec) if _AUGMENTATIONS[name].mirrors]
    base = str(dataset).split(":", 1)[0].lower()
    if not mirrored or base not in MIRROR_SENSITIVE:
        return None
    return (
        f"--augment {mirrored[0]} mirrors the images, but {dataset} holds digits or letters: a mirrored 2 "
        f"or S is not the same class. Try --augment {suggest(base)}."
    )


def parse(spec: str) -> list[tuple[str, float | None]]:
    """``"flip,rotate:15"`` -> ``[("flip", None), ("rotate", 15.0)]`` (defaults filled in).

    Raises:
        UsageError: unknown name (with the valid ones), a bad or out-of-range
            value, a value given to ``flip``, or a name repeated.
    """
    if spec is None or not str(spec).strip() or str(spec).strip().lower() == "none":
        return []
    items = []
    for raw in str(spec).split(","):
        token = raw.strip()
        if not token:
            continue
        name, _, text = token.partition(":")
        name = name.strip().lower()
        if name not in _AUGMENTATIONS:
            from kerascnn.data import augment3d

            if name in augment3d.AUGMENTATIONS:
                raise UsageError(f"{name!r} is a 3D augmentation (clips and volumes); images take: "
                                 f"{', '.join(names())}.")
            raise UsageError(unknown_name_message("augmentation", name, names()))
        aug = _AUGMENTATIONS[name]
        if any(name == n for n, _ in items):
            raise UsageError(f"Augmentation {name!r} appears twice in {spec!r}.")
        if aug.default is None:
            if text.strip():
                raise UsageError(f"Augmentation {name!r} takes no value. Received: {token!r}")
            items.append((name, None))
            continue
        try:
            value = float(text) if text.strip() else aug.default
        except ValueError:
            value = float("nan")
        if not aug.low < value <= aug.high:  # also rejects nan
            raise UsageError(
                f"Augmentation {name!r} takes a number in ({aug.low:g}, {aug.high:g}]. Received: {token!r}"
            )
        items.append((name, value))
    return items


def build(spec: str | None, input_shape, *, seed: int | None = None):
    """A ``keras.Sequential`` of augmentation layers for images of ``input_shape`` (H, W, C).

    Layers run in the order written. Call the result with ``training=True`` on
    float32 raw pixels (0–255); with ``training=False`` it returns its input.

    Args:
        spec: comma-separated ``name[:value]`` items (see :func:`describe`); ``None``,
            ``""`` or ``"none"`` give ``None`` (no augmentation).
        input_shape: ``(height, width, channels)`` of one image.
        seed: base seed; layer ``i`` gets ``seed + i`` (``None``: Keras draws seeds).

    Returns:
        A ``keras.Sequential``, or ``None`` for an empty spec.

    Raises:
        UsageError: a bad spec, or a colour augmentation on non-RGB images.
    """
    items = parse(spec)
    if not items:
        return None
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or min(shape) <= 0:
        raise UsageError(f"Augmentation needs an image shape (height, width, channels). Received: {input_shape}")
    layers = []
    for index, (name, value) in enumerate(items):
        aug = _AUGMENTATIONS[name]
        if aug.rgb_only and shape[-1] != 3:
            raise UsageError(f"Augmentation {name!r} needs RGB images (3 channels); these have {shape[-1]}.")
        layer_seed = None if seed is None else int(seed) + index
        layers.append(aug.make(value, seed=layer_seed))
    import keras

    return keras.Sequential([keras.Input(shape=shape), *layers], name="augmentation")


def variants(layers, images, count: int):
    """``count`` augmented copies of each image: an array ``(N, count, H, W, C)`` in 0–255.

    ``images`` are raw pixels (uint8 or float32, NHWC); ``layers`` run in training mode.
    """
    import numpy as np

    images = np.asarray(images, dtype=np.float32)
    batch = np.repeat(images, count, axis=0)  # each image `count` times in a row
    out = np.asarray(layers(batch, training=True))
    return out.reshape((len(images), count) + out.shape[1:])


__all__ = ["RandomColorCast", "MIRROR_SENSITIVE", "build", "describe", "mirror_warning", "names", "parse", "suggest",
           "variants"]
