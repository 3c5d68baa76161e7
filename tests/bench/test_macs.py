"""kerascnn.bench.macs: multiply-adds per example, closed-form, in ONNX, TFLite and Keras graphs."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn import bench
from kerascnn.bench import macs

# Closed-form MACs = output values x (kernel volume x input channels / groups), dense: in x out.
CONV1D = 8 * 3 * (3 * 2)  # 2 -> 3 channels, kernel 3, length 10 -> 8
CONV2D = 8 * 8 * 4 * (3 * 3 * 3)  # 3 -> 4 channels, 3x3 "same" on 8x8
DEPTHWISE = 8 * 8 * 4 * (3 * 3)  # 4 channels, 3x3 "same", group = channels
GROUPED = 8 * 8 * 6 * (1 * 1 * 4 // 2)  # 4 -> 6 channels, 1x1, 2 groups
CONV3D = 2 * 2 * 2 * 2 * (3 * 3 * 3 * 1)  # 1 -> 2 channels, 3x3x3 on 4x4x4 (valid)
GEMM = 5 * 7  # dense 5 -> 7 (Gemm)
MATMUL = 7 * 2  # dense 7 -> 2 (MatMul)
ONNX_TOTAL = CONV1D + CONV2D + DEPTHWISE + GROUPED + CONV3D + GEMM + MATMUL


def _onnx_model(batch):
    """A graph with a Conv of each kind, Gemm and MatMul; ``batch`` is a number or a symbol."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    def value(name, *shape):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, *shape])

    nodes = [
        helper.make_node("Conv", ["seq", "w1"], ["y1"]),
        helper.make_node("Conv", ["image", "w2"], ["y2"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["y2", "wd"], ["yd"], pads=[1, 1, 1, 1], group=4),
        helper.make_node("Conv", ["yd", "wg"], ["yg"], group=2),
        helper.make_node("Conv", ["volume", "w3"], ["y3"]),
        helper.make_node("Gemm", ["vector", "wdense"], ["h"]),
        helper.make_node("MatMul", ["h", "wmat"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes, "kinds",
        [value("seq", 2, 10), value("image", 3, 8, 8), value("volume", 1, 4, 4, 4), value("vector", 5)],
        [value("y1", 3, 8), value("yg", 6, 8, 8), value("y3", 2, 2, 2, 2), value("out", 2)],
        [weight("w1", 3, 2, 3), weight("w2", 4, 3, 3, 3), weight("wd", 4, 1, 3, 3), weight("wg", 6, 2, 1, 1),
         weight("w3", 2, 1, 3, 3, 3), weight("wdense", 5, 7), weight("wmat", 7, 2)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("batch", ["N", 1, 4])
def test_onnx_convs_of_every_rank_and_group_and_dense(tmp_path, batch):
    import onnx

    model = _onnx_model(batch)
    onnx.checker.check_model(model)
    assert macs.onnx_macs(model) == ONNX_TOTAL  # per example, whatever the batch dimension
    onnx.save(model, tmp_path / "kinds.onnx")
    assert bench.count_macs(tmp_path / "kinds.onnx") == ONNX_TOTAL


# Keras layers of every kind, converted to TFLite (CONV_2D for Conv1D and grouped, DEPTHWISE_CONV_2D, CONV_3D,
# FULLY_CONNECTED): the same closed-form numbers, in channels-last Keras shapes.
K_CONV1D = 14 * 4 * (3 * 3)  # Conv1D 3 -> 4, kernel 3, length 16 (valid)
K_CONV2D = 8 * 8 * 6 * (3 * 3 * 4)  # Conv2D 4 -> 6, 3x3 same on 8x8
K_DEPTHWISE = 8 * 8 * 6 * (3 * 3)  # DepthwiseConv2D 3x3 same on 6 channels
K_GROUPED = 8 * 8 * 4 * (1 * 1 * 6 // 2)  # Conv2D 6 -> 4, 1x1, groups=2
K_CONV3D = 2 * 4 * 4 * 3 * (3 * 3 * 3 * 2)  # Conv3D 2 -> 3, 3x3x3 on 4x6x6 (valid)
K_DENSE = (4 + 4 + 3) * 5
KERAS_TOTAL = K_CONV1D + K_CONV2D + K_DEPTHWISE + K_GROUPED + K_CONV3D + K_DENSE


@pytest.fixture(scope="module")
def kinds_keras(tmp_path_factory):
    """A three-input Keras model with a layer of each kind, and its TFLite conversion."""
    import keras
    import tensorflow as tf

    layers = keras.layers
    seq, image, volume = keras.Input((16, 3)), keras.Input((8, 8, 4)), keras.Input((4, 6, 6, 2))
    a = layers.Conv1D(4, 3)(seq)
    b = layers.Conv2D(6, 3, padding="same")(image)
    b = layers.DepthwiseConv2D(3, padding="same")(b)
    b = layers.Conv2D(4, 1, groups=2)(b)
    c = layers.Conv3D(3, 3)(volume)
    pooled = [
        layers.GlobalAveragePooling1D()(a), layers.GlobalAveragePooling2D()(b), layers.GlobalAveragePooling3D()(c)
    ]
    model = keras.Model([seq, image, volume], layers.Dense(5)(layers.Concatenate()(pooled)))
    path = tmp_path_factory.mktemp("kinds") / "kinds.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return model, path


def test_keras_layers_of_every_kind(kinds_keras):
    model, _ = kinds_keras
    assert bench.count_macs(model) == KERAS_TOTAL


def test_tflite_ops_of_every_kind(kinds_keras):
    _, path = kinds_keras
    assert bench.count_macs(path) == KERAS_TOTAL


@pytest.mark.parametrize("fmt", ["onnx", "tflite", "keras"])
def test_count_macs_of_the_tiny_export(tiny, fmt):
    assert bench.count_macs(tiny[fmt]) == tiny["macs"]


def test_quantised_onnx_counts_the_same_macs(tiny, tmp_path):
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(str(tiny["onnx"]), str(tmp_path / "dyn.onnx"))
    assert bench.count_macs(tmp_path / "dyn.onnx") == tiny["macs"]  # ConvInteger + MatMulInteger


def test_no_countable_layer_is_none(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    assert macs.onnx_macs(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])) is None
