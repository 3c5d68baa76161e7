"""The export stage: TFLite and ONNX artifacts that compute what the Keras model computes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn import cli  # noqa: E402
from kerascnn.core.errors import UsageError  # noqa: E402
from kerascnn.export import CALIBRATION_SAMPLES, export_model, parity, tflite  # noqa: E402

ALL_PRECISIONS = "none,fp16,dynamic,int8"


@keras.saving.register_keras_serializable(package="kerascnn_tests")
class CumulativeProduct(keras.layers.Layer):
    """``tf.math.cumprod`` has no TFLite builtin kernel (it needs a Flex op)."""

    def call(self, x):
        return keras.ops.cumprod(x, axis=1)


def _digits_cnn(x_train):
    """A small CNN on raw 8x8 pixels: Normalization constants, BN, conv, dense (~80k weights)."""
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Normalization(mean=float(x_train.mean()), variance=float(x_train.var()))(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A trained model in a run folder whose config.json names its data set (digits)."""
    from kerascnn import data

    dataset = data.load("digits")
    keras.utils.set_random_seed(0)
    model = _digits_cnn(dataset.x_train.astype("float32"))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(dataset.x_train, dataset.y_train, epochs=8, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    assert accuracy > 0.9, f"fixture model did not learn digits: {accuracy:.3f}"
    folder = tmp_path_factory.mktemp("run")
    model.save(folder / "model.keras")
    config = {"train": {"dataset": "digits", "data_dir": None}, "data": {"classes": dataset.class_names}}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    """Every format x precision, calibrated and verified on digits (from the run's config)."""
    out = tmp_path_factory.mktemp("exports") / "digits_cnn"
    manifest = export_model(run_dir, formats="tflite,onnx", quantize=ALL_PRECISIONS, out=out)
    return out, manifest


def _artifact(manifest, fmt, precision):
    (item,) = [a for a in manifest["artifacts"] if a["format"] == fmt and a["precision"] == precision]
    return item


def test_manifest_lists_every_supported_artifact_with_its_hash(exported):
    out, manifest = exported
    assert json.loads((out / "manifest.json").read_text()) == manifest
    produced = {(a["format"], a["precision"]) for a in manifest["artifacts"]}
    assert produced == {
        ("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "dynamic"), ("tflite", "int8"),
        ("onnx", "fp32"), ("onnx", "dynamic"), ("onnx", "int8"),
    }  # fmt: skip
    for item in manifest["artifacts"]:
        data = (out / item["file"]).read_bytes()
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["bytes"] == len(data)
        assert set(item["parity"]) == {"max_abs_diff", "top1_agreement", "samples"}
        assert item["parity"]["samples"] == 360  # all of digits' test split (the default asks for 500)
        assert item["outputs"][0]["shape"] == [None, 10]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", "labels.txt"] + [a["file"] for a in manifest["artifacts"]]
    )
    assert manifest["model"]["name"] == "digits_cnn"
    assert manifest["model"]["input_shape"] == [None, 8, 8, 1]
    assert manifest["class_names"] == [str(i) for i in range(10)]
    assert (out / "labels.txt").read_text().split() == manifest["class_names"]
    assert manifest["calibration"]["dataset"] == "digits"
    assert manifest["calibration"]["samples"] == CALIBRATION_SAMPLES
    assert manifest["verification"]["reference_varies"] is True
    for package in ("tensorflow", "keras", "onnx", "onnxruntime", "tf2onnx", "ai_edge_litert"):
        assert manifest["versions"][package]


def test_float32_artifacts_match_keras(exported):
    _, manifest = exported
    for fmt in ("tflite", "onnx"):
        check = _artifact(manifest, fmt, "fp32")["parity"]
        assert check["max_abs_diff"] <= 1e-4
        assert check["top1_agreement"] == 1.0


def test_quantized_artifacts_agree_and_shrink(exported):
    _, manifest = exported
    for fmt in ("tflite", "onnx"):
        fp32 = _artifact(manifest, fmt, "fp32")
        int8 = _artifact(manifest, fmt, "int8")
        assert int8["parity"]["top1_agreement"] >= 0.9, fmt
        assert int8["bytes"] < 0.5 * fp32["bytes"], fmt
        dynamic = _artifact(manifest, fmt, "dynamic")
        assert dynamic["parity"]["top1_agreement"] >= 0.9, fmt
        assert dynamic["bytes"] < 0.5 * fp32["bytes"], fmt
    fp16 = _artifact(manifest, "tflite", "fp16")
    assert fp16["parity"]["max_abs_diff"] < 1e-2
    assert fp16["bytes"] < 0.6 * _artifact(manifest, "tflite", "fp32")["bytes"]
    int8 = _artifact(manifest, "tflite", "int8")
    assert int8["input"]["dtype"] == "int8" and int8["outputs"][0]["dtype"] == "int8"
    assert set(int8["input"]["quantization"]) == {"scale", "zero_point"}
    assert _artifact(manifest, "onnx", "int8")["settings"]["activations"] == "uint8"


def test_onnx_graph_is_valid_with_named_input_and_dynamic_batch(exported, run_dir):
    import onnx
    import onnxruntime as ort

    out, manifest = exported
    model = keras.saving.load_model(run_dir / "model.keras")
    x = np.random.default_rng(1).uniform(0, 255, (5, 8, 8, 1)).astype("float32")
    expected = model.predict(x, verbose=0)
    for precision in ("fp32", "int8"):
        path = out / _artifact(manifest, "onnx", precision)["file"]
        onnx.checker.check_model(onnx.load(path), full_check=True)
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        (model_input,) = session.get_inputs()
        assert model_input.name == "input"
        assert model_input.type == "tensor(float)"
        assert model_input.shape[1:] == [8, 8, 1] and not isinstance(model_input.shape[0], int)
        for batch in (1, 5):
            (got,) = session.run(None, {"input": x[:batch]})
            assert got.shape == (batch, 10)
            if precision == "fp32":
                np.testing.assert_allclose(got, expected[:batch], atol=1e-4)
    assert _artifact(manifest, "onnx", "fp32")["input"] == {"name": "input", "shape": [None, 8, 8, 1], "dtype": "float32"}


def test_tflite_batch_dimension_is_resizable(exported, run_dir):
    from ai_edge_litert.interpreter import Interpreter

    out, manifest = exported
    model = keras.saving.load_model(run_dir / "model.keras")
    x = np.random.default_rng(2).uniform(0, 255, (5, 8, 8, 1)).astype("float32")
    interpreter = Interpreter(model_path=str(out / _artifact(manifest, "tflite", "fp32")["file"]))
    (detail,) = interpreter.get_input_details()
    assert list(detail["shape_signature"]) == [-1, 8, 8, 1]
    for batch in (1, 5):
        interpreter.resize_tensor_input(detail["index"], [batch, 8, 8, 1])
        interpreter.allocate_tensors()
        interpreter.set_tensor(detail["index"], x[:batch])
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        np.testing.assert_allclose(got, model.predict(x[:batch], verbose=0), atol=1e-4)


def test_flex_op_model_is_refused_with_the_op_name(tmp_path):
    inputs = keras.Input((4, 4, 1))
    outputs = keras.layers.Flatten()(CumulativeProduct()(inputs))
    keras.Model(inputs, outputs).save(tmp_path / "flex.keras")
    with pytest.raises(tflite.FlexOpsError, match="Cumprod"):
        export_model(tmp_path / "flex.keras", formats="tflite", quantize="none", calibration="random", out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unsupported_ops_are_parsed_from_converter_messages():
    message = (
        "error: 'tf.Erfinv' op is neither a custom op nor a flex op\n"
        "TF Select ops: Cumprod, Lgamma\nDetails:\n"
    )
    assert tflite.unsupported_ops(message) == ["Cumprod", "Erfinv", "Lgamma"]


def test_existing_folder_needs_force_and_survives_a_failed_export(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(UsageError, match="--force"):
        export_model(run_dir, formats="onnx", quantize="none", out=out)

    # A float32 artifact that disagrees with Keras fails the export; --force does not
    # touch the old folder until a complete new one exists.
    real_outputs = parity.artifact_outputs
    monkeypatch.setattr(parity, "artifact_outputs", lambda path, x: real_outputs(path, x) + 1e-3)
    with pytest.raises(parity.ParityError, match="differs from the Keras model"):
        export_model(run_dir, formats="tflite", quantize="none", out=out, force=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]

    # Ctrl-C half-way: same guarantee, and no temporary folder is left behind.
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(parity, "artifact_outputs", real_outputs)
    monkeypatch.setattr("kerascnn.export.tflite.convert_tflite", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_model(run_dir, formats="tflite,onnx", quantize="none", out=out, force=True)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]

    monkeypatch.undo()
    manifest = export_model(run_dir, formats="onnx", quantize="none", calibration="random", out=out, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["labels.txt", "manifest.json", "model.onnx"]
    assert manifest["verification"]["inputs"].startswith("uniform random")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_degenerate_model_is_flagged(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", kernel_initializer="zeros")(x)
    keras.Model(inputs, outputs).save(tmp_path / "flat.keras")
    with pytest.warns(UserWarning, match="same output for every input"):
        manifest = export_model(
            tmp_path / "flat.keras", formats="tflite", quantize="none", calibration="digits", out=tmp_path / "out"
        )
    assert manifest["verification"]["reference_varies"] is False


def _cli_error(capsys, argv):
    assert cli.main(["export", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_cli_bad_inputs_are_one_line_errors_without_output(run_dir, tmp_path, capsys):
    out = tmp_path / "out"
    model = str(run_dir / "model.keras")
    assert "not found" in _cli_error(capsys, [str(tmp_path / "missing.keras"), "--out", str(out)])
    (tmp_path / "notes.keras").write_text("not a model")
    assert "Cannot load" in _cli_error(capsys, [str(tmp_path / "notes.keras"), "--out", str(out)])
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes((run_dir / "model.keras").read_bytes()[:2000])
    assert "Cannot load" in _cli_error(capsys, [str(truncated), "--out", str(out)])
    (tmp_path / "model.h5").write_bytes(b"\x89HDF")
    assert ".keras" in _cli_error(capsys, [str(tmp_path / "model.h5"), "--out", str(out)])
    assert "Did you mean: tflite" in _cli_error(capsys, [model, "--formats", "tflit", "--out", str(out)])
    assert "Did you mean: int8" in _cli_error(capsys, [model, "--quantize", "int4", "--out", str(out)])
    assert "Did you mean: mnist" in _cli_error(capsys, [model, "--calibration", "mnits", "--out", str(out)])
    empty = tmp_path / "no-data"
    empty.mkdir()
    err = _cli_error(capsys, [model, "--calibration", "mnist", "--data-dir", str(empty), "--out", str(out)])
    assert "mnist" in err
    assert "not supported" in _cli_error(capsys, [model, "--formats", "onnx", "--quantize", "fp16", "--out", str(out)])
    assert "opset >= 13" in _cli_error(capsys, [model, "--formats", "onnx", "--opset", "11", "--out", str(out)])
    assert not out.exists()


def test_cli_writes_the_default_folder_and_prints_a_table(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["export", str(run_dir), "--formats", "tflite", "--quantize", "none", "--samples", "20"]) == 0
    out = Path("exports") / run_dir.name
    assert (out / "model.tflite").is_file() and (out / "manifest.json").is_file()
    table = capsys.readouterr().out
    assert "model.tflite" in table and "fp32" in table


def test_cli_sample_counts(run_dir, tmp_path):
    out = tmp_path / "int8"
    argv = ["export", str(run_dir), "--formats", "onnx", "--quantize", "int8", "--samples", "20",
            "--calibration-samples", "40", "--out", str(out)]
    assert cli.main(argv) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["calibration"]["samples"] == 40
    assert manifest["artifacts"][0]["parity"]["samples"] == 20
