"""Volume classification: clips and volumes ``(D, H, W, C)`` of raw values in, class probabilities out.

The 3D CNNs of the zoo (``voxnet``, ``c3d``, ``r3d_18``, ``mc3_18``, ``r2plus1d_18``)
classify video clips (``D`` = frames) and volumes (``D`` = slices). Everything but
the input is image classification's (:mod:`kerascnn.tasks.classification`): the
softmax head, sparse categorical cross-entropy, the best epoch by validation
accuracy, parity as max |diff| plus top-1 agreement, top-k in ``predict``. What
differs, and lives here:

* the input adapter: per-channel ``Normalization`` of the raw values (statistics of
  the training volumes) in front of the backbone built at the data's own shape;
* rank: 5-D batches ``(B, D, H, W, C)`` in training, export, the runtime and bench;
* export formats: ONNX only. TFLite has no integer Conv3D, cannot convert
  grouped/depthwise Conv3D (tensorflow#53251) and needs Flex ops for some 3D
  pooling (tensorflow#57607), so ``export --format tflite`` is refused in one line;
* input files for ``predict``: ``.npy`` arrays of one volume, ``(D, H, W, C)`` or
  ``(D, H, W)``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError, first_line
from kerascnn.tasks.base import RANDOM
from kerascnn.tasks.classification import Classification

#: Dimensions of one example: (depth or frames, height, width, channels).
VOLUME_RANK = 4


class VolumeClassification(Classification):
    """Single-label classification of clips and volumes (``(D, H, W, C)`` raw values, 0-255)."""

    name = "volume"
    formats = ("onnx",)

    # ------------------------------------------------------------ training
    def build_model(self, config, dataset, x_train):
        """Classification's adapter (per-channel ``Normalization``) around the backbone built at the data's shape."""
        shape = check_volume_shape(dataset.input_shape, f"Dataset {dataset.name!r}")
        if config.input_size is not None or config.weights is not None:
            raise UsageError("--input-size and --weights apply to image models; 3D models take the data set's "
                             f"own {'x'.join(map(str, shape))} volumes.")
        return super().build_model(config, dataset, x_train)

    # ------------------------------------------------------------ export
    def input_signature(self, model):
        shape, dtype = super(Classification, self).input_signature(model)
        check_volume_shape(shape, "A volume classifier")
        return shape, dtype

    def sample_inputs(self, source, data_dir, input_shape, verify, calibrate) -> dict:
        """Training volumes calibrate, test volumes verify (disjoint); they must have the model's shape."""
        if source == RANDOM:
            inputs = super(Classification, self).sample_inputs(source, data_dir, input_shape, verify, calibrate)
            inputs["description"] = "uniform random values 0-255"
            return inputs
        from kerascnn import data

        dataset = data.load(source, data_dir)
        if dataset.input_shape != tuple(input_shape):
            raise UsageError(f"Dataset {dataset.name!r} has {dataset.input_shape} examples; the model takes "
                             f"{tuple(input_shape)}. Pass --calibration random or a matching data set.")
        rng = np.random.default_rng(0)
        return {
            "calibrate": dataset.x_train[rng.permutation(len(dataset.x_train))[:calibrate]].astype("float32"),
            "verify": dataset.x_test[rng.permutation(len(dataset.x_test))[:verify]].astype("float32"),
            "description": f"{dataset.name} ({dataset.source})",
            "class_names": list(dataset.class_names),
            "input_mean": float(dataset.x_train.mean()),
        }

    # ------------------------------------------------------------ runtime (no TensorFlow)
    def load_inputs(self, paths: Sequence[str | os.PathLike], input_shape, *, warn=None, invert: bool = False,
                    input_mean: float | None = None) -> np.ndarray:
        """``.npy`` files of one volume each -> a float32 batch ``(N, D, H, W, C)``."""
        shape = check_volume_shape(input_shape, "This model")
        if invert:
            raise UsageError("--invert applies to images, not to volumes.")
        return np.stack([load_volume(path, shape) for path in paths]).astype("float32")


def check_volume_shape(shape, what: str) -> tuple[int, ...]:
    """``shape`` as a tuple when it is ``(D, H, W, C)``, else the one-line error naming ``what``."""
    shape = tuple(int(d) for d in shape)
    if len(shape) != VOLUME_RANK:
        raise UsageError(f"{what} needs (depth, height, width, channels) volumes. Received shape: {shape}")
    return shape


def load_volume(path: str | os.PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """One ``.npy`` volume of ``shape`` (a missing channel axis of 1 is added)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Volume file not found: {path}")
    if path.suffix.lower() != ".npy":
        raise UsageError(f"Volumes are read from .npy files (numpy.save). Received: {path}")
    try:
        volume = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise UsageError(f"Cannot read {path} as a .npy array: {first_line(err)}") from None
    if volume.ndim == VOLUME_RANK - 1 and shape[-1] == 1:
        volume = volume[..., np.newaxis]
    if volume.shape != shape:
        raise UsageError(f"{path} holds a volume of shape {volume.shape}; the model takes {shape}.")
    return volume


TASK = VolumeClassification()
