"""The inputs every export is calibrated and verified on, chosen by the model's Task.

Where they come from, in order: the ``calibration`` argument (``--calibration``),
the data set of the training run the model comes from (its ``config.json``), or
``"random"`` (the Task's example inputs: fine for float32 parity, meaningless
for int8 accuracy). The Task turns that source into arrays
(:meth:`kerascnn.tasks.Task.sample_inputs`): for a classifier, training images
calibrate and test images verify, fitted to the model's input.
"""

from __future__ import annotations

import numpy as np

from kerascnn.tasks.base import RANDOM

#: Samples the artifacts are verified on / int8 ranges are calibrated on. MinMax
#: ranges from 100 images clipped MobileNetV2's activations: int8 top-1 agreement
#: 98.8 % (TFLite) / 99.2 % (onnxruntime) on 500 MNIST digits; 300 gave 100 % / 100 %.
VERIFY_SAMPLES = 500
CALIBRATION_SAMPLES = 300


def resolve_source(calibration: str | None, data_dir, run: dict) -> tuple[str, object]:
    """``(source, data_dir)``: the explicit ``calibration``, else the run's data set, else ``"random"``.

    ``run`` holds what the model's run folder recorded (``dataset``, ``data_dir``).
    """
    if calibration is not None:
        return calibration, data_dir
    if run.get("dataset"):
        return run["dataset"], data_dir if data_dir is not None else run.get("data_dir")
    return RANDOM, data_dir


def sample_inputs(task, source: str, data_dir, signature: tuple[tuple, str], verify: int, calibrate: int) -> dict:
    """The Task's ``{"calibrate", "verify", "description", "class_names", "input_mean", "verify_labels"}``.

    ``verify_labels`` (the classes of the ``verify`` inputs, ``None`` when the Task
    gives none) lets ``--max-accuracy-drop`` measure top-1 accuracy.

    Both arrays are checked against, and cast to, the model's input ``signature``
    (``(shape without batch, dtype)``).
    """
    shape, dtype = signature
    inputs = dict(task.sample_inputs(source, data_dir, tuple(shape), verify, calibrate))
    for key in ("calibrate", "verify"):
        array = np.asarray(inputs[key])
        if array.shape[1:] != tuple(shape):
            raise ValueError(
                f"Task {task.name!r} gave {key} inputs of shape {array.shape[1:]} for a model input of {tuple(shape)}."
            )
        inputs[key] = array.astype(dtype, copy=False)
    inputs.setdefault("class_names", None)
    inputs.setdefault("input_mean", None)
    inputs.setdefault("verify_labels", None)
    return inputs


__all__ = ["RANDOM", "VERIFY_SAMPLES", "CALIBRATION_SAMPLES", "resolve_source", "sample_inputs"]
