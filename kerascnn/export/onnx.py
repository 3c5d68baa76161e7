"""Keras -> ONNX through Keras's own exporter (``model.export(format="onnx")``, tf2onnx underneath).

The graph takes NHWC float32 raw pixels on an input named ``input`` with a dynamic
batch dimension named ``batch``; its output is renamed ``output``.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

INPUT_NAME = "input"
OUTPUT_NAME = "output"
BATCH_DIM = "batch"


def export_onnx(model, path: Path, *, opset: int | None = None) -> str:
    """Write ``model`` as ONNX to ``path``, check it with ``onnx.checker``; return the exporter used.

    Keras's exporter (3.15) turns constants held as eager tensors (e.g. a
    ``Normalization(mean=..., variance=...)`` layer's statistics) into graph inputs
    with no value; when that happens the model is converted again with
    ``tf2onnx.convert.from_keras``, which freezes them, and the parity check
    decides as for every artifact.
    """
    import keras
    import onnx

    spec = keras.InputSpec(shape=(None, *model.input_shape[1:]), dtype="float32", name=INPUT_NAME)
    kwargs = {} if opset is None else {"opset_version": int(opset)}
    exporter = "keras.Model.export(format='onnx')"
    try:
        # tf2onnx prints its progress; keep the user's terminal for our summary.
        with contextlib.redirect_stdout(io.StringIO()):
            model.export(os.fspath(path), format="onnx", input_signature=[spec], verbose=False, **kwargs)
    except Exception as err:  # tf2onnx raises many types; one line is what the user needs
        raise ValueError(f"ONNX export failed (opset {opset or 'default'}): {_first_line(err)}") from err
    proto = onnx.load(os.fspath(path))
    unbound = _unbound_inputs(proto)
    if unbound:
        proto = _from_keras(model, opset)
        exporter = f"tf2onnx.convert.from_keras (keras.Model.export left {len(unbound)} constants unbound)"
    _tidy_graph(proto)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, os.fspath(path))
    return exporter


def _unbound_inputs(proto) -> list[str]:
    initializers = {init.name for init in proto.graph.initializer}
    return [v.name for v in proto.graph.input if v.name != INPUT_NAME and v.name not in initializers]


def _from_keras(model, opset: int | None):
    import tensorflow as tf
    import tf2onnx

    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT_NAME)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            proto, _ = tf2onnx.convert.from_keras(model, input_signature=[spec], opset=opset)
    except Exception as err:
        raise ValueError(f"ONNX export failed (opset {opset or 'default'}): {_first_line(err)}") from err
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


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
