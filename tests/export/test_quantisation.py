"""int8 that pays off and stays accurate: the CPU's recipe, artifact sizes, per-layer error, accuracy-aware fallback."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn import cli, data  # noqa: E402
from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.export import accuracy, export_model, int8_settings, quant_debug  # noqa: E402
from kerascnn.tasks.classification import Classification  # noqa: E402


class LabelledDigits(Classification):
    """Classification whose verification inputs come with their labels (the same draw as the Task's)."""

    def sample_inputs(self, source, data_dir, input_shape, verify, calibrate):
        inputs = super().sample_inputs(source, data_dir, input_shape, verify, calibrate)
        if "verify_labels" not in inputs and source != "random":
            labels = data.load(source, data_dir).y_test
            inputs["verify_labels"] = labels[np.random.default_rng(0).permutation(len(labels))[:verify]]
        return inputs


def _run_folder(folder, model):
    model.save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({"train": {"dataset": "digits"}}))
    return folder


@pytest.fixture(scope="module")
def lenet_run(tmp_path_factory):
    """LeNet-5 from the zoo trained on digits (8x8 resized to 32x32 inside the model)."""
    from kerascnn.training import train

    folder = tmp_path_factory.mktemp("lenet")
    train("lenet5", "digits", run_dir=folder, epochs=8, seed=0, quiet=True)
    return folder


@pytest.fixture(scope="module")
def lenet_export(lenet_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("lenet_export") / "out"
    return out, export_model(lenet_run, quantize="none,int8", debug_quant=True, out=out)


# --------------------------------------------------------------------------- recipe from CPU flags


def test_recipe_follows_the_cpus_dot_product_instructions():
    vnni = int8_settings.for_cpu(["avx2", "avx512f", "avx512bw", "avx512_vnni"])
    assert vnni.reduce_range is False and vnni.portable is False
    assert "avx512_vnni" in vnni.chosen_for
    for flags in (["avx2", "fma"], ["avx2", "avx512f", "avx512bw"], []):
        plain = int8_settings.for_cpu(flags)
        assert plain.reduce_range is True and plain.portable is True, flags
    assert int8_settings.for_cpu(["avx_vnni"]).reduce_range is False
    assert int8_settings.for_cpu(["amx_int8"]).reduce_range is False
    both = (vnni.format, vnni.activations, vnni.weights, vnni.per_channel)
    assert both == ("qdq", "uint8", "int8", True)  # the same everywhere but the weight range
    record = vnni.to_manifest()
    assert record["format"] == "QDQ" and record["activations"] == "uint8"
    assert record["weights"] == "int8 per-channel, 8-bit range" and record["portable"] is False


def test_int8_overrides_parse_and_unknown_ones_are_one_line_errors():
    assert int8_settings.parse_overrides(["reduce_range=true", "format=QOperator"]) == {
        "reduce_range": True, "format": "qoperator",
    }  # fmt: skip
    chosen = int8_settings.choose({"reduce_range": True}, flags=["avx512_vnni"])
    assert chosen.reduce_range is True and chosen.portable is True
    for bad, words in (
        (["reduce_rang=true"], "Did you mean: reduce_range"),
        (["activations=int4"], "uint8 or int8"),
        (["per_channel=maybe"], "true or false"),
        (["reduce_range"], "KEY=VALUE"),
    ):
        with pytest.raises(UsageError, match=words) as info:
            int8_settings.parse_overrides(bad)
        assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- sizes and the debug table


def _artifact(manifest, fmt, precision):
    (item,) = [a for a in manifest["artifacts"] if a["format"] == fmt and a["precision"] == precision]
    return item


def test_lenet5_int8_is_at_most_035_of_float32_in_both_formats(lenet_export):
    _, manifest = lenet_export
    for fmt in ("onnx", "tflite"):
        ratio = _artifact(manifest, fmt, "int8")["bytes"] / _artifact(manifest, fmt, "fp32")["bytes"]
        assert ratio <= 0.35, (fmt, ratio)
        assert _artifact(manifest, fmt, "int8")["parity"]["top1_agreement"] >= 0.97, fmt


def test_int8_onnx_keeps_no_float_weights_and_no_zero_bias_offsets(lenet_export):
    import onnx
    from onnx import numpy_helper

    out, manifest = lenet_export
    proto = onnx.load(out / _artifact(manifest, "onnx", "int8")["file"])
    assert not proto.graph.value_info
    for init in proto.graph.initializer:
        array = numpy_helper.to_array(init)
        # What stays float: one scale per channel or tensor, never a weight matrix.
        assert array.dtype != np.float32 or array.ndim <= 1 or array.size == 1, init.name
        if array.dtype == np.int32 and init.name.endswith("zero_point"):
            assert array.any(), init.name
    settings = _artifact(manifest, "onnx", "int8")["settings"]
    assert settings["reduce_range"] is int8_settings.this_cpu().reduce_range
    assert settings["chosen_for"] == list(int8_settings.this_cpu().chosen_for)
    assert settings["runtime"]["graph_optimization_level"].startswith("ORT_ENABLE_ALL")


def test_debug_table_lists_every_quantised_layer(lenet_export):
    from ai_edge_litert.interpreter import Interpreter

    out, manifest = lenet_export
    assert set(manifest["quant_debug"]) == {"onnx", "tflite"}
    # LeNet-5's weighted layers: c1, c3 (conv), c5, f6, predictions (dense), in both formats.
    weighted = ["c1", "c3", "c5", "f6", "predictions"]
    for fmt in ("onnx", "tflite"):
        entry = manifest["quant_debug"][fmt]
        assert entry["files"] == [f"quant_debug_{fmt}.csv", f"quant_debug_{fmt}.png"]
        assert (out / entry["files"][1]).read_bytes()[:4] == b"\x89PNG"
        with open(out / entry["files"][0], newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == entry["layers"]
        weighted_rows = [r["keras_layer"] for r in rows if r["kind"] in ("conv", "conv_2d", "1x1 conv", "dense")]
        assert weighted_rows == weighted, fmt
        for row in rows:
            assert float(row["output_sqnr_db"]) > 10 and float(row["channel_sqnr_db"]) > 0, (fmt, row)
    with open(out / "quant_debug_onnx.csv", newline="") as handle:
        assert all(float(r["weight_sqnr_db"]) > 30 for r in csv.DictReader(handle) if r["kind"] in ("conv", "dense"))
    # Every op of the int8 TFLite model that computes (conv/dense) has a row.
    interpreter = Interpreter(model_path=str(out / "model_int8.tflite"))
    ops = [op["op_name"] for op in interpreter._get_ops_details()]
    computing = [op for op in ops if op in ("CONV_2D", "FULLY_CONNECTED")]
    assert len(computing) == len(weighted)


def test_channel_sqnr_exposes_a_small_channel_that_the_tensor_sqnr_hides():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(64, 4)) * np.array([100.0, 1.0, 1.0, 1.0])
    step = np.abs(signal).max() / 127  # one int8 scale for the whole tensor
    rounded = np.round(signal / step) * step
    error = quant_debug.ChannelError(axis=-1)
    error.add(signal, rounded)
    assert error.sqnr_db() > 35  # the big channel dominates the whole-tensor figure
    assert error.channel_sqnr_db() < 15  # the small ones kept a level or two


# --------------------------------------------------------------------------- accuracy-aware fallback


def _digits_cnn(channels: int):
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(channels, 3, padding="same", activation="relu", name="spiky")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="mixer")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name="outlier_cnn")


def _outlier_model(x_train, y_train):
    """A trained digits CNN plus one extra channel in its first conv that outputs a constant 1,000.

    The next conv gives that channel zero weights, so the float model computes
    exactly what it did. int8 gives the whole tensor one scale, set by the outlier
    channel: every real channel rounds to a few levels (the range problem BatchNorm
    folding creates; Nagel et al., 2019).
    """
    keras.utils.set_random_seed(0)
    trained = _digits_cnn(8)
    trained.compile("adam", "sparse_categorical_crossentropy")
    trained.fit(x_train, y_train, epochs=10, batch_size=32, verbose=0)
    model = _digits_cnn(9)
    kernel, bias = trained.get_layer("spiky").get_weights()
    model.get_layer("spiky").set_weights(
        [np.concatenate([kernel, np.zeros_like(kernel[..., :1])], axis=-1), np.append(bias, 1000.0)]
    )
    kernel, bias = trained.get_layer("mixer").get_weights()
    model.get_layer("mixer").set_weights([np.concatenate([kernel, np.zeros_like(kernel[:, :, :1])], axis=2), bias])
    model.get_layer("classifier").set_weights(trained.get_layer("classifier").get_weights())
    return model


@pytest.fixture(scope="module")
def outlier_run(tmp_path_factory):
    dataset = data.load("digits")
    return _run_folder(tmp_path_factory.mktemp("outlier"), _outlier_model(dataset.x_train, dataset.y_train))


def test_fallback_keeps_the_outlier_layer_in_float_and_meets_the_drop(outlier_run, tmp_path):
    lines = []
    manifest = export_model(
        outlier_run, task=LabelledDigits(), quantize="none,int8", max_accuracy_drop=1.0, out=tmp_path / "out",
        progress=lines.append,
    )  # fmt: skip
    for fmt in ("onnx", "tflite"):
        fp32 = _artifact(manifest, fmt, "fp32")
        assert fp32["accuracy"]["accuracy"] == pytest.approx(fp32["accuracy"]["float_accuracy"])
        assert fp32["accuracy"]["float_accuracy"] > 0.85
        fit = _artifact(manifest, fmt, "int8")["accuracy"]
        assert 100 * (fit["float_accuracy"] - fit["tried"][0]["accuracy"]) > 5, (fmt, fit)  # int8 hurt
        assert fit["drop_points"] <= 1.0, (fmt, fit)
        assert quant_debug.layer_name(fit["float_layers"][0]) == "spiky", (fmt, fit)
        assert len(fit["float_layers"]) <= 2, (fmt, fit)
    settings = _artifact(manifest, "onnx", "int8")["settings"]
    assert {quant_debug.layer_name(n) for n in settings["float_nodes"]} >= {"spiky", "mixer"}
    assert any("kept in float: spiky" in line for line in lines)


def test_a_drop_that_cannot_be_met_says_so_in_one_line():
    written = []
    with pytest.raises(UsageError, match="cannot be met for onnx int8: with all 3 quantised layers") as info:
        accuracy.fit_drop(
            written.append, lambda: 0.80, lambda: [{"layer": f"l{i}", "channel_sqnr_db": i, "exclude": [f"l{i}"]}
                                                   for i in range(3)],
            float_accuracy=0.90, max_drop=0.5, label="onnx int8",
        )  # fmt: skip
    assert "\n" not in str(info.value)
    assert written[-1] == ["l0", "l1", "l2"]  # the last try had every layer in float


def test_fallback_search_finds_the_fewest_layers():
    rows = [{"layer": f"l{i}", "channel_sqnr_db": float(i), "exclude": [f"l{i}"]} for i in range(8)]
    state = {"excluded": []}

    def quantise(excluded):
        state["excluded"] = list(excluded)

    # Accuracy recovers once the 3 worst layers are float.
    fit = accuracy.fit_drop(
        quantise, lambda: 0.9 if len(state["excluded"]) >= 3 else 0.7, lambda: rows,
        float_accuracy=0.9, max_drop=0.5, label="onnx int8",
    )  # fmt: skip
    assert fit.float_layers == ["l0", "l1", "l2"] and state["excluded"] == ["l0", "l1", "l2"]
    assert fit.drop == 0


# --------------------------------------------------------------------------- bad input


def test_accuracy_drop_needs_labelled_data(outlier_run, tmp_path):
    with pytest.raises(UsageError, match="needs labelled held-out data") as info:
        export_model(
            outlier_run, task=LabelledDigits(), calibration="random", max_accuracy_drop=0.5, out=tmp_path / "o"
        )
    assert "\n" not in str(info.value)
    assert not (tmp_path / "o").exists()


def test_cli_bad_quantisation_options_are_one_line_errors(outlier_run, tmp_path, capsys):
    for argv, words in (
        (["--int8", "reduce_rnage=true"], "Did you mean: reduce_range"),
        (["--max-accuracy-drop", "-1"], "max-accuracy-drop"),
        (["--quantize", "none", "--debug-quant"], "add int8 to --quantize"),
        (["--quantize", "int8", "--max-accuracy-drop", "0.5"], "add none to --quantize"),
    ):
        try:
            code = cli.main(["export", str(outlier_run), "--out", str(tmp_path / "o"), *argv])
        except SystemExit as exit_info:  # argparse's own errors
            code = exit_info.code
        assert code == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert words in err[-1], (argv, err)
        assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "o").exists()
