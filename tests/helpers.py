"""Helpers shared by several test folders (pytest puts tests/ on sys.path via the root conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_SHAPE = (12, 10, 1)
CLASSES = 5


def export_tiny(folder: Path, input_shape=INPUT_SHAPE, classes=CLASSES) -> dict:
    """A tiny raw-pixel classifier exported by ``kerascnn.export`` (float32 .onnx and .tflite).

    Conv 3x3 (1->4, valid) + global pooling + dense: 10*8*4*9 + 4*5 = 2,900 MACs.
    Returns the paths (``keras``, ``onnx``, ``tflite``, ``export`` folder) and
    Keras's outputs on a few fixed images.
    """
    import keras

    from kerascnn.export import export_model

    keras.utils.set_random_seed(0)
    inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([np.eye(4, classes, dtype="float32") * 20, np.zeros(classes, "float32")])
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    export = folder / "export"
    export_model(
        folder / "model.keras", formats=["tflite", "onnx"], quantize=["none"], calibration="random",
        out=export, samples=8,
    )
    images = np.random.default_rng(1).uniform(0, 255, (3, *input_shape)).astype("float32")
    return {
        "keras": folder / "model.keras",
        "onnx": export / "model.onnx",
        "tflite": export / "model.tflite",
        "export": export,
        "images": images,
        "expected": np.asarray(model.predict_on_batch(images)),
    }
