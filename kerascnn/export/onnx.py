"""Keras -> ONNX through Keras's own exporter (``model.export(format="onnx")``, tf2onnx underneath).

The graph takes the model's single input (the Task's shape and dtype: raw pixels,
token ids, volumes ...) on an input named ``input`` with a dynamic batch
dimension named ``batch``; its output is renamed ``output``.

Exports are reproducible: the same ``.keras`` file gives the same bytes. tf2onnx
names the nodes it creates from a process-wide counter (``Mean_Squeeze__14`` in
one export, ``Mean_Squeeze__28`` in the next, also in the ``unk__15`` names of
unknown dimensions), sorts nodes by those names, merges equal constants in an
order that depends on memory addresses, and records the traced TensorFlow
function's name (``converted from b'__inference___call___190'``, another
process-wide counter) as the graph's ``doc_string``. The conversion runs under
:func:`_deterministic_tf2onnx`, and :func:`canonical_names` renumbers the
generated names in order of appearance and clears the ``doc_string``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from kerascnn.core.errors import first_line
from kerascnn.core.quiet import native_output_captured

INPUT_NAME = "input"
OUTPUT_NAME = "output"
BATCH_DIM = "batch"

#: The ``__<n>`` suffix tf2onnx gives the names it makes (``tf2onnx.utils.make_name``).
_GENERATED_SUFFIX = re.compile(r"__(\d+)")


def export_onnx(model, path: Path, *, input_shape, input_dtype: str = "float32", opset: int | None = None) -> str:
    """Write ``model`` as ONNX to ``path``, check it with ``onnx.checker``; return the exporter used.

    Args:
        input_shape: the input's shape without the batch dimension, any rank.
        input_dtype: the input's dtype (``"float32"``, ``"int32"`` ...).

    Keras's exporter (3.15) turns constants held as eager tensors (e.g. a
    ``Normalization(mean=..., variance=...)`` layer's statistics) into graph inputs
    with no value; when that happens the model is converted again with
    ``tf2onnx.convert.from_keras``, which freezes them, and the parity check
    decides as for every artifact.
    """
    import keras
    import onnx

    spec = keras.InputSpec(shape=(None, *input_shape), dtype=input_dtype, name=INPUT_NAME)
    kwargs = {} if opset is None else {"opset_version": int(opset)}
    exporter = "keras.Model.export(format='onnx')"
    try:
        # tf2onnx prints its progress (and Keras a FutureWarning); keep the terminal for our summary.
        with _quiet(), _deterministic_tf2onnx():
            model.export(os.fspath(path), format="onnx", input_signature=[spec], verbose=False, **kwargs)
    except Exception as err:  # tf2onnx raises many types; one line is what the user needs
        raise ValueError(f"ONNX export failed (opset {opset or 'default'}): {first_line(err)}") from err
    proto = onnx.load(os.fspath(path))
    unbound = _unbound_inputs(proto)
    if unbound:
        proto = _from_keras(model, input_shape, input_dtype, opset)
        exporter = f"tf2onnx.convert.from_keras (keras.Model.export left {len(unbound)} constants unbound)"
    _tidy_graph(proto)
    move_channel_ops_after_transpose(proto)
    canonical_names(proto)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return exporter


@contextlib.contextmanager
def _quiet():
    """tf2onnx's Python prints and TensorFlow's native log lines off the terminal (replayed on failure)."""
    with native_output_captured((1, 2)), contextlib.redirect_stdout(io.StringIO()):
        yield


@contextlib.contextmanager
def _deterministic_tf2onnx():
    """Make one tf2onnx conversion independent of the process's history and memory layout.

    * tf2onnx numbers the names it makes from a process-wide counter
      (``tf2onnx.utils.make_name``) and orders nodes by name
      (``Graph.topological_sort``: ``__9`` sorts after ``__10``): the counter is
      restarted, after tf2onnx's modules have taken their import-time names.
    * ``Graph.extract_sub_graph_nodes`` (pruning unused nodes) returns
      ``list(set_of_nodes)``, ordered by memory address; equal constants are then
      merged in that order, so a different one survives each time. It is made to
      keep the graph's own node order.
    """
    import tf2onnx.convert  # noqa: F401  (its import-time names come first)
    from tf2onnx import utils
    from tf2onnx.graph import Graph

    unordered = Graph.extract_sub_graph_nodes

    def in_graph_order(self, *args, **kwargs):
        found = set(unordered(self, *args, **kwargs))
        ordered = [node for node in self.get_nodes() if node in found]
        return ordered + sorted(found.difference(ordered), key=lambda node: node.name)

    utils.INTERNAL_NAME = 1
    Graph.extract_sub_graph_nodes = in_graph_order
    try:
        yield
    finally:
        Graph.extract_sub_graph_nodes = unordered


def _unbound_inputs(proto) -> list[str]:
    initializers = {init.name for init in proto.graph.initializer}
    return [v.name for v in proto.graph.input if v.name != INPUT_NAME and v.name not in initializers]


def _from_keras(model, input_shape, input_dtype: str, opset: int | None):
    import tensorflow as tf
    import tf2onnx

    spec = tf.TensorSpec((None, *input_shape), tf.as_dtype(input_dtype), name=INPUT_NAME)
    try:
        with _quiet(), _deterministic_tf2onnx():
            proto, _ = tf2onnx.convert.from_keras(model, input_signature=[spec], opset=opset)
    except Exception as err:
        raise ValueError(f"ONNX export failed (opset {opset or 'default'}): {first_line(err)}") from err
    unbound = _unbound_inputs(proto)
    if unbound:
        raise ValueError(f"ONNX export left model constants as unbound inputs: {', '.join(unbound)}")
    return proto


def _tidy_graph(proto) -> None:
    """One graph input ``input`` (batch dimension ``batch``) and one output ``output``.

    tf2onnx lists some constants (e.g. a ``Normalization`` layer's mean) as graph
    inputs backed by initializers; onnxruntime would show them as extra inputs.
    """
    initializers = {init.name for init in proto.graph.initializer}
    keep = [value for value in proto.graph.input if value.name not in initializers]
    del proto.graph.input[:]
    proto.graph.input.extend(keep)
    for value in proto.graph.input:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_param = BATCH_DIM
    if len(proto.graph.output) != 1:
        return
    old = proto.graph.output[0].name
    if old == OUTPUT_NAME:
        return
    for node in proto.graph.node:
        node.output[:] = [OUTPUT_NAME if name == old else name for name in node.output]
        node.input[:] = [OUTPUT_NAME if name == old else name for name in node.input]
    proto.graph.output[0].name = OUTPUT_NAME
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    if dims and not dims[0].dim_value:
        dims[0].dim_param = BATCH_DIM


#: Element-wise ops by a per-channel constant (a Keras ``Normalization``/``Rescaling`` layer).
_CHANNEL_OPS = ("Sub", "Mul", "Add", "Div")
_NHWC_TO_NCHW = [0, 3, 1, 2]


def move_channel_ops_after_transpose(proto) -> int:
    """Run the input normalisation after tf2onnx's NHWC -> NCHW transpose (in place).

    A Keras ``Normalization``/``Rescaling`` layer on an NHWC image becomes ``Sub``/``Mul`` by a
    ``[1, 1, 1, C]`` constant *before* the ``Transpose`` to NCHW. onnxruntime broadcasts a last axis
    of 3 slowly (0.58 ms per op on a 224x224x3 image against 0.023 ms on NCHW with a ``[1, C, 1, 1]``
    constant: 14 % of MobileNetV2's fp32 time, a third of its int8 time). The same element-wise ops
    on the transposed tensor give bit-identical results. Returns the number of ops moved.
    """
    import numpy as np
    from onnx import helper, numpy_helper

    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    producer = {name: node for node in graph.node for name in node.output}
    uses: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            uses[name] = uses.get(name, 0) + 1
    for value in graph.output:
        uses[value.name] = uses.get(value.name, 0) + 1
    moved = 0
    for transpose in [n for n in graph.node if n.op_type == "Transpose"]:
        perm = next((list(helper.get_attribute_value(a)) for a in transpose.attribute if a.name == "perm"), None)
        if perm != _NHWC_TO_NCHW:
            continue
        chain, tensor = [], transpose.input[0]
        while tensor in producer and uses.get(tensor) == 1:
            node = producer[tensor]
            if node.op_type not in _CHANNEL_OPS or len(node.input) != 2 or node.input[1] not in initializers:
                break
            constant = numpy_helper.to_array(initializers[node.input[1]])
            if constant.size > 1 and constant.shape not in ((constant.size,), (1, 1, 1, constant.size)):
                break
            chain.append((node, constant))
            tensor = node.input[0]
        if not chain:
            continue
        # data -> Transpose -> ops (first op nearest the data) -> the transpose's old output name
        final_output, transposed = transpose.output[0], transpose.output[0] + "_nchw"
        transpose.input[0], transpose.output[0] = tensor, transposed
        current = transposed
        reshaped = {node.output[0] for node, _ in chain}  # their shapes change: drop stale value_info
        keep = [value for value in graph.value_info if value.name not in reshaped]
        del graph.value_info[:]
        graph.value_info.extend(keep)
        for index, (node, constant) in enumerate(reversed(chain)):
            if constant.size > 1:
                name = f"{node.input[1]}_nchw"
                graph.initializer.append(numpy_helper.from_array(constant.reshape(1, -1, 1, 1), name))
                node.input[1] = name
            node.input[0] = current
            current = final_output if index == len(chain) - 1 else node.output[0]
            node.output[0] = current
            moved += 1
    if moved:
        _drop_unused_initializers(graph)
        _sort_topologically(graph)
    return moved


def input_scaling_nodes(proto) -> list[str]:
    """Names of the element-wise ops by constants that scale the graph input (its normalisation).

    Followed from the input through single-consumer ``Transpose``/``Sub``/``Mul``/``Add``/``Div``
    nodes. int8 keeps them in float: quantised, the normalisation becomes a ``QLinearMul`` that
    costs more than the float op it replaces (MobileNetV2: 1.2 ms of a 5.3 ms int8 run), and the
    first convolution quantises its own input anyway.
    """
    graph = proto.graph
    initializers = {init.name for init in graph.initializer}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    inputs = [value.name for value in graph.input if value.name not in initializers]
    found, tensor = [], inputs[0] if len(inputs) == 1 else None
    while tensor is not None and len(consumers.get(tensor, [])) == 1:
        node = consumers[tensor][0]
        if node.name == INPUT_SCALING_CONV or (
            node.op_type in _CHANNEL_OPS and len(node.input) == 2 and node.input[1] in initializers
        ):
            found.append(node.name)
        elif node.op_type != "Transpose":
            break
        tensor = node.output[0]
    return found


#: The name of the 1x1 convolution :func:`input_scaling_as_conv` makes.
INPUT_SCALING_CONV = "input_scaling"


def input_scaling_as_conv(proto) -> bool:
    """Turn a per-channel input normalisation on NCHW into one 1x1 ``Conv`` with diagonal weights.

    For int8 graphs (in place): onnxruntime's NHWC layout transformer, which runs the quantised
    convolutions, pushes the transpose back in front of the float ``Sub``/``Mul``, so they broadcast
    a last axis of 3 again (1.2 ms of MobileNetV2's 4.6 ms int8 run on 1 thread); a float 1x1
    convolution (``y_c = a_c x_c + b_c``) runs in the convolution layouts instead (~0.3 ms). Float
    models keep the element-wise ops, which are exact. Returns whether the graph changed.
    """
    import numpy as np
    from onnx import helper, numpy_helper

    graph = proto.graph
    initializers = {init.name: init for init in graph.initializer}
    names = input_scaling_nodes(proto)
    nodes = [node for node in graph.node if node.name in names]
    producer = {name: node for node in graph.node for name in node.output}
    source = producer.get(nodes[0].input[0]) if nodes else None
    if source is None or source.op_type != "Transpose" or any(node.op_type == "Conv" for node in nodes):
        return False  # only on NCHW data, and only once
    first = list(graph.node).index(nodes[0])
    channels = {numpy_helper.to_array(initializers[node.input[1]]).size for node in nodes} - {1}
    if len(channels) != 1:  # only scalars (Rescaling): broadcasting them is fast
        return False
    (count,) = channels
    scale, shift = np.ones(count, np.float64), np.zeros(count, np.float64)
    for node in nodes:
        constant = numpy_helper.to_array(initializers[node.input[1]]).astype(np.float64).reshape(-1)
        if node.op_type == "Sub":
            shift = shift - constant
        elif node.op_type == "Add":
            shift = shift + constant
        elif node.op_type == "Mul":
            scale, shift = scale * constant, shift * constant
        else:  # Div
            scale, shift = scale / constant, shift / constant
    weights = np.zeros((count, count, 1, 1), np.float32)
    weights[np.arange(count), np.arange(count), 0, 0] = scale
    graph.initializer.extend([numpy_helper.from_array(weights, f"{INPUT_SCALING_CONV}/weights"),
                              numpy_helper.from_array(shift.astype(np.float32), f"{INPUT_SCALING_CONV}/bias")])
    conv = helper.make_node("Conv", [nodes[0].input[0], f"{INPUT_SCALING_CONV}/weights", f"{INPUT_SCALING_CONV}/bias"],
                            [nodes[-1].output[0]], name=INPUT_SCALING_CONV)
    kept = [node for node in graph.node if node.name not in names]
    kept.insert(first, conv)
    stale = {node.output[0] for node in nodes}
    values = [value for value in graph.value_info if value.name not in stale]
    del graph.value_info[:]
    graph.value_info.extend(values)
    del graph.node[:]
    graph.node.extend(kept)
    _drop_unused_initializers(graph)
    return True


def _drop_unused_initializers(graph) -> None:
    used = {name for node in graph.node for name in node.input}
    keep = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def _sort_topologically(graph) -> None:
    """Order nodes so each comes after the producers of its inputs (stable otherwise)."""
    ready = {value.name for value in graph.input} | {init.name for init in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        remaining = []
        for node in pending:
            if all(name in ready for name in node.input):
                ordered.append(node)
                ready.update(node.output)
            else:
                remaining.append(node)
        if len(remaining) == len(pending):
            raise ValueError("ONNX graph has a cycle or an unbound input after the layout rewrite")
        pending = remaining
    copies = [type(node)() for node in ordered]
    for copy, node in zip(copies, ordered):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def canonical_names(proto) -> None:
    """Make ``proto`` independent of the exporting process's history (in place).

    Every ``__<n>`` suffix is renumbered in order of first appearance (inputs,
    nodes, outputs, value infos, initializers, dimension names; subgraphs
    included) — a one-to-one renaming, so names stay unique — and the
    ``doc_string`` naming the traced TensorFlow function is cleared.
    """
    numbers: dict[str, int] = {}

    def rename(name: str) -> str:
        return _GENERATED_SUFFIX.sub(lambda m: f"__{numbers.setdefault(m.group(1), len(numbers))}", name)

    proto.doc_string = ""
    for graph in _graphs(proto.graph):
        graph.doc_string = ""
        for value in graph.input:
            value.name = rename(value.name)
        for node in graph.node:
            node.name = rename(node.name)
            node.input[:] = [rename(name) for name in node.input]
            node.output[:] = [rename(name) for name in node.output]
        for value in (*graph.output, *graph.value_info):
            value.name = rename(value.name)
        for initializer in graph.initializer:
            initializer.name = rename(initializer.name)
        for value in (*graph.input, *graph.output, *graph.value_info):
            for dim in value.type.tensor_type.shape.dim:
                if dim.dim_param:
                    dim.dim_param = rename(dim.dim_param)


def _graphs(graph):
    """``graph`` and every subgraph of its nodes (``If``/``Loop`` bodies), depth first."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for subgraph in attribute.graphs:
                yield from _graphs(subgraph)


def opset_of(path: Path) -> int:
    """The default-domain opset an ONNX file was written with."""
    import onnx

    proto = onnx.load(os.fspath(path), load_external_data=False)
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


def io_spec(path: Path) -> tuple[dict, list[dict]]:
    """``(input, outputs)`` descriptions of an ONNX file for the manifest."""
    import onnx

    proto = onnx.load(os.fspath(path), load_external_data=False)
    initializers = {init.name for init in proto.graph.initializer}
    inputs = [_value_spec(v) for v in proto.graph.input if v.name not in initializers]
    return inputs[0], [_value_spec(v) for v in proto.graph.output]


def _value_spec(value) -> dict:
    from onnx import helper

    tensor = value.type.tensor_type
    shape = [d.dim_value if d.dim_value else None for d in tensor.shape.dim]
    return {"name": value.name, "shape": shape, "dtype": str(helper.tensor_dtype_to_np_dtype(tensor.elem_type))}
