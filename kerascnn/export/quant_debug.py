"""Per-layer quantisation error: which layer int8 hurts, and why (``kerascnn export --debug-quant``).

Every quantised layer gets one row, measured on held-out inputs:

* ``weight_sqnr_db``: signal-to-quantisation-noise ratio of its weights
  (float vs dequantised int8; onnxruntime's ``qdq_loss_debug.create_weight_matching``);
* ``output_sqnr_db``: SQNR of the int8 rounding of its output tensor alone (the
  tensor before vs after its QuantizeLinear/DequantizeLinear pair; TFLite: the
  float op on the same dequantised inputs vs the int8 op, from
  ``tf.lite.experimental.QuantizationDebugger``);
* ``channel_sqnr_db``: the same error measured **per channel** and averaged
  (``-10 log10(mean_c |e_c|^2 / |x_c|^2)``). One activation scale serves the whole
  tensor, so a channel whose values are 100x smaller than the largest one keeps
  only a few of the 256 levels: the whole-tensor SQNR hides it, the per-channel
  one shows it. This is why **depthwise** layers suffer: BatchNorm folded into a
  3x3 depthwise filter gives every channel its own range (Nagel et al., 2019,
  "Data-Free Quantization Through Weight Equalization and Bias Correction"), and
  each output sums only 9 products, so nothing averages the rounding out;
* ``float_sqnr_db`` (ONNX): the output against the float32 model's, i.e. the error
  accumulated from the input up to this layer.

``kind`` groups layers as the lecture does (depthwise, 1x1 conv, conv, dense,
other). :mod:`kerascnn.export.accuracy` keeps the rows with the lowest
``channel_sqnr_db`` in float first. :func:`write_report` writes the table as CSV
and a bar plot (matplotlib, Agg).

Reference: Krishnamoorthi, 2018, "Quantizing deep convolutional networks for
efficient inference: A whitepaper" (per-channel vs per-tensor, SQNR).
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.files import atomic_save_path, atomic_write_text

#: Table columns, in order.
COLUMNS = ("layer", "op", "kind", "weight_sqnr_db", "output_sqnr_db", "channel_sqnr_db", "float_sqnr_db")

#: Ops whose output takes its input's quantisation (ONNX and TFLite spellings): keeping a tensor in
#: float means keeping these consumers in float too, and the nodes that read *their* output.
PASSTHROUGH_OPS = {
    "Relu", "Clip", "MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Pad", "Resize",
    "RELU", "RELU6", "MAX_POOL_2D", "RESHAPE", "TRANSPOSE", "SQUEEZE", "PAD", "RESIZE_BILINEAR",
}  # fmt: skip

_EPS = 1e-30
#: A channel whose energy is below this fraction of the mean channel energy counts as silent.
DEAD_CHANNEL = 1e-6


class ChannelError:
    """Running per-channel sums of squared signal and squared error (channels on ``axis``)."""

    def __init__(self, axis: int):
        self.axis = axis
        self.signal = None
        self.noise = None

    def add(self, reference: np.ndarray, other: np.ndarray) -> None:
        reference = np.asarray(reference, dtype=np.float64)
        error = np.asarray(other, dtype=np.float64) - reference
        if reference.ndim == 0:
            reference, error = reference.reshape(1), error.reshape(1)
        axis = self.axis % reference.ndim
        others = tuple(i for i in range(reference.ndim) if i != axis)
        signal, noise = np.sum(reference**2, axis=others), np.sum(error**2, axis=others)
        if self.signal is None or self.signal.shape != signal.shape:
            self.signal, self.noise = signal, noise
        else:
            self.signal += signal
            self.noise += noise

    def sqnr_db(self) -> float:
        """Whole-tensor SQNR in dB."""
        return _db(float(self.signal.sum()), float(self.noise.sum()))

    def channel_sqnr_db(self) -> float:
        """``-10 log10`` of the mean per-channel noise-to-signal ratio.

        Channels 60 dB below the mean channel energy are left out: a softmax's
        near-zero class probabilities or a dead ReLU channel carry no signal to lose.
        """
        live = self.signal > max(_EPS, DEAD_CHANNEL * float(self.signal.mean()))
        if not live.any():
            return self.sqnr_db()
        return -10 * math.log10(max(float(np.mean(self.noise[live] / self.signal[live])), 1e-12))


def _db(signal: float, noise: float) -> float:
    return 10 * math.log10(max(signal, _EPS) / max(noise, _EPS))


def layer_name(name: str) -> str:
    """The Keras layer a converter's node/tensor name comes from, as far as the name tells.

    ``mnv2_mnist_1/mobilenet_v2_1/block_1_depthwise_1/depthwise`` -> ``block_1_depthwise``: the last
    path segment Keras numbered with a ``_<n>`` suffix. Names without one are returned as they are.
    """
    first = name.split(";")[0]
    for segment in reversed(first.split("/")[:-1]):
        stem, sep, number = segment.rpartition("_")
        if sep and number.isdigit() and stem:
            return stem
    return first


# --------------------------------------------------------------------------- ONNX


def _with_float_outputs(proto):
    """``proto`` with every float tensor a node makes added to the graph outputs (shape-inferred)."""
    import onnx

    inferred = onnx.shape_inference.infer_shapes(proto)
    value_infos = {vi.name: vi for vi in (*inferred.graph.value_info, *inferred.graph.output)}
    outputs = {o.name for o in inferred.graph.output}
    for node in inferred.graph.node:
        for name in node.output:
            info = value_infos.get(name)
            if name in outputs or info is None or info.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
                continue
            inferred.graph.output.append(info)
            outputs.add(name)
    return inferred


def _session(proto):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # the graph as written
    options.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _post_qdq_names(qdq_outputs: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Float tensor name -> (its name before, its name after the QuantizeLinear/DequantizeLinear pair)."""
    from onnxruntime.quantization.quant_utils import DEQUANT_OUTPUT_SUFFIX, QUANT_INPUT_SUFFIX

    names = set(qdq_outputs)
    pairs = {}
    for name in names:
        if name.endswith(QUANT_INPUT_SUFFIX) and name[: -len(QUANT_INPUT_SUFFIX)] in names:
            pairs[name[: -len(QUANT_INPUT_SUFFIX)]] = (name, name[: -len(QUANT_INPUT_SUFFIX)])
        elif name.endswith(DEQUANT_OUTPUT_SUFFIX) and name[: -len(DEQUANT_OUTPUT_SUFFIX)] in names:
            pairs[name[: -len(DEQUANT_OUTPUT_SUFFIX)]] = (name[: -len(DEQUANT_OUTPUT_SUFFIX)], name)
    return pairs


def _float_activation(node, initializers: dict):
    """``Relu`` -> ``max(x, 0)``, ``Clip`` -> ``clip(x, lo, hi)`` (from its constant inputs); else identity."""
    from onnx import numpy_helper

    if node.op_type == "Relu":
        return lambda x: np.maximum(x, 0)
    if node.op_type == "Clip":
        bounds = [
            float(numpy_helper.to_array(initializers[name])) if name in initializers else None
            for name in list(node.input[1:3]) + [""] * (3 - len(node.input))
        ]
        return lambda x: np.clip(x, bounds[0], bounds[1])
    return lambda x: x


def onnx_kind(node, initializers: dict) -> str:
    """``depthwise``, ``1x1 conv``, ``conv``, ``dense`` or the op type in lower case."""
    from onnx import helper

    if node.op_type == "Conv":
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = initializers.get(node.input[1])
        kernel = list(attributes.get("kernel_shape") or (list(weight.dims[2:]) if weight is not None else []))
        group = int(attributes.get("group", 1))
        if group > 1 and weight is not None and weight.dims[1] == 1:
            return "depthwise"
        return "1x1 conv" if kernel and all(k == 1 for k in kernel) else "conv"
    if node.op_type in ("Gemm", "MatMul"):
        return "dense"
    return node.op_type.lower()


class OnnxGraph:
    """Producers and consumers of a float ONNX graph's tensors (the pre-processed graph that is quantised)."""

    def __init__(self, proto):
        self.nodes = list(proto.graph.node)
        self.initializers = {init.name: init for init in proto.graph.initializer}
        self.producer = {name: node for node in self.nodes for name in node.output}
        self.consumers: dict[str, list] = {}
        for node in self.nodes:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def layer_node(self, tensor: str):
        """The node that computes ``tensor``, looking through ``Relu``/``Clip`` to the layer before them."""
        node = self.producer.get(tensor)
        while node is not None and node.op_type in ("Relu", "Clip") and node.input[0] in self.producer:
            node = self.producer[node.input[0]]
        return node

    def float_island(self, node) -> list[str]:
        """``node`` and every node that must run in float for ``node``'s output to stay float."""
        island, frontier = [node.name], list(node.output)
        while frontier:
            for consumer in self.consumers.get(frontier.pop(), []):
                if consumer.name in island:
                    continue
                island.append(consumer.name)
                if consumer.op_type in PASSTHROUGH_OPS:
                    frontier.extend(consumer.output)
        return island


def onnx_layer_errors(float_path: Path, qdq_path: Path, x: np.ndarray, input_name: str, batch_size: int = 8):
    """Rows of :data:`COLUMNS` (plus ``exclude``: node names to keep in float) for a QDQ model.

    ``float_path`` is the float graph that was quantised (after ``quant_pre_process``);
    ``x`` the held-out inputs, run in batches of ``batch_size``.
    """
    import onnx
    from onnxruntime.quantization.qdq_loss_debug import compute_signal_to_quantization_noice_ratio
    from onnxruntime.quantization.qdq_loss_debug import create_weight_matching

    float_proto = onnx.load(os.fspath(float_path))
    graph = OnnxGraph(float_proto)
    float_session = _session(_with_float_outputs(float_proto))
    qdq_session = _session(_with_float_outputs(onnx.load(os.fspath(qdq_path))))
    float_names = [o.name for o in float_session.get_outputs()]
    qdq_names = [o.name for o in qdq_session.get_outputs()]
    pairs = {t: p for t, p in _post_qdq_names(qdq_names).items() if t in graph.producer}

    # The quantiser drops a Relu/Clip after a layer (the uint8 range clips instead): the tensor before
    # its QuantizeLinear is then the pre-activation, so apply the dropped activation before comparing.
    activation = {t: _float_activation(graph.producer[t], graph.initializers) for t in pairs}
    local = {t: ChannelError(axis=1) for t in pairs}
    accumulated = {t: ChannelError(axis=1) for t in pairs if t in float_names}
    for start in range(0, len(x), batch_size):
        feed = {input_name: np.asarray(x[start : start + batch_size])}
        floats = dict(zip(float_names, float_session.run(float_names, feed)))
        quantised = dict(zip(qdq_names, qdq_session.run(qdq_names, feed)))
        for tensor, (before, after) in pairs.items():
            local[tensor].add(activation[tensor](quantised[before]), quantised[after])
            if tensor in accumulated:
                accumulated[tensor].add(floats[tensor], quantised[after])

    weights = {}
    for name, match in create_weight_matching(os.fspath(float_path), os.fspath(qdq_path)).items():
        for consumer in graph.consumers.get(name, []):
            if consumer.op_type in ("Conv", "Gemm", "MatMul") and consumer.input[1] == name:
                sqnr = compute_signal_to_quantization_noice_ratio(match["float"], match["dequantized"])
                weights[consumer.name] = sqnr

    rows, seen = [], set()
    for node in graph.nodes:  # graph order
        for tensor in node.output:
            if tensor not in pairs:
                continue
            layer = graph.layer_node(tensor)
            if layer is None or layer.name in seen or layer.op_type in PASSTHROUGH_OPS:
                continue
            seen.add(layer.name)
            rows.append(
                {
                    "layer": layer.name,
                    "op": layer.op_type,
                    "kind": onnx_kind(layer, graph.initializers),
                    "weight_sqnr_db": weights.get(layer.name),
                    "output_sqnr_db": local[tensor].sqnr_db(),
                    "channel_sqnr_db": local[tensor].channel_sqnr_db(),
                    "float_sqnr_db": accumulated[tensor].sqnr_db() if tensor in accumulated else None,
                    "exclude": graph.float_island(layer),
                }
            )
    return rows


# --------------------------------------------------------------------------- TFLite


def _tflite_kind(op: str) -> str:
    return {"DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "dense"}.get(op, op.lower())


class _DebuggerMetrics:
    """Per-layer SQNR from TFLite's quantisation debugger, one example at a time.

    The debugger hands layer metrics the NumericVerify ``diffs`` (dequantised int8
    output minus the float op's output, computed inside the op) and, in a second
    pass over the same layers in the same order, the int8 output with its scale
    and zero point (its float reference tensor is not reliable there: the
    interpreter reuses that memory). The noise of the first pass is queued and
    paired with the signal of the second.
    """

    def __init__(self):
        self._noise: list[np.ndarray] = []

    def noise(self, diffs: np.ndarray) -> float:
        self._noise.append(np.asarray(diffs, dtype=np.float64))
        return 0.0

    def _pair(self, quantised, scale, zero_point) -> ChannelError:
        diffs = self._noise.pop(0)
        dequantised = (np.asarray(quantised, dtype=np.float64) - zero_point) * scale
        error = ChannelError(axis=-1)
        error.add(dequantised - diffs, dequantised)  # the float output, the int8 output
        return error

    def whole(self, float_tensor, quantised, scale, zero_point) -> float:
        """Whole-tensor SQNR (called first for each layer: it takes the layer's queued noise)."""
        self._last = self._pair(quantised, scale, zero_point)
        return self._last.sqnr_db()

    def per_channel(self, float_tensor, quantised, scale, zero_point) -> float:
        """Per-channel SQNR of the layer :meth:`whole` just measured."""
        return self._last.channel_sqnr_db()


def tflite_layer_errors(converter, x_debug: np.ndarray, int8_model: bytes):
    """Rows of :data:`COLUMNS` (plus ``exclude``: tensor names to denylist) from TFLite's quantisation debugger.

    ``converter`` is set up for full-integer int8 (representative data set included);
    ``int8_model`` is the converted int8 flatbuffer, read for its graph (which op reads which tensor).
    """
    import tensorflow as tf

    from kerascnn.core.quiet import native_output_captured
    from kerascnn.export.quantize import representative_dataset

    metrics = _DebuggerMetrics()
    options = tf.lite.experimental.QuantizationDebugOptions(
        layer_debug_metrics={"noise": metrics.noise},
        layer_direct_compare_metrics={"output_sqnr_db": metrics.whole, "channel_sqnr_db": metrics.per_channel},
    )
    with native_output_captured((1, 2)), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the debugger runs the deprecated tf.lite.Interpreter
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=representative_dataset(x_debug), debug_options=options
        )
        debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    consumers = _tflite_consumers(int8_model)
    rows = []
    for stats in csv.DictReader(io.StringIO(dump.getvalue())):
        op = stats["op_name"]
        if op in PASSTHROUGH_OPS or op in ("QUANTIZE", "DEQUANTIZE"):
            continue
        tensor = stats["tensor_name"]
        rows.append(
            {
                "layer": tensor,
                "op": op,
                "kind": _tflite_kind(op),
                "weight_sqnr_db": None,
                "output_sqnr_db": float(stats["output_sqnr_db"]),
                "channel_sqnr_db": float(stats["channel_sqnr_db"]),
                "float_sqnr_db": None,
                "exclude": _tflite_island(tensor, consumers),
            }
        )
    return rows


def _tflite_consumers(model: bytes) -> dict[str, list[tuple[str, str]]]:
    """Tensor name -> ``[(op name, output tensor name), ...]`` of the ops that read it."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=model)
    names = {t["index"]: t["name"] for t in interpreter.get_tensor_details()}
    consumers: dict[str, list[tuple[str, str]]] = {}
    for op in interpreter._get_ops_details():  # the public API has no graph walk
        outputs = [names[i] for i in op["outputs"] if i in names]
        for index in op["inputs"]:
            if index in names and outputs:
                consumers.setdefault(names[index], []).append((op["op_name"], outputs[0]))
    return consumers


def _tflite_island(tensor: str, consumers) -> list[str]:
    island, frontier = [tensor], [tensor]
    while frontier:
        for op, output in consumers.get(frontier.pop(), []):
            if output not in island:
                island.append(output)
                if op in PASSTHROUGH_OPS:
                    frontier.append(output)
    return island


# --------------------------------------------------------------------------- report


def most_harmful_first(rows: Sequence[dict]) -> list[dict]:
    """The rows ordered by per-channel SQNR, lowest (most harmed) first."""
    return sorted(rows, key=lambda row: row["channel_sqnr_db"])


def by_kind(rows: Sequence[dict]) -> dict[str, dict]:
    """``{kind: {"layers": n, "median_channel_sqnr_db": ...}}``: the teaching summary."""
    kinds: dict[str, list[float]] = {}
    for row in rows:
        kinds.setdefault(row["kind"], []).append(row["channel_sqnr_db"])
    return {
        kind: {"layers": len(values), "median_channel_sqnr_db": float(np.median(values))}
        for kind, values in sorted(kinds.items(), key=lambda item: np.median(item[1]))
    }


def format_table(rows: Sequence[dict], limit: int | None = None) -> str:
    """A text table of the rows (worst first when ``limit`` is set), SQNR in dB."""

    def cell(value) -> str:
        return "" if value is None else f"{value:.1f}"

    shown = most_harmful_first(rows)[:limit] if limit else list(rows)
    width = max([len("layer")] + [len(layer_name(r["layer"])) for r in shown])
    header = f"{'layer':<{width}}  {'kind':<10} {'weight':>7} {'output':>7} {'channel':>8} {'vs float':>8}"
    lines = [header, "-" * len(header)]
    for row in shown:
        lines.append(
            f"{layer_name(row['layer']):<{width}}  {row['kind']:<10} {cell(row['weight_sqnr_db']):>7} "
            f"{cell(row['output_sqnr_db']):>7} {cell(row['channel_sqnr_db']):>8} {cell(row['float_sqnr_db']):>8}"
        )
    return "\n".join(lines)


def write_report(rows: Sequence[dict], folder: Path, name: str, title: str) -> list[Path]:
    """``<name>.csv`` (every row, graph order) and ``<name>.png`` (channel SQNR per layer by kind) in ``folder``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*COLUMNS, "keras_layer"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "keras_layer": layer_name(row["layer"])})
    csv_path = Path(folder) / f"{name}.csv"
    atomic_write_text(csv_path, buffer.getvalue())
    png_path = Path(folder) / f"{name}.png"
    _plot(rows, png_path, title)
    return [csv_path, png_path]


def _plot(rows: Sequence[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({row["kind"] for row in rows})
    colours = {kind: plt.get_cmap("tab10")(i % 10) for i, kind in enumerate(kinds)}
    figure, axis = plt.subplots(figsize=(max(6.0, 0.18 * len(rows) + 2), 4.0))
    positions = np.arange(len(rows))
    axis.bar(positions, [r["channel_sqnr_db"] for r in rows], color=[colours[r["kind"]] for r in rows])
    axis.plot(positions, [r["output_sqnr_db"] for r in rows], "k.", label="whole-tensor SQNR")
    for kind in kinds:
        axis.bar([0], [0], color=colours[kind], label=kind)
    axis.set_xlabel("quantised layer (graph order)")
    axis.set_ylabel("per-channel output SQNR (dB, higher is better)")
    axis.set_title(title)
    axis.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    with atomic_save_path(path) as temporary:
        figure.savefig(temporary, dpi=110)
    plt.close(figure)


__all__ = [
    "COLUMNS", "ChannelError", "layer_name", "onnx_layer_errors", "tflite_layer_errors", "most_harmful_first",
    "by_kind", "format_table", "write_report",
]  # fmt: skip
