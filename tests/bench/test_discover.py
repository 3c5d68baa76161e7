"""kerascnn.bench.discover: which files, their runtime, precision and task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kerascnn import bench
from kerascnn.core.errors import DataNotFoundError, UsageError


def test_precision_from_manifest_and_from_graph(tiny, tmp_path):
    from onnxruntime.quantization import quantize_dynamic

    folder = tmp_path / "export"
    folder.mkdir()
    quantize_dynamic(str(tiny["onnx"]), str(folder / "dyn.onnx"))
    (folder / "fp32.tflite").write_bytes(Path(tiny["tflite"]).read_bytes())
    (folder / "manifest.json").write_text(json.dumps({"artifacts": [{"file": "fp32.tflite", "precision": "fp16"}]}))
    found = {a.path.name: a for a in bench.discover([folder])}
    assert found["dyn.onnx"].precision == "dynamic" and found["dyn.onnx"].runtime == "onnxruntime"
    assert found["fp32.tflite"].precision == "fp16"  # the manifest is believed over the graph
    assert found["fp32.tflite"].runtime == "litert"


def test_task_from_the_manifest_beside_the_artifact(tiny, tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(Path(tiny["onnx"]).read_bytes())
    (artifact,) = bench.discover([folder])
    assert artifact.task == "classification"  # no manifest: tasks.DEFAULT
    (folder / "manifest.json").write_text(json.dumps({"task": "classification", "artifacts": []}))
    assert bench.discover([folder])[0].task == "classification"
    (folder / "manifest.json").write_text(json.dumps({"task": "segmentaton", "artifacts": []}))
    with pytest.raises(UsageError, match="Unknown task 'segmentaton'"):
        bench.discover([folder])


def test_keras_model_takes_the_macs_of_its_fp32_sibling(tiny):
    found = {a.path.name: a for a in bench.discover([tiny["export"], tiny["keras"]])}
    assert found["model.keras"].runtime == "keras" and found["model.keras"].precision == "fp32"
    assert found["model.keras"].macs is None  # different folder: counted once loaded
    assert found["model.onnx"].macs == found["model.tflite"].macs == tiny["macs"]


def test_discover_errors(tmp_path, tiny):
    with pytest.raises(DataNotFoundError, match="No .onnx, .tflite or .keras model"):
        bench.discover([tmp_path])
    with pytest.raises(DataNotFoundError, match="not found"):
        bench.discover([tmp_path / "missing.onnx"])
    (tmp_path / "weights.h5").write_bytes(b"x")
    with pytest.raises(UsageError, match="Unknown model format '.h5'"):
        bench.discover([tmp_path / "weights.h5"])
    (tmp_path / "empty.tflite").write_bytes(b"")
    with pytest.raises(UsageError, match="is empty"):
        bench.model_files([tmp_path / "empty.tflite"])
    (tmp_path / "broken.onnx").write_bytes(Path(tiny["onnx"]).read_bytes()[:100])
    with pytest.raises(UsageError, match="as an ONNX model"):
        bench.discover([tmp_path / "broken.onnx"])
