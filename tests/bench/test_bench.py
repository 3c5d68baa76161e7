"""kerascnn.bench and `kerascnn bench`: report schema, MAC counts, machine facts, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import export_tiny

from kerascnn import bench, cli
from kerascnn.core.errors import DataNotFoundError, UsageError

TINY_MACS = 10 * 8 * 4 * 9 + 4 * 5  # conv 3x3 1->4 on 12x10 (valid) + dense 4->5

RESULT_KEYS = {
    "runtime", "precision", "file", "threads", "batch", "median_ms", "p90_ms", "p99_ms", "throughput",
    "size_bytes", "peak_memory_bytes", "macs", "gflops", "gemm_peak_gflops", "int8_gemm_peak_gops", "bound_ms", "peak_fraction", "runs",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return export_tiny(tmp_path_factory.mktemp("bench"))


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_count_macs_from_graph(tiny, fmt):
    assert bench.count_macs(tiny[fmt]) == TINY_MACS


def test_bench_cli_json_schema_and_plot(tiny, tmp_path, capsys):
    report_path, plot_path = tmp_path / "bench.json", tmp_path / "bench.png"
    status = cli.main(
        ["bench", str(tiny["export"]), str(tiny["keras"]), "--batch", "1,2", "--threads", "1", "--runs", "2",
         "--warmup", "1", "--json", str(report_path), "--plot", str(plot_path)]
    )
    out = capsys.readouterr().out
    assert status == 0
    report = json.loads(report_path.read_text())
    results = report["results"]
    # onnx + tflite at 1 thread x 2 batches, Keras in two modes x 2 batches.
    assert sorted((r["runtime"], r["batch"]) for r in results) == sorted(
        (runtime, batch)
        for runtime in ("onnxruntime", "litert", "keras-predict_on_batch", "keras-tf.function")
        for batch in (1, 2)
    )
    for r in results:
        assert set(r) == RESULT_KEYS
        assert r["precision"] == "fp32" and r["runs"] == 2
        assert 0 < r["median_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert r["throughput"] == pytest.approx(r["batch"] / (r["median_ms"] / 1e3), rel=1e-3)
        assert r["size_bytes"] == Path(r["file"]).stat().st_size
        assert r["macs"] == TINY_MACS  # counted from the ONNX/TFLite graph and by kerascnn.analysis.summary
        assert r["gflops"] == pytest.approx(2 * TINY_MACS * r["batch"] / r["median_ms"] / 1e6, rel=0.02, abs=0.01)
        assert r["gemm_peak_gflops"] > 1 and r["int8_gemm_peak_gops"] > 1
        assert r["bound_ms"] == pytest.approx(2 * TINY_MACS * r["batch"] / r["gemm_peak_gflops"] / 1e6, abs=1e-6)
        if r["runtime"] in ("onnxruntime", "litert"):
            assert r["threads"] == 1
            assert r["peak_memory_bytes"] > 1e6  # measured in a fresh process: at least the runtime's buffers
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["gemm_peak_gflops"]["1"] > 1 and machine["int8_gemm_peak_gops"]["1"] > 1
    assert {"onnxruntime", "numpy"} <= set(machine["versions"])
    assert len(machine["load_average"]) == 3
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "median ms" in out and "GEMM peak" in out


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


def test_peak_memory_sees_native_allocations():
    with bench.PeakMemory() as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, allocated by numpy's C code
    del block
    if memory.bytes is None:
        pytest.skip("peak-RSS reset not supported on this kernel")
    assert memory.bytes >= 60 * 2**20


def test_gemm_peaks_are_measured():
    assert bench.gemm_peak_gflops(1, seconds=0.05, sizes=(256,)) > 1.0
    assert bench.int8_gemm_peak_gops(1, seconds=0.05, sizes=(256,)) > 1.0


@pytest.mark.parametrize("precision, limit", [("fp32", 100.0), ("fp16", 100.0), ("int8", 160.0), ("dynamic", 160.0)])
def test_bound_uses_the_peak_of_the_artifacts_arithmetic(precision, limit):
    artifact = bench.Artifact(Path("m.onnx"), "onnxruntime", precision, size_bytes=1, macs=300_000_000)
    config = bench._Config(artifact, "onnxruntime", threads=2, batch=1, times=[0.004] * 3)
    result = bench._summarise(config, peak_gflops=100.0, int8_peak_gops=160.0)
    assert result["bound_ms"] == pytest.approx(2 * 300e6 / (limit * 1e9) * 1e3)
    assert result["peak_fraction"] == pytest.approx(150.0 / limit, abs=1e-3)  # 0.6 GFLOP in 4 ms


def test_discover_errors(tmp_path, tiny):
    with pytest.raises(DataNotFoundError, match="No .onnx, .tflite or .keras model"):
        bench.discover([tmp_path])
    with pytest.raises(DataNotFoundError, match="not found"):
        bench.discover([tmp_path / "missing.onnx"])
    (tmp_path / "weights.h5").write_bytes(b"x")
    with pytest.raises(UsageError, match="Unknown model format '.h5'"):
        bench.discover([tmp_path / "weights.h5"])
    (tmp_path / "broken.onnx").write_bytes(Path(tiny["onnx"]).read_bytes()[:100])
    with pytest.raises(UsageError, match="as an ONNX model"):
        bench.discover([tmp_path / "broken.onnx"])


def test_bench_cli_bad_input_exit_2(tmp_path, capsys):
    assert cli.main(["bench", str(tmp_path / "nothing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_bench_of_exported_files_does_not_import_tensorflow(tiny):
    code = (
        "import sys\n"
        "from kerascnn import cli\n"
        f"status = cli.main(['bench', {str(tiny['onnx'])!r}, '--batch', '1', '--threads', '1', '--runs', '2'])\n"
        "assert status == 0\n"
        "assert 'tensorflow' not in sys.modules, 'bench on an .onnx file imported tensorflow'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
