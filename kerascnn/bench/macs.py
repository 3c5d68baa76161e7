"""Multiply-accumulates (MACs) per example, counted from ONNX graphs, TFLite graphs and Keras models.

Only convolutions and matrix products are counted; for CNNs the rest
(activations, pooling, normalisation) is a few percent of the arithmetic.

* convolution, any number of spatial dimensions, grouped or depthwise:
  ``output values * kernel volume * input channels / groups``;
* dense / matrix product: ``output values * inner dimension``.

Counts are per example: a graph with a fixed batch dimension ``N`` is divided by ``N``.
Keras models are counted by the lecture table, :func:`kerascnn.analysis.summary.summarize`.
"""

from __future__ import annotations

import math
import os

from kerascnn import runtime
from kerascnn.core.errors import UsageError, first_line
from kerascnn.core.layout import format_of


def count_macs(model) -> int | None:
    """MACs per example of an ``.onnx``, ``.tflite`` or ``.keras`` file, or of a Keras model.

    ``None`` when the model has no convolution or matrix product that could be counted.
    A ``.keras`` file is loaded with TensorFlow; ONNX and TFLite graphs are read without it.
    """
    if not isinstance(model, (str, os.PathLike)):
        return keras_macs(model)
    fmt = format_of(model)
    if fmt == "onnx":
        return onnx_macs(model)
    if fmt == "tflite":
        return tflite_macs(model)
    if fmt == "keras":
        from kerascnn.nn.saving import load_model

        return keras_macs(load_model(model))
    return None


# --------------------------------------------------------------------------- ONNX


def load_onnx(path: str | os.PathLike):
    """The ``onnx.ModelProto`` in ``path``; a one-line ``UsageError`` when it is not one."""
    import onnx

    try:
        return onnx.load(os.fspath(path))
    except Exception as err:  # onnx raises DecodeError and friends
        raise UsageError(f"Cannot load {path} as an ONNX model: {first_line(err)}") from None


#: Where the weight of each convolution operator sits among its inputs (``[M, C/group, k1, k2, ...]``).
_ONNX_CONV_WEIGHT = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}
#: Where the two operands of each matrix product sit among its inputs.
_ONNX_MATMUL_OPERANDS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3), "Gemm": (0, 1)}


def onnx_macs(source) -> int | None:
    """MACs per example of an ONNX model (a path or an ``onnx.ModelProto``), with shape inference.

    ``Conv`` (and ``ConvInteger``, ``QLinearConv``) of any rank with any ``group``:
    the weight ``[M, C/group, k...]`` gives ``C/group * prod(k)`` per output value.
    ``MatMul``, ``Gemm`` (``transA``) and their integer forms: the inner dimension per output value.
    """
    graph, shapes, batch = onnx_shapes(source)
    return sum(onnx_node_macs(node, shapes) for node in graph.node) // max(1, batch) or None


def onnx_shapes(source) -> tuple:
    """``(graph with inferred shapes, {tensor name: shape}, batch)`` of an ONNX model (path or ``ModelProto``).

    Symbolic dimensions count as 1; ``batch`` is the first dimension of the first graph input.
    """
    import onnx

    model = source if isinstance(source, onnx.ModelProto) else load_onnx(source)
    graph = onnx.shape_inference.infer_shapes(model).graph
    shapes: dict[str, list[int]] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]  # symbolic -> 1
    initializers = {init.name for init in graph.initializer}
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    inputs = [value.name for value in graph.input if value.name not in initializers]
    batch = (shapes.get(inputs[0]) or [1])[0] if inputs else 1
    return graph, shapes, batch


def onnx_node_macs(node, shapes: dict) -> int:
    """MACs of one ONNX node for the whole (inferred) batch; 0 for operators without multiply-adds."""
    out = shapes.get(node.output[0]) if node.output else None
    if not out:
        return 0
    if node.op_type in _ONNX_CONV_WEIGHT:
        weight = shapes.get(node.input[_ONNX_CONV_WEIGHT[node.op_type]])
        return math.prod(out) * math.prod(weight[1:]) if weight else 0
    if node.op_type in _ONNX_MATMUL_OPERANDS:
        a = shapes.get(node.input[_ONNX_MATMUL_OPERANDS[node.op_type][0]])
        if a:
            trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
            return math.prod(out) * (a[-2] if trans_a else a[-1])
    return 0


# --------------------------------------------------------------------------- TFLite


def load_tflite(path: str | os.PathLike):
    """A LiteRT interpreter on ``path`` with tensors allocated (one thread; for reading the graph)."""
    return runtime.load_tflite_interpreter(path, threads=1)


def _tflite_per_output(op: str, weight) -> int | None:
    """Multiply-adds per output value of a TFLite operator, from its weight (filter) shape."""
    if op == "CONV_2D":  # [O, kh, kw, I/groups]
        return math.prod(weight[1:])
    if op == "DEPTHWISE_CONV_2D":  # [1, kh, kw, C*multiplier]
        return math.prod(weight[1:3])
    if op == "CONV_3D":  # [kd, kh, kw, I, O]
        return math.prod(weight[:-1])
    if op == "FULLY_CONNECTED":  # [O, I]
        return int(weight[-1])
    return None


def tflite_macs(path: str | os.PathLike) -> int | None:
    """MACs per example of a ``.tflite`` model: ``CONV_2D``, ``DEPTHWISE_CONV_2D``, ``CONV_3D``, ``FULLY_CONNECTED``.

    Conv1D arrives as ``CONV_2D`` on a reshaped input; grouped convolutions as
    ``CONV_2D`` whose filter holds ``I/groups`` input channels.
    """
    interpreter = load_tflite(path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    total = sum(tflite_op_macs(op, tensors) for op in interpreter._get_ops_details())
    return total // max(1, tflite_batch(interpreter)) or None


def tflite_batch(interpreter) -> int:
    """The batch dimension of a LiteRT interpreter's first input (1 for scalars)."""
    inputs = interpreter.get_input_details()
    return int(inputs[0]["shape"][0]) if inputs and len(inputs[0]["shape"]) else 1


def tflite_op_macs(op: dict, tensors: dict) -> int:
    """MACs of one TFLite operator (``interpreter._get_ops_details()`` entry) for its whole batch."""
    if len(op["inputs"]) < 2 or not len(op["outputs"]) or op["inputs"][1] < 0:
        return 0
    per_output = _tflite_per_output(op["op_name"], [int(d) for d in tensors[op["inputs"][1]]["shape"]])
    return math.prod(int(d) for d in tensors[op["outputs"][0]]["shape"]) * per_output if per_output else 0


# --------------------------------------------------------------------------- Keras


def keras_macs(model) -> int | None:
    """MACs per example of a Keras model, from the lecture table (:mod:`kerascnn.analysis.summary`)."""
    from kerascnn.analysis.summary import summarize

    try:
        return int(summarize(model).macs) or None
    except ValueError:  # a model the summary cannot walk must not stop the benchmark
        return None


__all__ = [
    "count_macs", "onnx_macs", "tflite_macs", "keras_macs", "load_onnx", "load_tflite", "onnx_shapes",
    "onnx_node_macs", "tflite_op_macs", "tflite_batch",
]
