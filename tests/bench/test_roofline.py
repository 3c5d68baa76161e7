"""kerascnn.bench.roofline: closed-form MACs, bytes and bounds of single layers; fusion; the graphs of both formats."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn import bench
from kerascnn.bench import roofline
from kerascnn.bench.machine import GemmPeaks

#: Roofs in round numbers: 100 GFLOP/s float32, 400 GOP/s int8, 10 GB/s DRAM, 40 GB/s in a 1 MiB cache
#: (ridge point: 2.5 FLOP, i.e. 1.25 MACs, per byte).
PEAKS = GemmPeaks({1: 100.0}, {1: 400.0}, memory={1: 10.0}, cache={1: 40.0}, cache_bytes=2**20)


def _onnx(nodes, inputs, outputs, weights):
    """A float32 ONNX model; ``inputs``/``outputs``: ``{name: shape}``; ``weights``: ``{name: shape}``."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        nodes, "layer",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def test_single_conv_closed_form():
    """Conv 3x3, 8 -> 16 channels, "same" on 16x16, with bias: compute-bound."""
    from onnx import helper

    model = _onnx(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], name="conv")],
        {"x": ["N", 8, 16, 16]}, {"y": ["N", 16, 16, 16]}, {"w": [16, 8, 3, 3], "b": [16]},
    )
    (layer,) = roofline.onnx_layers(model)
    macs = 16 * 16 * 16 * (8 * 3 * 3)
    activations = 8 * 16 * 16 + 16 * 16 * 16  # input read + output written
    weights = 16 * 8 * 3 * 3 + 16
    assert (layer.kind, layer.macs, layer.activations, layer.weights) == ("first conv", macs, activations, weights)
    assert layer.bytes("fp32") == 4 * (activations + weights)
    assert layer.bytes("int8") == activations + weights
    assert layer.bytes("fp32", batch=4) == 4 * (4 * activations + weights)  # weights are read once per call

    (bound,) = roofline.layer_bounds([layer], "fp32", threads=1, batch=1, peaks=PEAKS)
    assert bound.compute_ms == pytest.approx(2 * macs / 100e9 * 1e3)
    assert bound.memory_ms == pytest.approx(4 * (activations + weights) / 40e9 * 1e3)  # fits in the cache
    assert bound.limited_by == "compute" and bound.bound_ms == bound.compute_ms
    (int8,) = roofline.layer_bounds([layer], "int8", threads=1, batch=1, peaks=PEAKS)
    assert int8.compute_ms == pytest.approx(2 * macs / 400e9 * 1e3)  # the int8 GEMM peak
    assert roofline.model_bound_ms([layer], "fp32", 1, 1, PEAKS) == pytest.approx(bound.bound_ms)


def test_single_depthwise_closed_form():
    """Depthwise 3x3 on 32 channels at 16x16: 9 MACs per output value, memory-bound."""
    from onnx import helper

    model = _onnx(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], group=32, name="dw")],
        {"x": [1, 32, 16, 16]}, {"y": [1, 32, 16, 16]}, {"w": [32, 1, 3, 3]},
    )
    (layer,) = roofline.onnx_layers(model)
    macs, activations, weights = 16 * 16 * 32 * 9, 2 * 32 * 16 * 16, 32 * 9
    assert (layer.kind, layer.macs, layer.activations, layer.weights) == ("depthwise", macs, activations, weights)
    assert layer.intensity("fp32") == pytest.approx(macs / (4 * (activations + weights)))  # ~1 MAC per byte
    (bound,) = roofline.layer_bounds([layer], "fp32", 1, 1, PEAKS)
    assert bound.memory_ms == pytest.approx(4 * (activations + weights) / 40e9 * 1e3)
    assert bound.compute_ms == pytest.approx(2 * macs / 100e9 * 1e3)
    assert bound.limited_by == "memory" and bound.bound_ms == bound.memory_ms
    # 32 images do not fit in the 1 MiB cache: the layer streams from DRAM.
    (big,) = roofline.layer_bounds([layer], "fp32", 1, 32, PEAKS)
    assert big.memory_ms == pytest.approx(4 * (32 * activations + weights) / 10e9 * 1e3)


def test_fusion_views_and_residuals_cost_what_a_fusing_runtime_pays():
    """1x1 conv + bias Add + Clip (ReLU6) + residual Add, a Reshape, a Transpose and a dense layer."""
    from onnx import helper

    model = _onnx(
        [
            helper.make_node("Transpose", ["image"], ["x"], perm=[0, 3, 1, 2], name="to_nchw"),
            helper.make_node("Conv", ["x", "w"], ["c"], name="pointwise"),
            helper.make_node("Add", ["c", "bias"], ["cb"], name="bias"),
            helper.make_node("Clip", ["cb", "lo", "hi"], ["r"], name="relu6"),
            helper.make_node("Add", ["r", "x"], ["s"], name="residual"),
            helper.make_node("Reshape", ["s", "shape"], ["flat"], name="flatten"),
            helper.make_node("MatMul", ["flat", "dense"], ["out"], name="dense"),
        ],
        {"image": [1, 4, 4, 8]}, {"out": [1, 3]},
        {"w": [8, 8, 1, 1], "bias": [1, 8, 1, 1], "lo": [], "hi": [], "dense": [128, 3]},
    )
    from onnx import numpy_helper

    model.graph.initializer.append(numpy_helper.from_array(np.array([1, 128], np.int64), "shape"))
    layers = roofline.onnx_layers(model)
    assert [(layer.name, layer.kind) for layer in layers] == [
        ("to_nchw", "layout"), ("pointwise", "first conv"), ("dense", "dense")
    ]
    transpose, conv, dense = layers
    assert transpose.activations == 2 * 128 and transpose.weights == 0
    # Conv reads x (128) and writes c (128); the residual Add adds only its other operand, x (128).
    assert conv.activations == 3 * 128 and conv.weights == 64 + 8 + 1 + 1 and conv.macs == 16 * 8 * 8
    assert {"bias", "relu6", "residual", "flatten", "s", "flat"} <= set(conv.members)
    assert dense.activations == 128 + 3 and dense.macs == 128 * 3


def test_tiny_classifier_in_both_formats(tiny):
    """The shared tiny export: conv 3x3 (1 -> 4, valid) on 12x10, global pooling, dense 4 -> 5."""
    onnx_layers = bench.graph_layers(tiny["onnx"])
    tflite_layers = bench.graph_layers(tiny["tflite"])
    for layers in (onnx_layers, tflite_layers):
        kinds = {layer.kind: layer for layer in layers}
        assert sum(layer.macs for layer in layers) == tiny["macs"]
        assert kinds["first conv"].macs == 10 * 8 * 4 * 9
        assert kinds["first conv"].activations == 12 * 10 * 1 + 10 * 8 * 4
        assert kinds["dense"].macs == 4 * 5
    assert {layer.kind: layer for layer in tflite_layers}["first conv"].weights == 4 * 9 + 4  # kernel + bias
    assert all(layer.op != "DELEGATE" for layer in tflite_layers)  # XNNPACK's stand-in is not a layer


def test_bound_of_a_report_row_is_the_roofline(tiny):
    (artifact,) = bench.discover([tiny["onnx"]])
    from kerascnn.bench.timing import Config

    config = Config(artifact, "onnxruntime", threads=1, batch=2, times=[1e-3] * 3)
    row = bench.summarise(config, PEAKS)
    expected = sum(
        max(2 * layer.macs * 2 / 100e9, layer.bytes("fp32", 2) / 40e9) * 1e3 for layer in artifact.layers
    )
    assert row["bound_ms"] == pytest.approx(expected, abs=1e-6)
    assert row["gemm_bound_ms"] == pytest.approx(2 * tiny["macs"] * 2 / 100e9 * 1e3, abs=1e-6)
    assert row["bound_fraction"] == pytest.approx(row["bound_ms"] / 1.0, abs=1e-3)
    assert row["memory_bandwidth_gbs"] == 10.0
