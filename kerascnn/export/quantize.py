"""Post-training quantisation settings shared by the TFLite and ONNX paths.

Precisions (``--quantize``):

* ``none``    float32, the reference (file suffix ``""``, manifest precision ``fp32``);
* ``fp16``    float16 weights, float32 compute on CPU (TFLite only);
* ``dynamic`` int8 weights, activations quantised on the fly (dynamic range);
* ``int8``    full-integer static quantisation with a calibration set
  (Jacob et al., 2018, "Quantization and Training of Neural Networks for Efficient
  Integer-Arithmetic-Only Inference").

onnxruntime int8 recipe (measured on MobileNetV2 224, see ``exports/README.md``):
QDQ format, **uint8 activations with int8 per-channel weights**, after
``quant_pre_process``. With int8 activations (onnxruntime's QDQ default) the CPU
provider does not fuse the residual ``Add`` nodes into ``QLinearAdd``; they stay
``DequantizeLinear -> Add -> QuantizeLinear`` in float32, the pointwise convolutions
next to them stay float ``Conv`` (15 of 52 in MobileNetV2) and 31 NHWC<->NCHW
``Transpose`` nodes are left between them: slower than float32.
Without pre-processing, the Keras graph's unfused ``Mul``/``Add``/``Pad`` nodes each
get their own quantise/dequantise pair.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

# --quantize value -> precision recorded in the manifest and used in file names.
PRECISIONS = {"none": "fp32", "fp16": "fp16", "dynamic": "dynamic", "int8": "int8"}
QUANTIZE_MODES = tuple(PRECISIONS)

# Which precisions each format can produce (ONNX fp16 has no CPU kernels in
# onnxruntime: it would only add Cast nodes, so it is not offered).
SUPPORTED = {
    "tflite": ("fp32", "fp16", "dynamic", "int8"),
    "onnx": ("fp32", "dynamic", "int8"),
}


def is_quantized(precision: str) -> bool:
    """True for every precision whose numbers are not float32."""
    return precision != "fp32"


def needs_calibration(precisions: Iterable[str]) -> bool:
    """Static int8 needs representative inputs to fix activation ranges."""
    return "int8" in precisions


def representative_dataset(x: np.ndarray):
    """A TFLite ``representative_dataset``: a callable yielding one-sample batches."""

    def generate():
        for sample in x:
            yield [sample[None].astype("float32")]

    return generate


class _OrtCalibrationReader:
    """onnxruntime ``CalibrationDataReader`` over a float32 array, one sample at a time."""

    def __init__(self, input_name: str, x: np.ndarray):
        self._batches = iter([{input_name: x[i : i + 1].astype("float32")} for i in range(len(x))])

    def get_next(self):
        return next(self._batches, None)


@contextlib.contextmanager
def _quiet_onnxruntime_quantization():
    # quant_pre_process / quantize_static log advice at INFO/WARNING on the root logger.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantize_onnx_static(src: Path, dst: Path, x_calibration: np.ndarray, input_name: str, scratch: Path) -> dict:
    """Static int8 quantisation of an ONNX model with onnxruntime; returns the settings used."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    reader = type("Reader", (_OrtCalibrationReader, CalibrationDataReader), {})(input_name, x_calibration)
    prepared = scratch / f"{Path(src).stem}.preprocessed.onnx"
    with _quiet_onnxruntime_quantization():
        # Shape inference + onnxruntime's basic graph fusions (BatchNorm/Mul/Add into Conv)
        # so that fewer tensors need quantise/dequantise pairs.
        quant_pre_process(os.fspath(src), os.fspath(prepared), skip_symbolic_shape=False)
        quantize_static(
            os.fspath(prepared),
            os.fspath(dst),
            reader,
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
        )
    return {
        "tool": "onnxruntime.quantization.quantize_static",
        "format": "QDQ",
        "activations": "uint8",
        "weights": "int8 per-channel",
        "calibration": "MinMax",
        "calibration_samples": int(len(x_calibration)),
        "pre_process": True,
    }


def quantize_onnx_dynamic(src: Path, dst: Path, scratch: Path) -> dict:
    """Dynamic-range quantisation of an ONNX model (int8 weights, uint8 activations on the fly)."""
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    prepared = scratch / f"{Path(src).stem}.preprocessed.onnx"
    with _quiet_onnxruntime_quantization():
        if not prepared.exists():
            quant_pre_process(os.fspath(src), os.fspath(prepared), skip_symbolic_shape=False)
        quantize_dynamic(os.fspath(prepared), os.fspath(dst), weight_type=QuantType.QInt8, per_channel=True)
    return {
        "tool": "onnxruntime.quantization.quantize_dynamic",
        "activations": "uint8 (dynamic)",
        "weights": "int8 per-channel",
        "pre_process": True,
    }
