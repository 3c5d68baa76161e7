"""The volume Task: 5-D clips through training, ONNX export with parity, the TF-free runtime and bench."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kerascnn import tasks
from kerascnn.core.errors import UsageError
from kerascnn.data import moving_mnist
from kerascnn.data.base import VolumeDataset

CLIP = (4, 32, 32, 1)
TINY_C3D = {"width": 4, "fc_units": 32, "dropout": 0.0}


def tiny_clips() -> VolumeDataset:
    """800 / 200 moving-blob clips of 4x32x32 (8 directions): learnable in seconds."""
    rng = np.random.default_rng(0)
    digits = np.zeros((1000, 28, 28), np.uint8)
    digits[:, 6:22, 8:20] = rng.integers(64, 256, (1000, 16, 12))
    x_train, y_train = moving_mnist.make_clips(digits[:800], frames=4, size=32, speed=2, seed=0)
    x_test, y_test = moving_mnist.make_clips(digits[800:], frames=4, size=32, speed=2, seed=1)
    return VolumeDataset("tiny_clips", x_train, y_train, x_test, y_test, list(moving_mnist.DIRECTIONS), "blobs")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from kerascnn.training import train

    run_dir = tmp_path_factory.mktemp("volume") / "run"
    return train("c3d", tiny_clips(), run_dir=run_dir, epochs=6, batch_size=32, lr=0.005, seed=0, quiet=True,
                 model_kwargs=TINY_C3D)


def test_volume_models_get_the_volume_task():
    for name in ("voxnet", "c3d", "r3d_18", "mc3_18", "r2plus1d_18"):
        assert tasks.for_model(name).name == "volume"
    assert tasks.get("volume").formats == ("onnx",)


def test_c3d_learns_the_direction_of_motion_from_raw_clips(trained):
    assert trained.metrics["task"] == "volume"
    assert trained.metrics["input_shape"] == list(CLIP)
    assert trained.metrics["test_accuracy"] > 0.6  # chance is 1/8
    clips = tiny_clips().x_test[:4].astype("float32")  # raw 0-255 values: the scaling is inside
    probabilities = np.asarray(trained.model.predict_on_batch(clips))
    assert probabilities.shape == (4, 8)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    config = json.loads((trained.run_dir / "config.json").read_text())
    assert config["task"] == "volume" and config["data"]["input_shape"] == list(CLIP)


def test_exports_to_onnx_with_parity_and_runs_in_the_runtime_and_bench(trained, tmp_path):
    from kerascnn import bench, runtime
    from kerascnn.export import export_model

    out = tmp_path / "export"
    manifest = export_model(trained.run_dir / "model.keras", quantize=["none"], calibration="random", out=out,
                            samples=16)
    assert manifest["task"] == "volume"
    [artifact] = manifest["artifacts"]
    assert artifact["format"] == "onnx" and artifact["parity"]["max_abs_diff"] < 1e-4
    clips = tiny_clips().x_test[:8].astype("float32")
    session = runtime.load_runtime(out / "model.onnx")
    assert tuple(session.input_shape) == CLIP
    outputs = session.run(clips)
    np.testing.assert_allclose(outputs, trained.model.predict_on_batch(clips), atol=1e-4)
    report = bench.benchmark([out], batches=(2,), threads=(1,), runs=2)
    assert {r["runtime"] for r in report["results"]} >= {"onnxruntime"}


def test_tflite_is_refused_in_one_line_before_converting(trained, tmp_path):
    from kerascnn.export.pipeline import plan_export

    with pytest.raises(UsageError, match=r"cannot be exported to tflite.*supports onnx") as err:
        plan_export(trained.run_dir / "model.keras", formats="tflite", out=tmp_path / "x")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "x").exists()


def test_predict_reads_npy_volumes_without_tensorflow(trained, tmp_path):
    from kerascnn.export import export_model

    out = tmp_path / "export"
    export_model(trained.run_dir / "model.keras", quantize=["none"], calibration="random", out=out, samples=8)
    clip = tiny_clips().x_test[0]
    np.save(tmp_path / "clip.npy", clip[..., 0])  # (D, H, W): the channel axis is added
    np.save(tmp_path / "wrong.npy", np.zeros((3, 32, 32, 1), np.uint8))
    code = f"""
import sys
from kerascnn import runtime
from kerascnn.runtime.labels import labels_from_manifest
from kerascnn.runtime.predict import predict_files, task_of
from kerascnn.core.errors import UsageError
path = {str(out / 'model.onnx')!r}
task = task_of(path)
result = predict_files(runtime.load_runtime(path), [{str(tmp_path / 'clip.npy')!r}], k=1, task=task,
                       labels=labels_from_manifest(path))
print(task.name, result["predictions"][0]["top_k"][0]["label"])
try:
    predict_files(runtime.load_runtime(path), [{str(tmp_path / 'wrong.npy')!r}], task=task)
except UsageError as err:
    print("refused:", err)
assert not {{'tensorflow', 'keras'}} & set(sys.modules), 'imported TensorFlow'
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    name, label = result.stdout.splitlines()[0].split()
    assert name == "volume" and label in moving_mnist.DIRECTIONS
    assert "refused:" in result.stdout and "(3, 32, 32, 1)" in result.stdout


def test_bad_volume_inputs_are_one_line_errors(tmp_path):
    task = tasks.get("volume")
    with pytest.raises(UsageError, match="depth, height, width, channels"):
        task.load_inputs([tmp_path / "a.npy"], (32, 32, 1))
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(UsageError, match=r"\.npy"):
        task.load_inputs([tmp_path / "a.png"], CLIP)
    (tmp_path / "b.npy").write_bytes(b"not numpy")
    with pytest.raises(UsageError, match="Cannot read"):
        task.load_inputs([tmp_path / "b.npy"], CLIP)
    assert task.example_inputs(CLIP, 3).shape == (3, *CLIP)


@pytest.mark.slow
def test_train_command_on_moving_mnist(shared_data, tmp_path):
    """``kerascnn train c3d --dataset moving_mnist`` through the CLI (small settings)."""
    from kerascnn.cli import main

    run_dir = tmp_path / "run"
    code = main(["train", "c3d", "--dataset", "moving_mnist", "--data-dir", str(shared_data), "--epochs", "1",
                 "--steps-per-epoch", "3", "--batch-size", "8", "--model-arg", "width=2", "--model-arg",
                 "fc_units=16", "--run-dir", str(run_dir), "--quiet"])
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["task"] == "volume" and metrics["input_shape"] == [16, 64, 64, 1]
    assert metrics["test_samples"] == 2000


def test_an_image_model_on_volumes_is_refused_in_one_line(tmp_path):
    """A 2D classifier given 3D samples says which model kind fits instead of a Keras call traceback."""
    from kerascnn.core.errors import UsageError
    from kerascnn.training import train

    with pytest.raises(UsageError, match=r"lenet5 takes samples like 32x32x1 but shapes3d holds 32x32x32x1"):
        train("lenet5", "shapes3d", epochs=1, run_dir=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run" / "model.keras").exists()
