"""kerascnn.bench.timing: inputs from the Task, any input rank, one GEMM peak per thread count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kerascnn import bench, tasks
from kerascnn.bench import machine, timing
from kerascnn.tasks.base import Task


class ProbeTask(Task):
    """Records what the benchmark asks for; inputs of 7s."""

    name = "bench-probe"

    def __init__(self):
        self.asked = []

    def example_inputs(self, input_shape, batch, rng=None):
        self.asked.append((tuple(input_shape), batch))
        return np.full((batch, *input_shape), 7.0, np.float32)


@pytest.fixture
def probe(monkeypatch):
    task = ProbeTask()
    tasks.names()  # load the built-in tasks first
    monkeypatch.setitem(tasks._REGISTRY, task.name, task)
    return task


def test_example_inputs_come_from_the_manifests_task(tiny, tmp_path, probe):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.tflite").write_bytes(Path(tiny["tflite"]).read_bytes())
    (folder / "manifest.json").write_text(json.dumps({"task": probe.name, "artifacts": []}))
    (artifact,) = bench.discover([folder])
    assert artifact.task == probe.name
    call = timing.runtime_call(artifact.path, threads=1, batch=3, task=artifact.task)
    assert probe.asked == [((12, 10, 1), 3)]  # the artifact's input shape (from the runtime) and the batch
    assert call().shape == (3, 5)


def test_runtime_call_takes_inputs_of_any_rank(tmp_path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((6, 2), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), tmp_path / "dense.onnx")
    out = timing.runtime_call(tmp_path / "dense.onnx", threads=1, batch=4)()
    assert out.shape == (4, 2)


def test_one_run_reports_one_gemm_peak_per_thread_count(tiny, monkeypatch):
    """The peaks are measured before and after the rounds; only the better one may appear anywhere."""
    measured = {"fp32": iter([41.234, 55.555]), "int8": iter([123.456, 98.765])}
    monkeypatch.setattr(machine, "gemm_peak_gflops", lambda threads, **kw: next(measured["fp32"]))
    monkeypatch.setattr(machine, "int8_gemm_peak_gops", lambda threads, **kw: next(measured["int8"]))
    messages = []
    report = bench.benchmark(
        [tiny["onnx"]], batches=(1,), threads=(1,), runs=2, warmup=1, progress=messages.append
    )
    fp32, int8 = 55.6, 123.5  # the better of before and after, rounded once
    assert report["machine"]["gemm_peak_gflops"] == {"1": fp32}
    assert report["machine"]["int8_gemm_peak_gops"] == {"1": int8}
    (row,) = report["results"]
    assert row["gemm_peak_gflops"] == fp32 and row["int8_gemm_peak_gops"] == int8
    assert row["gemm_bound_ms"] == pytest.approx(2 * tiny["macs"] / (fp32 * 1e9) * 1e3, abs=1e-6)
    assert row["bound_ms"] >= row["gemm_bound_ms"]
    printed = [m for m in messages if "GOP/s" in m]
    assert len(printed) == 1 and "56 GFLOP/s float32" in printed[0] and "124 GOP/s int8" in printed[0]
    assert "99 GOP/s" not in "\n".join(messages) + bench.format_table(report)
    assert "124 GOP/s int8" in bench.format_table(report)
