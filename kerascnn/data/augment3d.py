"""3D augmentation: Keras layers for batches of clips or volumes ``(B, D, H, W, C)``, from a short spec.

    >>> from kerascnn.data import augment3d
    >>> layers = augment3d.build("flip_w,rot90,scale:0.1,noise:8", input_shape=(32, 32, 32, 1), seed=0)
    >>> augmented = layers(volumes, training=True)      # float32 raw values 0-255, same shape

============  ==============================================================================
``flip_d``    mirror along depth (time for clips: plays the clip backwards)
``flip_h``    mirror along height
``flip_w``    mirror along width
``rot90``     rotate by 0, 90, 180 or 270 degrees in the height-width plane (square frames)
``scale:F``   multiply the intensities by a factor in ``[1 - F, 1 + F]`` (default 0.1)
``shift:F``   add an offset in ``[-F, F] x 255`` (default 0.1)
``noise:S``   add Gaussian noise of standard deviation ``S`` in raw units (default 8)
============  ==============================================================================

Each example draws its own transform; the result is clipped to 0-255 and the layers
are the identity with ``training=False``. As in 2D, pick what keeps the label:
occupancy grids of solids (``shapes3d``) keep their class under flips and 90-degree
rotations, but a flip or a rotation changes the label of ``moving_mnist`` (the
direction of motion): use only the intensity items there. Like the 2D layers they
belong in the ``tf.data`` pipeline, never in a saved model.
"""

from __future__ import annotations

import functools

from kerascnn.core.errors import UsageError, unknown_name_message

#: name -> (default value or None for no value, allowed (low, high]) ; order = the table above.
AUGMENTATIONS = {
    "flip_d": (None, None),
    "flip_h": (None, None),
    "flip_w": (None, None),
    "rot90": (None, None),
    "scale": (0.1, (0.0, 1.0)),
    "shift": (0.1, (0.0, 1.0)),
    "noise": (8.0, (0.0, 255.0)),
}
FLIP_AXES = {"flip_d": 1, "flip_h": 2, "flip_w": 3}
VALUE_RANGE = (0.0, 255.0)
HELP = {
    "flip_d": "mirror along depth (time for clips: plays the clip backwards)",
    "flip_h": "mirror along height",
    "flip_w": "mirror along width",
    "rot90": "rotate by 0/90/180/270 degrees in the height-width plane (square frames)",
    "scale": "multiply the intensities by a factor in [1 - F, 1 + F]",
    "shift": "add an offset in [-F, F] x 255",
    "noise": "add Gaussian noise of this standard deviation (raw units)",
}
#: Items that move voxels: they keep a solid's class but change a direction of motion.
GEOMETRIC = ("flip_d", "flip_h", "flip_w", "rot90")
#: Data sets whose label is a direction of motion (a flip or a quarter turn changes it).
MOTION_LABELS = ("moving_mnist",)
# Label-safe starting points (never applied unless asked for).
_SUGGESTED = {"shapes3d": "flip_d,flip_h,flip_w,rot90,noise:8", "moving_mnist": "scale:0.1,shift:0.1,noise:8"}
_SUGGESTED_OTHER = "scale:0.1,noise:8"


def parse(spec: str | None) -> list[tuple[str, float | None]]:
    """``"flip_w,noise:5"`` -> ``[("flip_w", None), ("noise", 5.0)]``; one-line ``UsageError`` on anything else."""
    items: list[tuple[str, float | None]] = []
    for token in (t.strip() for t in str(spec or "").split(",")):
        if not token or token.lower() == "none":
            continue
        name, _, text = token.partition(":")
        name = name.strip().lower()
        if name not in AUGMENTATIONS:
            from kerascnn.data import augment

            if name in augment.names():
                raise UsageError(f"{name!r} is a 2D (image) augmentation; clips and volumes take: "
                                 f"{', '.join(AUGMENTATIONS)}.")
            raise UsageError(unknown_name_message("3D augmentation", name, list(AUGMENTATIONS)))
        if name in dict(items):
            raise UsageError(f"3D augmentation {name!r} appears twice in {spec!r}.")
        default, bounds = AUGMENTATIONS[name]
        if bounds is None:
            if text.strip():
                raise UsageError(f"3D augmentation {name!r} takes no value. Received: {token!r}")
            items.append((name, None))
            continue
        try:
            value = float(text) if text.strip() else default
        except ValueError:
            value = float("nan")
        if not bounds[0] < value <= bounds[1]:
            raise UsageError(f"3D augmentation {name!r} takes a number in ({bounds[0]:g}, {bounds[1]:g}]. "
                             f"Received: {token!r}")
        items.append((name, value))
    return items


def build(spec: str | None, input_shape, *, seed: int | None = None):
    """A ``keras.Sequential`` of the spec's layers for volumes of ``input_shape`` ``(D, H, W, C)``; ``None`` if empty.

    Layer ``i`` is seeded with ``seed + i``.
    """
    items = parse(spec)
    if not items:
        return None
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 4 or min(shape) <= 0:
        raise UsageError(f"3D augmentation needs a volume shape (depth, height, width, channels). "
                         f"Received: {tuple(input_shape)}")
    if "rot90" in dict(items) and shape[1] != shape[2]:
        raise UsageError(f"rot90 needs square frames (height == width). Received: {shape[1]}x{shape[2]}")
    import keras

    layer_class = _volume_augmentation()
    layers = [layer_class(name, value, seed=None if seed is None else int(seed) + i, name=f"aug3d_{name}")
              for i, (name, value) in enumerate(items)]
    return keras.Sequential([keras.Input(shape=shape), *layers], name="augmentation3d")


@functools.cache
def _volume_augmentation():
    """Define and register :class:`RandomVolumeAugmentation` the first time it is needed."""
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="kerascnn")
    class RandomVolumeAugmentation(keras.layers.Layer):
        """One random 3D augmentation (``kind`` from :data:`AUGMENTATIONS`), drawn per example.

        Args:
            kind: ``flip_d``, ``flip_h``, ``flip_w``, ``rot90``, ``scale``, ``shift`` or ``noise``.
            value: its strength (``None`` for flips and rotations).
            seed: integer seed of the layer's random generator.
        """

        def __init__(self, kind: str, value: float | None = None, seed: int | None = None, **kwargs):
            super().__init__(**kwargs)
            if kind not in AUGMENTATIONS:
                raise ValueError(unknown_name_message("3D augmentation", kind, list(AUGMENTATIONS)))
            self.kind, self.value, self.seed = kind, value, seed
            self.seed_generator = keras.random.SeedGenerator(seed)

        def _per_example(self, volumes, low, high):
            shape = (ops.shape(volumes)[0], 1, 1, 1, 1)
            return keras.random.uniform(shape, low, high, dtype=volumes.dtype, seed=self.seed_generator)

        def call(self, volumes, training=True):
            if not training:
                return volumes
            low, high = VALUE_RANGE
            if self.kind in FLIP_AXES:
                flipped = ops.flip(volumes, axis=FLIP_AXES[self.kind])
                return ops.where(self._per_example(volumes, 0.0, 1.0) < 0.5, flipped, volumes)
            if self.kind == "rot90":
                turns = ops.floor(self._per_example(volumes, 0.0, 4.0))
                out, turned = volumes, volumes
                for quarter in (1.0, 2.0, 3.0):  # one quarter turn = swap H and W, then mirror W
                    turned = ops.flip(ops.transpose(turned, (0, 1, 3, 2, 4)), axis=3)
                    out = ops.where(ops.equal(turns, quarter), turned, out)
                return out
            if self.kind == "scale":
                return ops.clip(volumes * self._per_example(volumes, 1 - self.value, 1 + self.value), low, high)
            if self.kind == "shift":
                span = self.value * (high - low)
                return ops.clip(volumes + self._per_example(volumes, -span, span), low, high)
            noise = keras.random.normal(ops.shape(volumes), stddev=self.value, dtype=volumes.dtype,
                                        seed=self.seed_generator)
            return ops.clip(volumes + noise, low, high)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "kind": self.kind, "value": self.value, "seed": self.seed}

    return RandomVolumeAugmentation


def names() -> list[str]:
    """The 3D augmentation names."""
    return list(AUGMENTATIONS)


def describe() -> dict[str, str]:
    """``{name: help}`` with each default, for ``--help`` texts and ``augment-preview --list``."""
    return {name: HELP[name] if default is None else f"{HELP[name]} (default {default:g})"
            for name, (default, _) in AUGMENTATIONS.items()}


def suggest(dataset: str) -> str:
    """A label-safe 3D augmentation spec for ``dataset`` (a starting point, never a silent default)."""
    return _SUGGESTED.get(str(dataset).split(":", 1)[0].lower(), _SUGGESTED_OTHER)


def mirror_warning(spec: str | None, dataset: str) -> str | None:
    """One line of warning when ``spec`` flips or turns clips whose label is a direction of motion, else ``None``."""
    moved = [name for name, _ in parse(spec) if name in GEOMETRIC]
    if not moved or str(dataset).split(":", 1)[0].lower() not in MOTION_LABELS:
        return None
    return (f"--augment {moved[0]} moves the frames, but the label of {dataset} is the direction of motion: "
            f"a flipped or turned clip has another label. Try --augment {suggest(dataset)}.")


__all__ = ["AUGMENTATIONS", "build", "describe", "mirror_warning", "names", "parse", "suggest"]
