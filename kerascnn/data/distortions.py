"""Koch et al.'s affine distortions, drawn per image in one resampling (a Keras layer for ``tf.data``).

Koch, Zemel & Salakhutdinov (2015, section 4.2) augment Omniglot with small random
affine maps ``T = (theta, rho_x, rho_y, s_x, s_y, t_x, t_y)``: rotation
``theta in [-10, 10]`` degrees, shears ``rho in [-0.3, 0.3]``, scales ``s in [0.8, 1.2]``
and translations ``t in [-2, 2]`` pixels (at 105 px; scaled with the image here).
Keras has a layer for each part, but chaining four layers resamples (blurs) the
image four times; :class:`RandomAffine` composes them into one matrix per image
and resamples once (``keras.ops.image.affine_transform``). The area outside the
image is filled with ``fill_value`` (255 = paper for raw Omniglot pixels).
Identity with ``training=False``; used in the training pipeline, never saved in a model.
"""

from __future__ import annotations

import math

import keras
from keras import ops

#: Koch et al.'s largest distortions: degrees, shear factor, scale change, shift as a fraction of the side.
KOCH_RANGES = {"rotation": 10.0, "shear": 0.3, "scale": 0.2, "translation": 2.0 / 105.0}


@keras.saving.register_keras_serializable(package="kerascnn")
class RandomAffine(keras.layers.Layer):
    """Random rotation, shear, scale and translation in one affine map per image (Koch et al. 2015).

    Args:
        rotation: largest rotation in degrees.
        shear: largest shear factor along x and along y.
        scale: scales are drawn from ``[1 - scale, 1 + scale]`` (x and y separately).
        translation: largest shift as a fraction of the side.
        fill_value: value outside the image with ``fill_mode="constant"`` (raw Omniglot: 255, the paper).
        seed: integer seed.
        fill_mode: ``"constant"`` (``fill_value``) or ``"nearest"`` (the edge pixel extended: any background;
            ``--augment affine``).
    """

    def __init__(self, rotation=KOCH_RANGES["rotation"], shear=KOCH_RANGES["shear"], scale=KOCH_RANGES["scale"],
                 translation=KOCH_RANGES["translation"], fill_value=255.0, seed=None, fill_mode="constant", **kwargs):
        super().__init__(**kwargs)
        if fill_mode not in ("constant", "nearest"):
            raise ValueError(f"`fill_mode` must be 'constant' or 'nearest'. Received: fill_mode={fill_mode!r}")
        self.fill_mode = fill_mode
        for name, value, high in (("rotation", rotation, 180), ("shear", shear, 1), ("scale", scale, 1),
                                  ("translation", translation, 1)):
            if not 0 <= float(value) < high:
                raise ValueError(f"`{name}` must be in [0, {high}). Received: {name}={value!r}")
        self.rotation, self.shear, self.scale = float(rotation), float(shear), float(scale)
        self.translation, self.fill_value, self.seed = float(translation), float(fill_value), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def transforms(self, batch: int, height: int, width: int):
        """``(batch, 8)`` output-to-input maps (the ``affine_transform`` convention) around the image centre."""
        def uniform(bound):
            return keras.random.uniform((batch,), -bound, bound, seed=self.seed_generator)

        theta = uniform(self.rotation) * (math.pi / 180.0)
        shear_x, shear_y = uniform(self.shear), uniform(self.shear)
        scale_x, scale_y = 1.0 + uniform(self.scale), 1.0 + uniform(self.scale)
        shift_x, shift_y = uniform(self.translation) * width, uniform(self.translation) * height
        cos, sin = ops.cos(theta), ops.sin(theta)
        a0, a1 = cos / scale_x, -sin / scale_x + shear_x
        b0, b1 = sin / scale_y + shear_y, cos / scale_y
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        a2 = cx - a0 * cx - a1 * cy + shift_x
        b2 = cy - b0 * cx - b1 * cy + shift_y
        zeros = ops.zeros_like(theta)
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def call(self, images, training=True):
        if not training:
            return images
        batched = len(images.shape) == 4
        x = images if batched else images[None]
        shape = ops.shape(x)
        transform = self.transforms(shape[0], int(x.shape[1]), int(x.shape[2]))
        out = ops.image.affine_transform(x, transform, interpolation="bilinear", fill_mode=self.fill_mode,
                                         fill_value=self.fill_value)
        return out if batched else out[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "shear": self.shear, "scale": self.scale,
                "translation": self.translation, "fill_value": self.fill_value, "seed": self.seed,
                "fill_mode": self.fill_mode}
