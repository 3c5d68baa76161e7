"""The lecture table (kerascnn.analysis.summary): counting rules, published numbers, graph walking."""

from __future__ import annotations

import keras
import pytest
from keras import layers

from kerascnn import models
from kerascnn.analysis.summary import COMPUTED, IN_PLACE, INPUT, VIEW, format_bytes, shapes_only, summarize


def _zoo(name, **kwargs):
    """A registry model built shapes-only (no weight values) and its table."""
    with shapes_only():
        model = models.build(name, **kwargs)
        return model, summarize(model)


@pytest.fixture(scope="module")
def vgg16():
    return _zoo("vgg16")


# ------------------------------------------------------------ published numbers


def test_vgg16_matches_the_lecture_table(vgg16):
    model, table = vgg16
    # CS231n's per-layer listing, each conv/pool/fc output once (ReLU in place), input included.
    assert table.activations == 15_237_608
    assert table.activation_bytes == 15_237_608 * 4
    assert format_bytes(table.activation_bytes) == "61.0 MB"
    assert table.macs == pytest.approx(15.5e9, rel=0.01)
    assert table.trainable_params == 138_357_544 == model.count_params()
    assert table.non_trainable_params == 0
    conv = {r.name: r for r in table.layers}
    assert conv["block1_conv1"].output_shapes == ((224, 224, 64),)
    assert conv["block1_conv2"].macs == 224 * 224 * 64 * 3 * 3 * 64


def test_vgg16_rows_are_counted_by_role(vgg16):
    _, table = vgg16
    roles = {r.type: r.role for r in table.layers}
    assert roles == {
        "InputLayer": INPUT,
        "Conv2D": COMPUTED,
        "MaxPooling2D": COMPUTED,
        "Flatten": VIEW,
        "Dense": COMPUTED,
        "Dropout": IN_PLACE,
    }
    flatten = next(r for r in table.layers if r.type == "Flatten")
    assert flatten.activations == 0 and flatten.output_values == 7 * 7 * 512


@pytest.mark.parametrize(
    "kwargs, published_macs",
    [
        ({}, 569e6),  # Howard et al. 2017, Tables 6 (width) and 7 (resolution)
        ({"alpha": 0.75}, 325e6),
        ({"alpha": 0.5}, 149e6),
        ({"alpha": 0.25}, 41e6),
        ({"input_shape": (192, 192, 3)}, 418e6),
        ({"input_shape": (160, 160, 3)}, 290e6),
        ({"input_shape": (128, 128, 3)}, 186e6),
    ],
)
def test_mobilenet_v1_mult_adds(kwargs, published_macs):
    model, table = _zoo("mobilenet_v1", **kwargs)
    assert table.macs == pytest.approx(published_macs, rel=0.005)
    assert table.params == model.count_params()


@pytest.mark.parametrize("name, published_macs", [("mobilenet_v2", 300e6), ("resnet18", 1.8e9)])
def test_mult_adds_of_mobilenet_v2_and_resnet18(name, published_macs):
    model, table = _zoo(name)
    assert table.macs == pytest.approx(published_macs, rel=0.02)
    assert table.params == model.count_params()
    assert table.non_trainable_params > 0  # BatchNorm moving statistics


# ------------------------------------------------------------ totals and rows


def test_totals_are_the_sums_of_the_rows(vgg16):
    _, table = vgg16
    assert table.macs == sum(r.macs for r in table.layers)
    assert table.activations == sum(r.activations for r in table.layers)
    assert table.params == sum(r.params for r in table.layers)
    data = table.to_dict()
    for key in ("name", "input_shape", "trainable_params", "non_trainable_params", "macs", "activations",
                "activation_bytes", "layers"):
        assert key in data
    assert data["input_shape"] == [224, 224, 3]
    assert sum(row["macs"] for row in data["layers"]) == data["macs"]
    assert sum(row["activation_bytes"] for row in data["layers"]) == data["activation_bytes"]


def test_batch_size_scales_memory_not_macs():
    model, _ = _zoo("lenet5")
    one, eight = summarize(model), summarize(model, batch_size=8)
    assert eight.activation_bytes == 8 * one.activation_bytes
    assert (eight.activations, eight.macs) == (one.activations, one.macs)
    with pytest.raises(ValueError, match="batch_size"):
        summarize(model, batch_size=0)


def test_format_table_aligns_columns_and_shows_totals(vgg16):
    _, table = vgg16
    text = table.format_table()
    assert "15,237,608" in text and "138,357,544" in text and "15.5 G" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Layer"))
    row = next(line for line in lines if line.startswith("block1_conv2"))
    # right-aligned numeric columns end where their header ends
    assert row.index("3,211,264") + len("3,211,264") == header.index("Activations") + len("Activations")
    assert row.endswith("1.85 G") and header.endswith("MACs")


# ------------------------------------------------------------ MAC rules on hand-computed models


def test_conv_rules_are_generic_over_kernel_rank():
    x1 = keras.Input((100, 16))
    conv1d = layers.Conv1D(32, 5, name="conv1d")(x1)
    dense3d = layers.Dense(8, name="dense_on_sequence")(conv1d)
    heads = layers.EinsumDense("abc,cde->abde", output_shape=(96, 4, 5), name="heads")(conv1d)
    rows = {r.name: r for r in summarize(keras.Model(x1, [dense3d, heads])).layers}
    assert rows["conv1d"].macs == 96 * 32 * 5 * 16
    assert rows["dense_on_sequence"].macs == 96 * 32 * 8  # Dense applied at each of 96 positions
    assert rows["heads"].macs == (96 * 4 * 5) * 32  # each output value sums over c = 32

    # The lecture's Conv3D: (N, 16, 10, 50, 100) channels-first, 33 filters, kernel (3, 5, 2),
    # stride (2, 1, 1), padding (4, 2, 0) -> (N, 33, 8, 50, 99).
    x3 = keras.Input((16, 10, 50, 100))
    padded = layers.ZeroPadding3D(((4, 4), (2, 2), (0, 0)), data_format="channels_first", name="pad")(x3)
    conv3d = layers.Conv3D(33, (3, 5, 2), strides=(2, 1, 1), data_format="channels_first", name="conv3d")(padded)
    table = summarize(keras.Model(x3, conv3d))
    rows = {r.name: r for r in table.layers}
    assert rows["conv3d"].output_shapes == ((33, 8, 50, 99),)
    assert rows["conv3d"].macs == 8 * 50 * 99 * 33 * (3 * 5 * 2) * 16
    assert rows["pad"].role == VIEW
    assert table.activations == 16 * 10 * 50 * 100 + 33 * 8 * 50 * 99


def test_grouped_depthwise_separable_and_transposed_convs():
    x = keras.Input((10, 10, 8))
    grouped = layers.Conv2D(8, 3, padding="same", groups=4, name="grouped")(x)
    depthwise = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(grouped)
    separable = layers.SeparableConv2D(12, 3, padding="same", name="separable")(grouped)
    transposed = layers.Conv2DTranspose(4, 3, strides=2, name="transposed")(grouped)
    model = keras.Model(x, [depthwise, separable, transposed])
    table = summarize(model)
    rows = {r.name: r for r in table.layers}
    assert rows["grouped"].macs == 10 * 10 * 8 * 9 * 8 // 4
    assert rows["depthwise"].macs == 10 * 10 * 16 * 9  # per channel, no sum over inputs
    assert rows["separable"].macs == 10 * 10 * 8 * 9 + 10 * 10 * 8 * 12  # depthwise + pointwise
    assert rows["transposed"].macs == 10 * 10 * 8 * 9 * 4  # every input position scatters a kernel
    assert table.params == model.count_params()


def test_batchnorm_activation_add_concat_are_not_counted_twice():
    x = keras.Input((8, 8, 4))
    a = layers.Conv2D(4, 1, use_bias=False, name="a")(x)
    a = layers.BatchNormalization(name="bn")(a)
    a = layers.ReLU(name="relu")(a)
    added = layers.Add(name="add")([a, x])
    joined = layers.Concatenate(name="concat")([added, x])
    pooled = layers.GlobalAveragePooling2D(name="gap")(joined)
    out = layers.Dropout(0.5, name="drop")(pooled)
    model = keras.Model(x, out)
    table = summarize(model)
    roles = {r.name: r.role for r in table.layers}
    assert roles["bn"] == roles["relu"] == roles["add"] == roles["drop"] == IN_PLACE
    assert roles["concat"] == VIEW and roles["gap"] == COMPUTED
    assert table.activations == 8 * 8 * 4 + 8 * 8 * 4 + 8  # input, conv, pooled vector
    assert table.non_trainable_params == 8  # BatchNorm moving mean and variance
    assert table.params == model.count_params()


# ------------------------------------------------------------ graph walking


def test_nested_models_are_expanded():
    backbone, _ = _zoo("lenet5")
    inputs = keras.Input((32, 32, 1), name="pixels")
    scaled = layers.Rescaling(1 / 255, name="scale")(inputs)
    model = keras.Model(inputs, backbone(scaled), name="wrapped")
    table, inner = summarize(model), summarize(backbone)
    names = [r.name for r in table.layers]
    assert names[:3] == ["pixels", "scale", "lenet5/c1"]
    assert "lenet5/input" not in names  # the tensor feeding it is the outer, counted one
    assert (table.macs, table.params, table.activations) == (inner.macs, inner.params, inner.activations)
    assert table.params == model.count_params()

    sequential = keras.Sequential([keras.Input((32, 32, 1)), layers.Rescaling(1 / 255), backbone])
    assert summarize(sequential).macs == inner.macs


def test_shared_layers_get_a_row_per_call_and_params_once():
    left, right = keras.Input((16,), name="left"), keras.Input((16,), name="right")
    tower = layers.Dense(4, name="tower")
    model = keras.Model([left, right], layers.Concatenate(name="join")([tower(left), tower(right)]))
    table = summarize(model)
    towers = [r for r in table.layers if r.name.startswith("tower")]
    assert [r.name for r in towers] == ["tower", "tower (call 2)"]
    assert [r.params for r in towers] == [16 * 4 + 4, 0]
    assert [r.macs for r in towers] == [64, 64]
    assert table.input_shapes == ((16,), (16,))
    assert table.to_dict()["input_shape"] == [[16], [16]]


def test_multi_output_layers_count_every_output():
    class Split(layers.Layer):
        def call(self, x):
            return x[:, :3], x[:, 3:]

    x = keras.Input((10,))
    first, second = Split(name="split")(x)
    table = summarize(keras.Model(x, [first, second]))
    split = next(r for r in table.layers if r.name == "split")
    assert split.output_shapes == ((3,), (7,))
    assert split.activations == 10
    assert split.to_dict()["output_shape"] == [[3], [7]]


def test_unsupported_models_raise_value_error():
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="functional or Sequential"):
        summarize(Subclassed())
    with pytest.raises(ValueError, match="not built"):
        summarize(keras.Sequential([layers.Dense(2)]))
    x = keras.Input((None, None, 3))
    with pytest.raises(ValueError, match="fixed"):
        summarize(keras.Model(x, layers.Conv2D(2, 3)(x)))


def test_shapes_only_build_gives_the_same_table_as_a_real_one():
    real = summarize(models.build("mobilenet_v1", alpha=0.25)).to_dict()
    assert _zoo("mobilenet_v1", alpha=0.25)[1].to_dict() == real


def test_shapes_only_leaves_no_variables_to_initialise_later():
    from keras.src.backend.common import global_state

    def pending():
        return global_state.get_global_attribute("uninitialized_variables") or []

    before = len(pending())
    with shapes_only():
        model = models.build("vgg11")
        assert {id(w) for w in model.weights} <= {id(v) for v in pending()}  # created without values
    assert len(pending()) == before  # a later StatelessScope exit will not fill 133 M weights


def test_printing_a_summary_prints_the_lecture_table():
    """Issue 8: ``print(summarize(model))`` showed a dataclass repr instead of the table."""
    model = models.build("lenet5")
    table = summarize(model)
    assert str(table) == table.format_table()
    assert "Layer" in str(table) and "MACs:" in str(table) and "ModelSummary(" not in str(table)


def test_1d_models_report_their_receptive_field():
    """Issue 12: the lecture's dilation formula in the table (dilations 1, 2, 4 of width 3: 15 words)."""
    table = summarize(models.build("textcnn_dilated", vocabulary_size=100))
    assert any("up to 15 input positions" in note for note in table.notes)
    assert not any("receptive field" in note for note in summarize(models.build("lenet5")).notes)
