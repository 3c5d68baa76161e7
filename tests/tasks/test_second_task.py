"""The Task seam: a second kind of problem, written here, goes through every stage unchanged.

A toy regression Task — predict a digit's value (0-9) as one number with mean
squared error, as the issue suggests — wraps a backbone registered in the zoo by
this test, trains through ``kerascnn.training.train``, exports to ONNX and TFLite
with parity, runs in the TensorFlow-free runtime and in bench, without any stage
module knowing about it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kerascnn import models, tasks
from kerascnn.core.layout import ExportLayout, RunLayout
from kerascnn.tasks import Task

MODEL = "toy_value_mlp"


def value_mlp(input_shape=(8, 8, 1), classes=1, name="toy_value_mlp"):
    """A tiny MLP backbone (scaled input, ``classes`` linear outputs)."""
    import keras

    inputs = keras.Input(input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs)
    x = keras.layers.Dense(32, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def squared_error(labels, outputs):
    import keras

    target = keras.ops.cast(keras.ops.reshape(labels, (-1, 1)), "float32")
    return keras.ops.mean(keras.ops.square(outputs - target), axis=-1)


def mae(labels, outputs):
    import keras

    target = keras.ops.cast(keras.ops.reshape(labels, (-1, 1)), "float32")
    return keras.ops.mean(keras.ops.abs(outputs - target), axis=-1)


class DigitValue(Task):
    """Regress the class index as a number: MSE loss, MAE monitored (lower is better)."""

    name = "toy_digit_value"
    monitor = ("mae", "min")

    def build_model(self, config, dataset, x_train):
        import keras

        inputs = keras.Input(dataset.input_shape, dtype="float32", name="image")
        x = keras.layers.Rescaling(1 / 255, name="scaling")(inputs)  # raw pixels in, scaling inside
        outputs = models.build(config.model, input_shape=dataset.input_shape, classes=1)(x)
        return keras.Model(inputs, outputs, name="digit_value")

    def loss(self):
        return squared_error

    def metrics(self):
        return [mae]

    def per_example(self, labels, outputs):
        return {"loss": squared_error(labels, outputs), "mae": mae(labels, outputs)}

    def headline(self, metrics):
        return f"test MAE {metrics['test_mae']:.2f}"

    def present(self, outputs, *, labels=None, k=5):
        return [{"value": float(np.asarray(row).reshape(-1)[0])} for row in outputs]

    def format_record(self, record):
        return f"value {record['value']:.2f}"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    if MODEL not in models.names():
        models.register(MODEL, value_mlp, family="toy", paper="(test)", year=2026, default_input_shape=(8, 8, 1),
                        task=DigitValue.name)
    tasks.register(DigitValue(), replace=True)
    from kerascnn.training import train

    run_dir = tmp_path_factory.mktemp("value") / "run"
    result = train(MODEL, "digits", run_dir=run_dir, epochs=20, optimizer="adam", lr=0.003, schedule="constant", seed=0, quiet=True)
    return result


def test_trains_with_the_tasks_objective(trained):
    run = RunLayout(trained.run_dir)
    config = json.loads(run.config.read_text())
    metrics = json.loads(run.metrics.read_text())
    assert config["task"] == "toy_digit_value"
    assert "test_mae" in metrics and "test_accuracy" not in metrics
    assert metrics["test_mae"] < 1.5  # a constant guess (4.5) is off by 2.5 on average
    assert "val_mae" in trained.history and run.best.is_file()
    assert "test MAE" in trained.summary()


def test_exports_runs_and_benches_without_a_classification_assumption(trained, tmp_path):
    from kerascnn import bench, runtime
    from kerascnn.export import export_model

    out = tmp_path / "export"
    manifest = export_model(trained.run_dir, quantize=["none"], out=out, samples=64)
    layout = ExportLayout(out)
    assert manifest["task"] == "toy_digit_value"
    assert json.loads(layout.manifest.read_text())["task"] == "toy_digit_value"
    assert {(a["format"], a["precision"]) for a in manifest["artifacts"]} == {("onnx", "fp32"), ("tflite", "fp32")}
    for artifact in manifest["artifacts"]:
        assert artifact["parity"]["max_abs_diff"] <= 1e-4
        assert "top1_agreement" not in artifact["parity"]  # argmax of one number means nothing

    from kerascnn import data

    digits = data.load("digits")
    x = digits.x_test[:16].astype("float32")
    expected = np.asarray(trained.model.predict_on_batch(x))
    task = tasks.get(manifest["task"])
    for artifact in manifest["artifacts"]:
        session = runtime.load_runtime(out / artifact["file"])
        outputs = session.run(x)
        np.testing.assert_allclose(outputs, expected, atol=1e-4)
        records = task.present(outputs)
        assert len(records) == 16 and set(records[0]) == {"value"}

    report = bench.benchmark([out], batches=(1,), threads=(1,), runs=3)
    assert {r["runtime"] for r in report["results"]} >= {"onnxruntime", "litert"}
    assert all(r["median_ms"] > 0 for r in report["results"])


def test_runtime_side_needs_no_tensorflow(trained, tmp_path):
    """The exported regression model runs through kerascnn.runtime with the task from its manifest, TF-free."""
    from kerascnn.export import export_model

    out = tmp_path / "export"
    export_model(trained.run_dir, formats=["onnx"], quantize=["none"], out=out, samples=16)
    code = f"""
import sys, numpy as np
from kerascnn import runtime, tasks
from tests_task_stub import DigitValue
tasks.register(DigitValue())
session = runtime.load_runtime({str(out / 'model.onnx')!r})
out = session.run(np.zeros((2, 8, 8, 1), 'float32'))
print(tasks.get('toy_digit_value').present(out))
assert not {{'tensorflow', 'keras'}} & set(sys.modules), 'imported TensorFlow'
"""
    stub = tmp_path / "tests_task_stub.py"
    stub.write_text(
        "import numpy as np\nfrom kerascnn.tasks import Task\n\n"
        "class DigitValue(Task):\n    name = 'toy_digit_value'\n\n"
        "    def present(self, outputs, *, labels=None, k=5):\n"
        "        return [{'value': float(np.asarray(r).reshape(-1)[0])} for r in outputs]\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "'value':" in result.stdout


def test_a_model_whose_task_is_missing_says_so_in_one_line():
    from kerascnn.core.errors import UsageError

    # facenet_nn1's 'embedding' Task exists now (kerascnn.tasks.metric); a missing one is still one line.
    assert tasks.for_model("facenet_nn1").name == "embedding"
    with pytest.raises(UsageError, match=r"Model 'x' has the task 'ranking', and no 'ranking' Task"):
        tasks.get("ranking", model="x")
