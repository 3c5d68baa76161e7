"""kerascnn.bench.report: rows bounded by the right peak, readable labels, the chart's panels, the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerascnn import bench
from kerascnn.bench.machine import GemmPeaks
from kerascnn.bench.timing import Config
from kerascnn.core.errors import UsageError


@pytest.mark.parametrize("precision, limit", [("fp32", 100.0), ("fp16", 100.0), ("int8", 160.0), ("dynamic", 160.0)])
def test_bound_uses_the_peak_of_the_artifacts_arithmetic(precision, limit):
    artifact = bench.Artifact(Path("m.onnx"), "onnxruntime", precision, size_bytes=1, macs=300_000_000)
    config = Config(artifact, "onnxruntime", threads=2, batch=1, times=[0.004] * 3)
    result = bench.summarise(config, GemmPeaks({1: 50.0, 2: 100.0}, {1: 90.0, 2: 160.0}))
    assert result["bound_ms"] == pytest.approx(2 * 300e6 / (limit * 1e9) * 1e3)
    assert result["peak_fraction"] == pytest.approx(150.0 / limit, abs=1e-3)  # 0.6 GFLOP in 4 ms
    assert result["gemm_peak_gflops"] == 100.0 and result["int8_gemm_peak_gops"] == 160.0  # the row's threads


def _row(file, runtime, precision, threads, batch, median_ms):
    return {"file": f"exports/demo/{file}", "runtime": runtime, "precision": precision, "threads": threads,
            "batch": batch, "median_ms": median_ms, "p90_ms": median_ms, "p99_ms": median_ms,
            "throughput": batch / median_ms * 1e3, "size_bytes": 4096, "peak_memory_bytes": None, "macs": None,
            "gflops": None, "peak_fraction": None}


REPORT = {
    "results": [
        _row("model.onnx", "onnxruntime", "fp32", 1, 1, 4.0),
        _row("model_int8.tflite", "litert", "int8", 2, 1, 1.5),
        _row("model.onnx", "onnxruntime", "fp32", 1, 8, 30.0),
        _row("model_int8.tflite", "litert", "int8", 2, 8, 9.0),
    ],
    "machine": {"cpu": "Test CPU", "cores": 2, "cpu_flags": ["avx2"], "load_average": [0.5, 0.5, 0.5],
                **GemmPeaks({1: 60.0, 2: 110.0}, {1: 95.0, 2: 180.0}).to_json()},
    "settings": {"runs": 50},
}


def test_result_label_is_readable():
    assert bench.result_label(REPORT["results"][3]) == "model_int8.tflite (int8) in litert, 2 threads, batch 8"
    assert bench.result_label(REPORT["results"][0]) == "model.onnx (fp32) in onnxruntime, 1 thread, batch 1"


def test_chart_has_a_panel_per_batch_size_with_readable_labels():
    panels = bench.chart_panels(REPORT)
    assert [p.title for p in panels] == ["batch 1: 1 input per call", "batch 8: 8 inputs per call"]
    assert panels[1].labels == [  # fastest first
        "model_int8.tflite (int8) in litert, 2 threads",
        "model.onnx (fp32) in onnxruntime, 1 thread",
    ]
    assert panels[1].values == [9.0, 30.0]
    assert panels[0].notes[0] == "1.5 ms, 667/s"
    assert panels[1].notes == ["9 ms, 889/s", "30 ms, 267/s"]
    assert all(p.xlabel == "median latency per call, ms (lower is better)" for p in panels)
    assert [p.title for p in bench.chart_panels(REPORT, batch=8)] == ["batch 8: 8 inputs per call"]
    assert bench.report.chart_title(REPORT) == (
        "kerascnn bench: latency per configuration on Test CPU (2 cores), median of 50 timed calls"
    )


def test_plot_writes_a_png_with_every_batch(tmp_path):
    path = bench.plot(REPORT, tmp_path / "bench.png")
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(UsageError, match="no results at batch 3"):
        bench.plot(REPORT, tmp_path / "none.png", batch=3)
    assert not (tmp_path / "none.png").exists()


def test_table_shows_one_peak_per_thread_count():
    table = bench.format_table(REPORT)
    lines = table.splitlines()
    assert lines[2].startswith("model_int8.tflite") and lines[4].startswith("model_int8.tflite")  # fastest first
    assert "machine: Test CPU (avx2), 2 cores; load average 0.50" in table
    assert ("GEMM peak: 1 thread 60 GFLOP/s float32 (numpy), 95 GOP/s int8 (onnxruntime); "
            "2 threads 110 GFLOP/s float32 (numpy), 180 GOP/s int8 (onnxruntime)") in table
    assert table.count("GOP/s") == 2


def test_format_size():
    assert [bench.format_size(n) for n in (812, 13 * 2**20 + 2**19, 3 * 2**30)] == ["812 B", "13.5 MB", "3.0 GB"]
