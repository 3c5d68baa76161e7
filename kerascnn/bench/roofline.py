"""The roofline bound of a model: per layer, the slower of its arithmetic and its memory traffic.

Williams, Waterman and Patterson, "Roofline: an insightful visual performance
model for multicore architectures" (CACM 2009), applied layer by layer with
measured instead of datasheet roofs (:class:`~kerascnn.bench.machine.GemmPeaks`):

* **compute time** = ``2 x MACs / peak``, the peak of the layer's arithmetic
  (numpy's float32 GEMM, or onnxruntime's uint8 x int8 GEMM for int8 models);
* **memory time** = ``bytes / bandwidth``, where bytes = the input activations
  read + the weights read + the output activations written, at the artifact's
  element size (:data:`ELEMENT_BYTES`: fp32 4 B, fp16 2 B, int8 1 B), and the
  bandwidth is the streaming-copy bandwidth of the cache when the layer's bytes
  fit in the last-level cache (the input was just written by the layer before),
  of DRAM otherwise (the "cache-aware roofline", Ilic, Pratas and Sousa, 2014);
* **layer bound** = ``max(compute time, memory time)``: the layer cannot finish
  before both its multiply-adds and its bytes are through; **model bound** = the
  sum over layers (layers run one after another at batch 1).

Arithmetic intensity (MACs per byte) decides which roof a layer hits. A 1x1
convolution of MobileNetV2 at 56x56 (144 -> 24 channels) does 144 MACs per output
value and moves ~1 byte per MAC at fp32: compute-bound. A depthwise 3x3 does 9 MACs
per output value and reads and writes every activation once: memory-bound, so its
bound is the time to stream its tensors, however fast the multiply-adds.

The bound assumes the fusion a good runtime does, so it stays a lower bound:
element-wise operations after a convolution or matrix product (ReLU, Clip,
BatchNorm, bias, a residual Add of another tensor) are folded into it (they add
only the other operand's bytes), reshapes and (de)quantisation nodes cost
nothing, and operators on constants only are folded at load time.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Iterable, Sequence

from kerascnn.bench import macs as graph_macs
from kerascnn.core.layout import format_of
from kerascnn.export.onnx import INPUT_SCALING_CONV

#: Bytes per activation value and per weight value in an artifact of each precision.
#: ``dynamic`` keeps float activations with int8 weights.
ELEMENT_BYTES = {"fp32": (4, 4), "fp16": (2, 2), "int8": (1, 1), "dynamic": (4, 1)}
#: Layer kinds, in the order the profile lists them.
KINDS = ("first conv", "1x1 conv", "depthwise", "conv", "dense", "layout", "other")

_ONNX_CONVS = {"Conv", "ConvInteger", "QLinearConv"}
_ONNX_DENSE = {"MatMul", "Gemm", "MatMulInteger", "QLinearMatMul"}
#: Operators that only re-index or re-label values (no bytes move in a good runtime).
_ONNX_VIEWS = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "QuantizeLinear",
               "DequantizeLinear"}
#: Element-wise operators a runtime applies in the epilogue of the operator producing their input.
_ONNX_EPILOGUES = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "BatchNormalization",
                   "Add", "Sum", "Mul", "Sub", "Div"}
_ONNX_LAYOUT = {"Transpose"}

_TFLITE_CONVS = {"CONV_2D", "DEPTHWISE_CONV_2D", "CONV_3D"}
_TFLITE_DENSE = {"FULLY_CONNECTED", "BATCH_MATMUL"}
_TFLITE_VIEWS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}
_TFLITE_EPILOGUES = {"ADD", "MUL", "SUB", "RELU", "RELU6", "LOGISTIC", "HARD_SWISH", "TANH"}
_TFLITE_LAYOUT = {"TRANSPOSE"}


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer of a model graph, per example, as the roofline sees it.

    Attributes:
        name: the graph node (ONNX) or output tensor (TFLite) name.
        op: the operator type (``Conv``, ``DEPTHWISE_CONV_2D``, ...).
        kind: one of :data:`KINDS`.
        macs: multiply-accumulates per example.
        activations: activation values read and written per example.
        weights: weight values read (constants: kernels, biases), once per call.
        members: graph node and tensor names this layer covers (fused operators included),
            to match profiler events.
    """

    name: str
    op: str
    kind: str
    macs: int
    activations: int
    weights: int
    members: tuple[str, ...] = ()

    def bytes(self, precision: str, batch: int = 1) -> int:
        """Bytes moved by one call at ``batch``: activations x batch + weights, at ``precision``'s element sizes."""
        activation_bytes, weight_bytes = ELEMENT_BYTES.get(precision, ELEMENT_BYTES["fp32"])
        return self.activations * batch * activation_bytes + self.weights * weight_bytes

    def intensity(self, precision: str) -> float:
        """Arithmetic intensity at batch 1: MACs per byte moved."""
        moved = self.bytes(precision)
        return self.macs / moved if moved else math.inf


@dataclasses.dataclass(frozen=True)
class LayerBound:
    """One layer's two times and its bound, in milliseconds."""

    layer: Layer
    compute_ms: float
    memory_ms: float

    @property
    def bound_ms(self) -> float:
        return max(self.compute_ms, self.memory_ms)

    @property
    def limited_by(self) -> str:
        return "memory" if self.memory_ms > self.compute_ms else "compute"


def layer_bounds(layers: Iterable[Layer], precision: str, threads: int, batch: int, peaks) -> list[LayerBound]:
    """Each layer's compute and memory time at ``threads`` and ``batch`` (``peaks``: a ``GemmPeaks``)."""
    peak = peaks.limit(precision, threads) * 1e9  # multiply-add pairs count as 2 operations
    bounds = []
    for layer in layers:
        moved = layer.bytes(precision, batch)
        bandwidth = peaks.bandwidth(threads, moved)
        bounds.append(LayerBound(
            layer,
            compute_ms=2.0 * layer.macs * batch / peak * 1e3,
            memory_ms=moved / (bandwidth * 1e9) * 1e3 if bandwidth else 0.0,
        ))
    return bounds


def model_bound_ms(layers: Sequence[Layer], precision: str, threads: int, batch: int, peaks) -> float:
    """The model's roofline bound: the sum of its layers' bounds, in milliseconds."""
    return sum(b.bound_ms for b in layer_bounds(layers, precision, threads, batch, peaks))


# --------------------------------------------------------------------------- layers of a graph


def graph_layers(path: str | os.PathLike) -> list[Layer] | None:
    """The layers of an ``.onnx`` or ``.tflite`` file (``None`` for other formats)."""
    fmt = format_of(path)
    if fmt == "onnx":
        return onnx_layers(path)
    if fmt == "tflite":
        return tflite_layers(path)
    return None


class _Builder:
    """Walks a graph in topological order, folding free and fused operators into :class:`Layer` rows.

    The format-specific code says, per operator, which inputs are constants, how
    many values each tensor holds, its MACs and its kind; the folding rules are here.
    """

    def __init__(self, views: set[str], epilogues: set[str], batch: int):
        self.views, self.epilogues, self.batch = views, epilogues, max(1, batch)
        self.layers: list[dict] = []
        self.host: dict[str, int] = {}  # tensor -> the layer whose epilogue may still absorb an operator
        self.alias: dict[str, int] = {}  # tensor -> the layer that produced it (through views)

    def add(self, *, name: str, op: str, data: list[str], constants: list[str], outputs: list[str],
            values: dict[str, int], consumers: dict[str, int], macs: int, kind: str, hosts: bool) -> None:
        """One non-constant operator: ``data`` and ``constants`` are its input tensors, ``values`` their sizes."""
        if op in self.views and len(data) <= 1:
            self._follow(data[0] if data else None, outputs, name)
            return
        hosted = [t for t in data if t in self.host and consumers.get(t, 0) == 1]
        if op in self.epilogues and not macs and hosted and len(data) <= 2:
            index = self.host[hosted[0]]
            layer = self.layers[index]
            others = [t for t in data if t != hosted[0]]
            layer["activations"] += sum(values.get(t, 0) for t in others)  # e.g. the residual operand
            layer["weights"] += sum(values.get(t, 0) for t in constants)
            layer["members"] += [name, *outputs]
            for t in outputs:
                self.host[t] = self.alias[t] = index
            return
        index = len(self.layers)
        self.layers.append({
            "name": name, "op": op, "kind": kind, "macs": macs,
            "activations": sum(values.get(t, 0) for t in data) + sum(values.get(t, 0) for t in outputs),
            "weights": sum(values.get(t, 0) for t in constants), "members": [name, *outputs],
        })
        for t in outputs:
            self.alias[t] = index
            if hosts:
                self.host[t] = index

    def _follow(self, source: str | None, outputs: list[str], name: str) -> None:
        """A view: its outputs belong to (and may still be fused into) the layer of its input."""
        if source in self.alias:
            self.layers[self.alias[source]]["members"] += [name, *outputs]
        for t in outputs:
            if source in self.alias:
                self.alias[t] = self.alias[source]
            if source in self.host:
                self.host[t] = self.host[source]

    def result(self) -> list[Layer]:
        # The first convolution sees the raw image: few channels, the largest feature map (depthwise excepted).
        # An int8 export's input normalisation, a float 1x1 convolution, is not a layer of the network.
        for row in self.layers:
            if row["name"] == INPUT_SCALING_CONV:
                row["kind"] = "other"
        first_conv = next((row for row in self.layers if row["kind"] in ("conv", "1x1 conv")), None)
        if first_conv is not None:
            first_conv["kind"] = "first conv"
        return [
            Layer(row["name"], row["op"], row["kind"], row["macs"] // self.batch,
                  row["activations"] // self.batch, row["weights"], tuple(row["members"]))
            for row in self.layers
        ]


def _conv_kind(kernel: Sequence[int], depthwise: bool) -> str:
    if depthwise:
        return "depthwise"
    return "1x1 conv" if math.prod(kernel) == 1 else "conv"


def onnx_layers(source) -> list[Layer]:
    """The layers of an ONNX model (path or ``ModelProto``), per example (see the module docstring)."""
    graph, shapes, batch = graph_macs.onnx_shapes(source)
    constant = {init.name for init in graph.initializer}
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    values = {name: math.prod(shape) for name, shape in shapes.items()}
    builder = _Builder(_ONNX_VIEWS, _ONNX_EPILOGUES, batch)
    for node in graph.node:
        inputs = [name for name in node.input if name]
        outputs = [name for name in node.output if name]
        if node.op_type == "Constant" or all(name in constant for name in inputs):
            constant.update(outputs)  # folded when the session loads
            continue
        op = node.op_type
        if op in _ONNX_CONVS:
            weight = shapes.get(node.input[graph_macs._ONNX_CONV_WEIGHT[op]], [1, 1, 1])
            group = next((attr.i for attr in node.attribute if attr.name == "group"), 1)
            kind = _conv_kind(weight[2:], depthwise=group > 1 and len(weight) > 1 and weight[1] == 1)
        elif op in _ONNX_DENSE:
            kind = "dense"
        else:
            kind = "layout" if op in _ONNX_LAYOUT else "other"
        builder.add(
            name=node.name or (outputs[0] if outputs else op), op=op,
            data=[t for t in inputs if t not in constant], constants=[t for t in inputs if t in constant],
            outputs=outputs, values=values, consumers=consumers, macs=graph_macs.onnx_node_macs(node, shapes),
            kind=kind, hosts=op in _ONNX_CONVS | _ONNX_DENSE,
        )
    return builder.result()


def tflite_layers(path: str | os.PathLike) -> list[Layer]:
    """The layers of a ``.tflite`` model, per example (see the module docstring).

    Constants are the tensors no operator writes and the model does not take as
    input (weights, biases, quantisation tables); fused activations are already
    inside TFLite's convolution operators.
    """
    interpreter = graph_macs.load_tflite(path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # the public API lists no per-operator details
    # XNNPACK's DELEGATE node stands in for the operators it took over, which are listed as well.
    ops = [op for op in ops if op["op_name"] != "DELEGATE"]
    produced = {index for op in ops for index in op["outputs"]}
    inputs = {detail["index"] for detail in interpreter.get_input_details()}
    constant = {index for index in tensors if index not in produced and index not in inputs}
    consumers: dict[str, int] = {}
    for op in ops:
        for index in op["inputs"]:
            consumers[str(index)] = consumers.get(str(index), 0) + 1
    values = {str(index): math.prod(int(d) for d in t["shape"]) for index, t in tensors.items()}
    builder = _Builder(_TFLITE_VIEWS, _TFLITE_EPILOGUES, graph_macs.tflite_batch(interpreter))
    for op in ops:
        ins = [index for index in op["inputs"] if index >= 0]
        outs = [index for index in op["outputs"] if index >= 0]
        if all(index in constant for index in ins):
            constant.update(outs)  # e.g. DEQUANTIZE of fp16 weights: done once at load time
            continue
        name = op["op_name"]
        if name in _TFLITE_CONVS:
            kernel = [int(d) for d in tensors[op["inputs"][1]]["shape"]]
            kind = _conv_kind(kernel[1:3] if name != "CONV_3D" else kernel[:3], depthwise=name == "DEPTHWISE_CONV_2D")
        elif name in _TFLITE_DENSE:
            kind = "dense"
        else:
            kind = "layout" if name in _TFLITE_LAYOUT else "other"
        builder.add(
            name=tensors[outs[0]]["name"] if outs else name, op=name,
            data=[str(i) for i in ins if i not in constant], constants=[str(i) for i in ins if i in constant],
            outputs=[str(i) for i in outs], values=values, consumers=consumers,
            macs=graph_macs.tflite_op_macs(op, tensors), kind=kind, hosts=name in _TFLITE_CONVS | _TFLITE_DENSE,
        )
    return builder.result()


__all__ = [
    "Layer", "LayerBound", "layer_bounds", "model_bound_ms", "graph_layers", "onnx_layers", "tflite_layers",
    "ELEMENT_BYTES", "KINDS",
]
