"""The export stage: TFLite and ONNX artifacts that compute what the Keras model computes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn import cli  # noqa: E402
from kerascnn.core.errors import DataNotFoundError, UsageError  # noqa: E402
from kerascnn.export import CALIBRATION_SAMPLES, export_model, parity, tflite  # noqa: E402
from kerascnn.tasks.base import Task  # noqa: E402
from kerascnn.tasks.classification import Classification  # noqa: E402

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
    # The run's config.json names no task (written before tasks existed): the default one.
    assert manifest["task"] == "classification"
    from kerascnn import data

    assert manifest["input_mean"] == pytest.approx(float(data.load("digits").x_train.mean()))
    assert manifest["verification"]["fp32_tolerance"] == 1e-4
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
    assert manifest["input_mean"] is None
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
    assert "Did you mean: classification" in _cli_error(capsys, [model, "--task", "clasification", "--out", str(out)])
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


def _sha256s(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("model*"))}


def test_same_model_exports_to_identical_bytes(run_dir, tmp_path):
    # tf2onnx numbers the names it makes from a process-wide counter and records the traced
    # function's name: a second export in the same process used to give a different model.onnx.
    options = dict(formats="tflite,onnx", quantize="none,int8", samples=20, calibration_samples=20)
    first = export_model(run_dir, out=tmp_path / "first", **options)
    second = export_model(run_dir, out=tmp_path / "second", **options)
    assert _sha256s(tmp_path / "first") == _sha256s(tmp_path / "second")
    assert set(_sha256s(tmp_path / "first")) == {"model.onnx", "model_int8.onnx", "model.tflite", "model_int8.tflite"}
    assert [a["sha256"] for a in first["artifacts"]] == [a["sha256"] for a in second["artifacts"]]


def test_int8_conversion_prints_nothing_to_the_terminal(run_dir, tmp_path, capfd):
    export_model(run_dir, formats="tflite", quantize="int8", samples=10, calibration_samples=10, out=tmp_path / "out")
    out, err = capfd.readouterr()
    assert "fully_quantize" not in out + err
    assert "inference_type" not in out + err


def test_export_folder_gets_the_usual_permissions(run_dir, tmp_path):
    old = os.umask(0o002)
    try:
        export_model(run_dir, formats="onnx", quantize="none", calibration="random", samples=4, out=tmp_path / "out")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o775  # not mkdtemp's 0700
    for path in (tmp_path / "out").iterdir():
        assert path.stat().st_mode & 0o777 == 0o664, path.name


def test_cli_on_an_unfinished_run_says_how_to_resume_or_export(run_dir, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    command = "kerascnn train lenet5 --dataset digits --epochs 20"
    (run / "config.json").write_text(json.dumps({"task": "classification", "command": command}))
    (run / "history.csv").write_text("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.0,0.6,1.0\n1,0.7,0.8,0.9,0.5\n")
    (run / "best.keras").write_bytes((run_dir / "model.keras").read_bytes())
    err = _cli_error(capsys, [str(run), "--out", str(tmp_path / "out")])
    assert f"{run} is an unfinished training run (best.keras from epoch 2, no model.keras)" in err
    assert f"`{command} --resume --run-dir {run}`" in err and f"or export {run / 'best.keras'}" in err
    assert cli.main(["export", str(run / "best.keras"), "--formats", "onnx", "--quantize", "none", "--samples", "4",
                     "--out", str(tmp_path / "out")]) == 0  # fmt: skip


class _OnnxOnlyClassification(Classification):
    name = "onnx-only-classification"
    formats = ("onnx",)


def test_the_task_decides_the_formats(run_dir, tmp_path):
    task = _OnnxOnlyClassification()
    with pytest.raises(UsageError, match="onnx-only-classification.*tflite|tflite.*onnx-only-classification") as err:
        export_model(run_dir, task=task, formats="tflite,onnx", out=tmp_path / "refused")
    assert "\n" not in str(err.value)
    manifest = export_model(run_dir, task=task, quantize="none", samples=8, out=tmp_path / "out")
    assert manifest["task"] == "onnx-only-classification"
    assert [a["file"] for a in manifest["artifacts"]] == ["model.onnx"]
    assert not (tmp_path / "refused").exists()


def test_the_run_folder_names_the_task(run_dir, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.keras").write_bytes((run_dir / "model.keras").read_bytes())
    (run / "config.json").write_text(json.dumps({"task": "clasification", "train": {"dataset": "digits"}}))
    with pytest.raises(UsageError, match="Did you mean: classification"):
        export_model(run, out=tmp_path / "out")
    with pytest.raises(UsageError, match="Unknown task"):
        export_model(run_dir, task="segmentation", out=tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="no model.keras .not a kerascnn run folder"):
        export_model(tmp_path / "empty", out=tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "run"]


class _AnyTask(Task):
    """A task with only the base behaviour: the model's own signature, random inputs, max |diff|."""

    name = "any-test-task"


def _token_model():
    """Token ids (T,) int32 -> embedding -> 1D conv -> softmax."""
    inputs = keras.Input((16,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(256, 8)(inputs)
    x = keras.layers.Conv1D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


def _volume_model():
    """A volume (D, H, W, C) -> 3D conv -> softmax."""
    inputs = keras.Input((4, 6, 6, 1), name="volume")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv3D(4, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling3D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize(
    "build, formats, shape, dtype",
    [(_token_model, "tflite,onnx", [None, 16], "int32"), (_volume_model, "onnx", [None, 4, 6, 6, 1], "float32")],
    ids=["token-ids", "volume"],
)
def test_any_input_rank_and_dtype_exports_with_the_models_signature(tmp_path, build, formats, shape, dtype):
    keras.utils.set_random_seed(0)
    build().save(tmp_path / "model.keras")
    manifest = export_model(
        tmp_path / "model.keras", task=_AnyTask(), formats=formats, quantize="none", samples=16, out=tmp_path / "out"
    )
    assert manifest["task"] == "any-test-task" and manifest["input_mean"] is None
    assert manifest["verification"]["reference_varies"] is True
    for item in manifest["artifacts"]:
        assert item["input"]["shape"] == shape and item["input"]["dtype"] == dtype, item["file"]
        assert set(item["parity"]) == {"max_abs_diff", "samples"}
        assert item["parity"]["max_abs_diff"] <= 1e-4


def _tf2onnx_like_graph(offset: int):
    """A graph named the way tf2onnx names nodes, with its name counter at ``offset``."""
    from onnx import TensorProto, helper

    shape = helper.make_tensor_value_info("input", TensorProto.FLOAT, [f"unk__{offset}", 4])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [f"unk__{offset + 1}", 4])
    axes = helper.make_tensor(f"const_axes__{offset + 2}", TensorProto.INT64, [1], [0])
    nodes = [
        helper.make_node("Unsqueeze", ["input", axes.name], [f"Unsqueeze__{offset + 3}:0"], name=f"Unsqueeze__{offset + 3}"),
        helper.make_node("Squeeze", [f"Unsqueeze__{offset + 3}:0", axes.name], ["output"], name="model/Squeeze"),
    ]
    graph = helper.make_graph(nodes, "tf2onnx", [shape], [out], [axes], doc_string=f"converted from b'__inference_{offset}'")
    return helper.make_model(graph, producer_name="tf2onnx")


def test_canonical_names_remove_the_exporting_processs_history():
    from kerascnn.export.onnx import canonical_names

    first, later = _tf2onnx_like_graph(3), _tf2onnx_like_graph(97)
    assert first.SerializeToString() != later.SerializeToString()
    for proto in (first, later):
        canonical_names(proto)
    assert first.SerializeToString() == later.SerializeToString()
    names = [n.name for n in first.graph.node] + [i.name for i in first.graph.initializer]
    assert names == ["Unsqueeze__0", "model/Squeeze", "const_axes__1"]  # numbered in order of appearance
    assert first.graph.doc_string == ""
    assert [d.dim_param for d in first.graph.input[0].type.tensor_type.shape.dim] == ["unk__2", ""]


def test_bad_requests_are_refused_before_tensorflow_loads(run_dir, tmp_path):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text("{}")
    code = f"""
import sys
from kerascnn.core.errors import UsageError
from kerascnn.export import plan_export
for kwargs in ({{"formats": "tflit"}}, {{"quantize": "int4"}}, {{"task": "clasification"}}, {{"model_path": {str(unfinished)!r}}}):
    try:
        plan_export(**{{"model_path": {str(run_dir)!r}, **kwargs}})
    except UsageError as err:
        print(err)
    else:
        raise SystemExit(f"accepted {{kwargs}}")
assert not {{"tensorflow", "keras"}} & set(sys.modules), "imported TensorFlow"
"""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Did you mean: tflite" in result.stdout and "unfinished training run" in result.stdout
