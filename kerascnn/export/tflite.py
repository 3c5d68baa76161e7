"""Keras -> TFLite (LiteRT) with ``tf.lite.TFLiteConverter``, builtin ops only.

A model that needs TensorFlow ops without a TFLite builtin (Flex / "TF Select"
ops, e.g. ``Cumprod``) is refused with the op names: shipping Flex ops would
require the full TensorFlow kernel library on the device.

Full-integer int8 artifacts of a float-input model take int8 input and give
int8 output (the TFLite convention for integer-only accelerators and
microcontrollers). Quantise inputs with the input tensor's ``(scale, zero_point)``
and dequantise outputs with the output tensor's; both are recorded in the
manifest. Integer inputs (token ids) are left as they are.

The converter's own notes (``fully_quantize: 0, inference_type: 6, ...``, written
by C++ to the terminal) are shown only when a conversion fails
(:func:`kerascnn.core.quiet.native_output_captured`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from kerascnn.core.errors import first_line
from kerascnn.core.quiet import native_output_captured
from kerascnn.export.quantize import representative_dataset

INPUT_NAME = "input"


class FlexOpsError(ValueError):
    """The model needs TensorFlow ops that have no TFLite builtin kernel."""


def export_saved_model(model, folder: Path, *, input_shape, input_dtype: str = "float32") -> Path:
    """Trace ``model`` once into a SavedModel (input ``input``, dynamic batch) for the converter.

    ``input_shape`` (without the batch dimension, any rank) and ``input_dtype``
    are the Task's input signature.

    ``TFLiteConverter.from_keras_model`` would write a SavedModel of its own for
    every precision; converting all precisions from one is the same graph, faster.
    """
    import keras

    spec = keras.InputSpec(shape=(None, *input_shape), dtype=input_dtype, name=INPUT_NAME)
    with native_output_captured(), contextlib.redirect_stdout(io.StringIO()):  # it prints its endpoints
        model.export(os.fspath(folder), format="tf_saved_model", input_signature=[spec], verbose=False)
    return folder


def convert_tflite(
    saved_model: Path, precision: str, x_calibration: np.ndarray | None = None, *, name: str = "model"
) -> bytes:
    """Convert a SavedModel to a TFLite flatbuffer at ``precision`` (fp32, fp16, dynamic, int8).

    ``x_calibration`` (int8 only) holds inputs of the model's dtype; a float input
    becomes int8 in the artifact, an integer one keeps its type.
    """
    import tensorflow as tf

    if precision == "int8":
        converter = int8_converter(saved_model, x_calibration)
    else:
        converter = tf.lite.TFLiteConverter.from_saved_model(os.fspath(saved_model))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if precision == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif precision == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
    try:
        # Its notes (e.g. statistics for int8 I/O, whose scale and zero point the
        # manifest records) are noise unless the conversion fails.
        with native_output_captured((1, 2)):
            return converter.convert()
    except Exception as err:  # ConverterError and friends carry the MLIR diagnostics
        ops = unsupported_ops(str(err))
        if ops:
            raise FlexOpsError(
                f"Model {name!r} needs TensorFlow ops with no TFLite builtin kernel: "
                f"{', '.join(ops)}. Replace the layers that use them (builtin ops only; Flex ops are not exported)."
            ) from err
        raise ValueError(f"TFLite conversion ({precision}) failed: {first_line(err)}") from err


def int8_converter(saved_model: Path, x_calibration: np.ndarray):
    """A ``TFLiteConverter`` set up for full-integer int8 with ``x_calibration`` as representative data."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(os.fspath(saved_model))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative_dataset(x_calibration)
    if np.issubdtype(np.asarray(x_calibration).dtype, np.floating):
        converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter


def convert_tflite_selective(saved_model: Path, x_calibration: np.ndarray, float_tensors) -> bytes:
    """int8 with the ops that write ``float_tensors`` kept in float32 (TFLite's selective quantisation).

    ``tf.lite.experimental.QuantizationDebugger`` with ``denylisted_nodes`` writes
    the model; it keeps float32 input and output (the runtime reads either).
    """
    import tensorflow as tf

    converter = int8_converter(saved_model, x_calibration)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(float_tensors))
    try:
        with native_output_captured((1, 2)), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the debugger runs the deprecated tf.lite.Interpreter
            debugger = tf.lite.experimental.QuantizationDebugger(
                converter=converter, debug_dataset=representative_dataset(x_calibration[:1]), debug_options=options
            )
            return debugger.get_nondebug_quantized_model()
    except Exception as err:
        raise ValueError(f"TFLite selective int8 conversion failed: {first_line(err)}") from err


def unsupported_ops(message: str) -> list[str]:
    """Op names from a converter error (``TF Select ops: Cumprod``, ``'tf.Erfinv' op is neither ...``)."""
    names: list[str] = []
    for match in re.finditer(r"(?:TF Select ops|Custom ops|Flex ops): ([^\n]+)", message):
        names += [n.strip() for n in match.group(1).split(",")]
    names += re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", message)
    return sorted(set(n for n in names if n))


def io_spec(content: bytes) -> tuple[dict, list[dict]]:
    """``(input, outputs)`` descriptions of a TFLite flatbuffer for the manifest."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    inputs = [_tensor_spec(d) for d in interpreter.get_input_details()]
    return inputs[0], [_tensor_spec(d) for d in interpreter.get_output_details()]


def _tensor_spec(detail: dict) -> dict:
    signature = detail.get("shape_signature", detail["shape"])
    spec = {
        "name": detail["name"],
        "shape": [None if int(d) < 0 else int(d) for d in signature],
        "dtype": np.dtype(detail["dtype"]).name,
    }
    scale, zero_point = detail["quantization"]
    if scale:
        spec["quantization"] = {"scale": float(scale), "zero_point": int(zero_point)}
    return spec
