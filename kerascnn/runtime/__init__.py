"""Inference on exported artifacts with onnxruntime or LiteRT; never imports TensorFlow or Keras.

The deployment side of the lab: ``kerascnn predict model.onnx`` runs where only
``onnxruntime``, ``numpy`` and ``Pillow`` are installed (``.tflite`` also needs
``ai-edge-litert``). ``tests/runtime`` checks that no TensorFlow is imported.

=====================  ===========================================================
module                 what it holds
=====================  ===========================================================
:mod:`.sessions`       :class:`Runtime` (onnxruntime, LiteRT) and :func:`load_runtime`
:mod:`.manifest`       the export folder's ``manifest.json``: which artifact, task,
                       class names, training input mean
:mod:`.images`         image files -> raw pixels (alpha, 16-bit, blank and polarity checks)
:mod:`.labels`         class names and :func:`top_k`
:mod:`.predict`        :func:`predict_files`: files -> the Task's records
=====================  ===========================================================

Example:

    from kerascnn import runtime

    model = runtime.load_runtime("exports/quickstart/model_int8.onnx")
    batch = runtime.load_images(["seven.png"], model.input_shape)
    print(runtime.top_k(model.run(batch)[0], k=3))
"""

from kerascnn.runtime.images import load_image, load_images
from kerascnn.runtime.labels import as_probabilities, labels_from_manifest, load_labels, top_k
from kerascnn.runtime.manifest import read_manifest, resolve_model
from kerascnn.runtime.predict import predict_files, task_of
from kerascnn.runtime.sessions import (
    OnnxRuntime,
    Runtime,
    TFLiteRuntime,
    default_threads,
    load_onnx_session,
    load_runtime,
    load_tflite_interpreter,
    model_format,
    onnx_session_options,
)

__all__ = [
    "Runtime",
    "OnnxRuntime",
    "TFLiteRuntime",
    "load_runtime",
    "load_onnx_session",
    "load_tflite_interpreter",
    "onnx_session_options",
    "default_threads",
    "model_format",
    "read_manifest",
    "resolve_model",
    "load_image",
    "load_images",
    "load_labels",
    "labels_from_manifest",
    "as_probabilities",
    "top_k",
    "predict_files",
    "task_of",
]
