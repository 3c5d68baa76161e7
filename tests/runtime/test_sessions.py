"""kerascnn.runtime.sessions: onnxruntime and LiteRT behind one Runtime, for inputs of any rank."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.core.errors import DataNotFoundError, UsageError
from kerascnn.runtime import load_runtime
from kerascnn.runtime.sessions import OnnxRuntime, TFLiteRuntime

from helpers import INPUT_SHAPE


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_runtime_matches_keras(tiny, fmt):
    runtime = load_runtime(tiny[fmt], threads=1)
    assert runtime.format == fmt
    assert isinstance(runtime, {"onnx": OnnxRuntime, "tflite": TFLiteRuntime}[fmt])
    assert runtime.input_shape == INPUT_SHAPE
    assert runtime.input_dtype == np.float32
    # Reference outputs differ across inputs, so agreement is not vacuous.
    assert np.ptp(tiny["expected"], axis=0).max() > 1e-2
    np.testing.assert_allclose(runtime.run(tiny["images"]), tiny["expected"], atol=1e-5)
    # Batch size changes (TFLite resizes its input tensor) and a single HWC image.
    np.testing.assert_allclose(runtime.run(tiny["images"][0]), tiny["expected"][:1], atol=1e-5)
    np.testing.assert_allclose(runtime.run(tiny["images"]), tiny["expected"], atol=1e-5)


def test_runtime_rejects_wrong_input_shape(tiny):
    runtime = load_runtime(tiny["onnx"])
    with pytest.raises(UsageError, match=r"expects inputs of shape \(12, 10, 1\)"):
        runtime.run(np.zeros((1, 10, 10, 1), np.float32))


def test_load_runtime_opens_an_export_folder(tiny):
    runtime = load_runtime(tiny["export"])
    assert runtime.path.name == "model.onnx" and runtime.format == "onnx"
    assert load_runtime(tiny["export"], artifact="model.tflite").format == "tflite"
    with pytest.raises(UsageError, match="Unknown artifact 'model.tflit'. Did you mean: model.tflite"):
        load_runtime(tiny["export"], artifact="model.tflit")


def test_library_errors_are_value_errors(tmp_path):
    with pytest.raises(DataNotFoundError):
        load_runtime(tmp_path / "nope.onnx")
    assert issubclass(DataNotFoundError, ValueError)


# --------------------------------------------------------------------------- inputs of any rank


def onnx_model(path, inputs, body):
    """Write a tiny ONNX model: ``inputs`` [(name, elem_type, shape)], ``body`` (nodes, output value infos)."""
    import onnx
    from onnx import helper

    nodes, outputs = body
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs], outputs
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_token_id_input_keeps_its_integer_dtype(tmp_path):
    """A text model's (T,) int64 token ids: no more "not an image classifier"."""
    from onnx import TensorProto, helper

    path = onnx_model(
        tmp_path / "ids.onnx",
        [("ids", TensorProto.INT64, ["batch", 6])],
        (
            [
                helper.make_node("Cast", ["ids"], ["floats"], to=TensorProto.FLOAT),
                helper.make_node("ReduceSum", ["floats", "axes"], ["out"], keepdims=1),
                helper.make_node(
                    "Constant", [], ["axes"], value=helper.make_tensor("axes", TensorProto.INT64, [1], [1])
                ),
            ],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", 1])],
        ),
    )
    runtime = load_runtime(path)
    assert runtime.input_shape == (6,) and runtime.input_dtype == np.int64
    ids = np.array([[1, 2, 3, 4, 5, 6], [0, 0, 0, 0, 0, 7]])
    assert runtime.prepare(ids).dtype == np.int64
    np.testing.assert_array_equal(runtime.run(ids), [[21.0], [7.0]])
    np.testing.assert_array_equal(runtime.run(ids[0].astype(np.float32)), [[21.0]])  # one row, ids as floats


def test_volume_input_of_rank_five(tmp_path):
    from onnx import TensorProto, helper

    path = onnx_model(
        tmp_path / "volume.onnx",
        [("volume", TensorProto.FLOAT, [None, 2, 3, 4, 1])],
        (
            [helper.make_node("Flatten", ["volume"], ["out"], axis=1)],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, [None, 24])],
        ),
    )
    runtime = load_runtime(path)
    assert runtime.input_shape == (2, 3, 4, 1) and runtime.input_dtype == np.float32
    volumes = np.arange(48, dtype=np.float32).reshape(2, 2, 3, 4, 1)
    np.testing.assert_array_equal(runtime.run(volumes), volumes.reshape(2, 24))


@pytest.mark.parametrize(
    "inputs, message",
    [
        ([("x", "FLOAT", ["batch", "time"])], r"has no fixed input shape \(declared \['batch', 'time'\]\)"),
        ([("x", "FLOAT", ["batch", 3]), ("y", "FLOAT", ["batch", 3])], "has 2 inputs"),
        ([("x", "STRING", ["batch", 3])], r"takes tensor\(string\) inputs"),
    ],
)
def test_unrunnable_inputs_are_one_line_errors(tmp_path, inputs, message):
    from onnx import TensorProto, helper

    inputs = [(n, getattr(TensorProto, t), s) for n, t, s in inputs]
    path = onnx_model(
        tmp_path / "bad.onnx",
        inputs,
        (
            [helper.make_node("Identity", [inputs[0][0]], ["out"])],
            [helper.make_tensor_value_info("out", inputs[0][1], inputs[0][2])],
        ),
    )
    with pytest.raises(UsageError, match=message) as caught:
        load_runtime(path)
    assert len(str(caught.value).splitlines()) == 1
