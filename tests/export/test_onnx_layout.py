"""The input normalisation runs after the NHWC -> NCHW transpose, bit-identical, and stays float in int8."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from kerascnn.export.onnx import input_scaling_nodes, move_channel_ops_after_transpose


def _graph_like_tf2onnx(mean_shape=(1, 1, 1, 3)):
    """input NHWC -> Sub(mean) -> Mul(1/std) -> Transpose(0,3,1,2) -> Conv -> output, as tf2onnx writes it."""
    rng = np.random.default_rng(0)
    mean = rng.uniform(100, 150, mean_shape).astype(np.float32)
    scale = rng.uniform(0.01, 0.02, mean_shape).astype(np.float32)
    weight = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centred"], name="norm/Sub"),
        helper.make_node("Mul", ["centred", "scale"], ["scaled"], name="norm/Mul"),
        helper.make_node("Transpose", ["scaled"], ["nchw"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "weight"], ["output"], name="conv", pads=[1, 1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 8, 8, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4, 8, 8])],
        [numpy_helper.from_array(mean, "mean"), numpy_helper.from_array(scale, "scale"),
         numpy_helper.from_array(weight, "weight")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(proto, x):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


@pytest.mark.parametrize("mean_shape", [(1, 1, 1, 3), (3,), ()])
def test_normalisation_moves_after_the_transpose_with_identical_outputs(mean_shape):
    original = _graph_like_tf2onnx(mean_shape)
    moved = onnx.ModelProto()
    moved.CopyFrom(original)
    assert move_channel_ops_after_transpose(moved) == 2
    onnx.checker.check_model(moved, full_check=True)
    assert [n.op_type for n in moved.graph.node] == ["Transpose", "Sub", "Mul", "Conv"]
    assert moved.graph.node[0].input[0] == "input"
    constants = {i.name: numpy_helper.to_array(i) for i in moved.graph.initializer}
    for node in moved.graph.node[1:3]:
        expected = (1, 3, 1, 1) if mean_shape else ()
        assert constants[node.input[1]].shape == expected
    x = np.random.default_rng(1).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(_run(moved, x), _run(original, x))


def test_a_shared_intermediate_tensor_is_left_alone():
    proto = _graph_like_tf2onnx()
    proto.graph.output.append(helper.make_tensor_value_info("centred", TensorProto.FLOAT, None))
    assert move_channel_ops_after_transpose(proto) == 1  # only the Mul: 'centred' is also an output
    assert [n.op_type for n in proto.graph.node][:2] == ["Sub", "Transpose"]


def test_input_scaling_nodes_are_found_before_and_after_the_rewrite():
    proto = _graph_like_tf2onnx()
    assert input_scaling_nodes(proto) == ["norm/Sub", "norm/Mul"]
    move_channel_ops_after_transpose(proto)
    assert input_scaling_nodes(proto) == ["norm/Sub", "norm/Mul"]


def test_int8_graphs_get_the_normalisation_as_one_float_1x1_convolution():
    from kerascnn.export.onnx import INPUT_SCALING_CONV, input_scaling_as_conv

    original = _graph_like_tf2onnx()
    proto = onnx.ModelProto()
    proto.CopyFrom(original)
    assert not input_scaling_as_conv(proto)  # NHWC: not before the transpose has moved
    move_channel_ops_after_transpose(proto)
    assert input_scaling_as_conv(proto)
    onnx.checker.check_model(proto, full_check=True)
    assert [n.op_type for n in proto.graph.node] == ["Transpose", "Conv", "Conv"]
    assert input_scaling_nodes(proto) == [INPUT_SCALING_CONV]
    assert not input_scaling_as_conv(proto)  # once
    x = np.random.default_rng(2).uniform(0, 255, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(_run(proto, x), _run(original, x), rtol=1e-5, atol=1e-4)


def test_a_scalar_rescaling_stays_element_wise():
    from kerascnn.export.onnx import input_scaling_as_conv

    proto = _graph_like_tf2onnx(mean_shape=())
    move_channel_ops_after_transpose(proto)
    assert not input_scaling_as_conv(proto)
