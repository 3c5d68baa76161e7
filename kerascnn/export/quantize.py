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
``quant_pre_process``; 7-bit weights (``reduce_range``) on CPUs without a VNNI
dot product, 8-bit where ``vpdpbusd``/AMX sum into int32 — chosen from the CPU's
flags by :mod:`kerascnn.export.int8_settings` and recorded in the manifest.

* With int8 activations (onnxruntime's QDQ default) the CPU provider does not fuse
  the residual ``Add`` nodes into ``QLinearAdd``; they stay
  ``DequantizeLinear -> Add -> QuantizeLinear`` in float32, the pointwise convolutions
  next to them stay float ``Conv`` (15 of 52 in MobileNetV2) and 31 NHWC<->NCHW
  ``Transpose`` nodes are left between them. With uint8 activations every
  convolution becomes ``QLinearConv`` and a single ``Transpose`` remains.
* Without pre-processing, the Keras graph's unfused ``Mul``/``Add``/``Pad`` nodes each
  get their own quantise/dequantise pair (28 ``QLinearAdd`` instead of 11): slower
  than float32.
* uint8 x int8 products are summed in int16 pairs (``vpmaddubsw``) on x86 CPUs
  without AVX-512 VNNI, which saturates with 8-bit weights: on such a CPU MobileNetV2
  agreed with Keras on 84.8 % of the test digits (LeNet-5: 97.5 %). 7-bit weights
  cannot overflow, cost nothing in speed (100 % agreement), and per-channel scales
  keep the precision. ``session.x64quantprecision`` would fix 8-bit weights in the
  session instead, 1.7x slower, and only in sessions that set it. With AVX-512 VNNI
  the products go straight to int32 (``vpdpbusd``): 8-bit weights are exact there.
* Per-tensor weights collapse MobileNetV2 to one class: BatchNorm folded into the
  depthwise convolutions leaves channels whose ranges differ by orders of magnitude
  (Nagel et al., 2019, "Data-Free Quantization Through Weight Equalization and Bias
  Correction").
* Dynamic quantisation turns convolutions into ``ConvInteger`` with a
  ``DynamicQuantizeLinear`` per activation, which onnxruntime does not fuse: ~10x
  slower than float32 on MobileNetV2. It only makes the file smaller; use int8.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
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


def representative_dataset(x: np.ndarray):
    """A TFLite ``representative_dataset``: a callable yielding one-sample batches (``x``'s dtype)."""

    def generate():
        for sample in x:
            yield [np.asarray(sample[None])]

    return generate


def _calibration_reader(input_name: str, x: np.ndarray):
    """An onnxruntime ``CalibrationDataReader`` over an array of model inputs, one sample per batch."""
    from onnxruntime.quantization import CalibrationDataReader

    class ArrayReader(CalibrationDataReader):
        def __init__(self):
            self._batches = iter([{input_name: np.asarray(x[i : i + 1])} for i in range(len(x))])

        def get_next(self):
            return next(self._batches, None)

    return ArrayReader()


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


def _pre_processed(src: Path, scratch: Path) -> Path:
    """``quant_pre_process`` once per model: shape inference and onnxruntime's basic fusions
    (BatchNorm/Mul/Add folded into Conv), so fewer tensors need quantise/dequantise pairs; a
    per-channel input normalisation becomes a float 1x1 convolution (:func:`input_scaling_as_conv`)."""
    from onnxruntime.quantization import quant_pre_process

    import onnx

    from kerascnn.export import onnx as onnx_export

    prepared = scratch / f"{Path(src).stem}.preprocessed.onnx"
    if not prepared.exists():
        quant_pre_process(os.fspath(src), os.fspath(prepared), skip_symbolic_shape=False)
        proto = onnx.load(os.fspath(prepared))
        if onnx_export.input_scaling_as_conv(proto):
            onnx.save(proto, os.fspath(prepared))
    return prepared


def quantize_onnx_static(
    src: Path,
    dst: Path,
    x_calibration: np.ndarray,
    input_name: str,
    scratch: Path,
    settings=None,
    nodes_to_exclude: Sequence[str] = (),
) -> dict:
    """Static int8 quantisation of an ONNX model with onnxruntime; returns the settings used.

    Args:
        settings: an :class:`~kerascnn.export.int8_settings.Int8Settings` (default:
            the recipe for this CPU, :func:`~kerascnn.export.int8_settings.this_cpu`).
        nodes_to_exclude: node names of the pre-processed graph kept in float32
            (:mod:`kerascnn.export.accuracy` picks them).

    Activation ranges are calibrated once per model and precision in ``scratch``
    (onnxruntime's ``calibration_cache_path``): re-quantising with other nodes
    excluded reuses them. The written file is :func:`compact_qdq`'d.
    """
    import onnx
    from onnxruntime.quantization import CalibrationMethod, quantize_static

    from kerascnn.export import int8_settings
    from kerascnn.export import onnx as onnx_export

    settings = settings if settings is not None else int8_settings.this_cpu()
    reader = _calibration_reader(input_name, x_calibration)
    with _quiet_onnxruntime_quantization():
        prepared = _pre_processed(src, scratch)
        input_scaling = onnx_export.input_scaling_nodes(onnx.load(os.fspath(prepared)))
        quantize_static(
            os.fspath(prepared),
            os.fspath(dst),
            reader,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=[*input_scaling, *nodes_to_exclude],
            calibration_cache_path=os.fspath(scratch / f"{Path(src).stem}.minmax-{len(x_calibration)}.json"),
            **settings.quantize_static_arguments(),
        )
    compact_qdq(dst)
    recorded = {
        "tool": "onnxruntime.quantization.quantize_static",
        **settings.to_manifest(),
        "calibration": "MinMax",
        "calibration_samples": int(len(x_calibration)),
        "pre_process": True,
    }
    if input_scaling:
        recorded["float_input_scaling"] = input_scaling
    if nodes_to_exclude:
        recorded["float_nodes"] = list(nodes_to_exclude)
    return recorded


def compact_qdq(path: Path) -> int:
    """Drop what a quantised ONNX file carries without needing it; returns the bytes saved.

    * ``value_info``: the shapes ``quant_pre_process`` inferred for every tensor
      (onnxruntime infers them again on load);
    * all-zero **int32 bias** zero points (``DequantizeLinear`` defaults to 0):
      one int32 per output channel, the same size as the bias itself.

    The int8 weight zero points stay: without them onnxruntime no longer fuses
    ``DequantizeLinear -> Gemm`` into ``QGemm``. Measured on LeNet-5: 0.351x -> 0.336x
    the float32 file, the same fused graph and the same outputs.
    """
    import onnx
    from onnx import numpy_helper

    before = Path(path).stat().st_size
    proto = onnx.load(os.fspath(path))
    initializers = {init.name: init for init in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type != "DequantizeLinear" or len(node.input) < 3 or node.input[0] not in initializers:
            continue
        zero_point = initializers.get(node.input[2])
        if zero_point is not None and zero_point.data_type == onnx.TensorProto.INT32:
            if not numpy_helper.to_array(zero_point).any():
                del node.input[2]
    used = {name for node in proto.graph.node for name in node.input}
    kept = [init for init in proto.graph.initializer if init.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(kept)
    del proto.graph.value_info[:]
    onnx.save(proto, os.fspath(path))
    return before - Path(path).stat().st_size


def quantize_onnx_dynamic(src: Path, dst: Path, scratch: Path) -> dict:
    """Dynamic-range quantisation of an ONNX model (int8 weights, uint8 activations on the fly)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_onnxruntime_quantization():
        prepared = _pre_processed(src, scratch)
        quantize_dynamic(os.fspath(prepared), os.fspath(dst), weight_type=QuantType.QInt8, per_channel=True)
    return {
        "tool": "onnxruntime.quantization.quantize_dynamic",
        "activations": "uint8 (dynamic)",
        "weights": "int8 per-channel",
        "pre_process": True,
    }
