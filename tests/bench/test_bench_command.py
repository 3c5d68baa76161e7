"""`kerascnn bench`: the report schema end to end, bad input, no TensorFlow for exported files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kerascnn import cli

RESULT_KEYS = {
    "runtime", "precision", "file", "threads", "batch", "median_ms", "p90_ms", "p99_ms", "throughput",
    "size_bytes", "peak_memory_bytes", "macs", "gflops", "gemm_peak_gflops", "int8_gemm_peak_gops", "bound_ms",
    "peak_fraction", "runs",
    # start-up and spread, as onnxruntime_perf_test and LiteRT's benchmark_model report them
    "init_ms", "first_inference_ms", "warmup_ms", "min_ms", "mean_ms", "std_ms", "p95_ms",
    # the roofline: the compute-only bound, the row's DRAM bandwidth, bound / median
    "gemm_bound_ms", "memory_bandwidth_gbs", "bound_fraction",
}


def test_bench_cli_json_schema_and_plot(tiny, tmp_path, capsys):
    report_path, plot_path = tmp_path / "bench.json", tmp_path / "bench.png"
    status = cli.main(
        ["bench", str(tiny["export"]), str(tiny["keras"]), "--batch", "1,2", "--threads", "1", "--runs", "2",
         "--warmup", "1", "--json", str(report_path), "--plot", str(plot_path)]
    )
    captured = capsys.readouterr()
    out = captured.out
    assert status == 0
    report = json.loads(report_path.read_text())
    results = report["results"]
    # onnx + tflite at 1 thread x 2 batches, Keras in two modes x 2 batches.
    assert sorted((r["runtime"], r["batch"]) for r in results) == sorted(
        (runtime, batch)
        for runtime in ("onnxruntime", "litert", "keras-predict_on_batch", "keras-tf.function")
        for batch in (1, 2)
    )
    tiny_macs = tiny["macs"]
    for r in results:
        assert set(r) == RESULT_KEYS
        assert r["precision"] == "fp32" and r["runs"] == 2
        assert 0 < r["median_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert r["throughput"] == pytest.approx(r["batch"] / (r["median_ms"] / 1e3), rel=1e-3)
        assert r["size_bytes"] == Path(r["file"]).stat().st_size
        assert r["macs"] == tiny_macs  # counted from the ONNX/TFLite graph and by kerascnn.analysis.summary
        assert r["gflops"] == pytest.approx(2 * tiny_macs * r["batch"] / r["median_ms"] / 1e6, rel=0.02, abs=0.01)
        assert r["gemm_peak_gflops"] > 1 and r["int8_gemm_peak_gops"] > 1
        assert r["gemm_bound_ms"] == pytest.approx(
            2 * tiny_macs * r["batch"] / r["gemm_peak_gflops"] / 1e6, abs=1e-6
        )
        assert r["bound_ms"] >= r["gemm_bound_ms"]  # the roofline adds the memory traffic of every layer
        assert r["bound_fraction"] == pytest.approx(r["bound_ms"] / r["median_ms"], rel=0.01, abs=1e-3)
        assert r["init_ms"] > 0 and r["first_inference_ms"] > 0 and r["warmup_ms"] is None  # --warmup 1
        assert 0 < r["min_ms"] <= r["median_ms"] <= r["p90_ms"] <= r["p95_ms"] <= r["p99_ms"]
        assert r["min_ms"] <= r["mean_ms"] and r["std_ms"] >= 0
        assert r["memory_bandwidth_gbs"] > 0
        if r["runtime"] in ("onnxruntime", "litert"):
            assert r["threads"] == 1
            assert r["peak_memory_bytes"] > 1e6  # measured in a fresh process: at least the runtime's buffers
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["gemm_peak_gflops"]["1"] > 1 and machine["int8_gemm_peak_gops"]["1"] > 1
    assert machine["memory_bandwidth_gbs"]["1"] > 0 and machine["cache_bandwidth_gbs"]["1"] > 0
    assert set(machine["isa"]) == {"avx2", "avx512", "vnni", "amx", "bf16"}
    assert {"onnxruntime", "numpy"} <= set(machine["versions"])
    assert len(machine["load_average"]) == 3
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "median ms" in out and "GEMM peak" in out
    # One int8 (and one float32) peak per thread count in the whole run: progress, table, JSON.
    int8 = machine["int8_gemm_peak_gops"]["1"]
    assert f"{int8:.0f} GOP/s int8" in out
    assert [line for line in captured.err.splitlines() if "GOP/s" in line] == [
        line for line in captured.err.splitlines() if f"{int8:.0f} GOP/s int8" in line
    ]


def test_bench_cli_bad_input_exit_2(tmp_path, capsys):
    assert cli.main(["bench", str(tmp_path / "nothing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_bench_cli_refuses_a_wrong_file_before_importing_tensorflow(tmp_path):
    (tmp_path / "weights.h5").write_bytes(b"x")
    code = (
        "import sys\n"
        "from kerascnn import cli\n"
        f"assert cli.main(['bench', {str(tmp_path / 'weights.h5')!r}]) == 2\n"
        "assert 'tensorflow' not in sys.modules, 'a mistyped bench argument imported tensorflow'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Unknown model format '.h5'" in done.stderr


def test_bench_of_exported_files_does_not_import_tensorflow(tiny):
    code = (
        "import sys\n"
        "from kerascnn import cli\n"
        f"status = cli.main(['bench', {str(tiny['onnx'])!r}, '--batch', '1', '--threads', '1', '--runs', '2'])\n"
        "assert status == 0\n"
        "assert 'tensorflow' not in sys.modules, 'bench on an .onnx file imported tensorflow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_bench_cli_profile_prints_time_per_layer_kind_beside_the_bound(tiny, tmp_path, capsys):
    report_path = tmp_path / "bench.json"
    status = cli.main(["bench", str(tiny["export"]), "--batch", "1", "--threads", "1", "--runs", "3", "--warmup", "2",
                       "--profile", "--json", str(report_path)])
    out = capsys.readouterr().out
    assert status == 0
    report = json.loads(report_path.read_text())
    (profile,) = report["profiles"]  # the ONNX model; LiteRT has no per-operator profiler
    assert Path(profile["file"]).name == "model.onnx" and profile["runs"] == 3
    kinds = {row["kind"]: row for row in profile["kinds"]}
    assert kinds["first conv"]["layers"] == 1 and kinds["first conv"]["macs"] == 10 * 8 * 4 * 9
    assert kinds["first conv"]["measured_ms"] > 0 and kinds["dense"]["macs"] == 4 * 5
    assert sum(row["share"] for row in profile["kinds"]) == pytest.approx(1.0, abs=1e-3)
    assert "profile: model.onnx (fp32) in onnxruntime, 1 thread, batch 1" in out
    assert "first conv" in out and "LiteRT: no per-layer profile" in out
    assert report["profile_notes"] and "LiteRT" in report["profile_notes"][0]
