"""The export benchmark's goal checks (moved out of apps/export_mobilenet.py, which is an example)."""

from __future__ import annotations

from test_apps import load_app


def test_export_goal_ratios_come_from_one_benchmark_run():
    app = load_app("benchmark_export")

    def row(runtime, precision, threads, ms):
        return {"runtime": runtime, "precision": precision, "threads": threads, "batch": 1, "median_ms": ms,
                "gemm_peak_gflops": 300.0 if threads == 2 else 150.0, "int8_gemm_peak_gops": 480.0}

    def artifact(fmt, precision, size, agreement):
        return {"format": fmt, "precision": precision, "bytes": size, "parity": {"top1_agreement": agreement}}

    point = {
        "macs": 300_000_000,
        "bench": [row("litert", "fp32", 1, 8.0), row("litert", "fp32", 2, 4.0), row("onnxruntime", "fp32", 2, 5.0),
                  row("litert", "int8", 2, 5.0), row("onnxruntime", "int8", 2, 2.0)],
        "artifacts": [artifact("tflite", "fp32", 1000, 1.0), artifact("tflite", "int8", 310, 0.98),
                      artifact("onnx", "fp32", 1000, 1.0), artifact("onnx", "int8", 280, 0.995)],
        "machine": {"load_average": [0.1, 0.1, 0.1], "cpu_flags": ["avx512f"]},
    }
    report = app.check_goals(point)
    assert report["gemm_bound_ms"] == 2.0 and report["int8_gemm_bound_ms"] == 1.25
    assert report["best_int8"] == "onnxruntime int8"
    measured = {name: goal["measured"] for name, goal in report["goals"].items()}
    assert measured == {
        "fp32_vs_gemm_bound": 2.0, "int8_speedup_vs_tflite_fp32": 2.0, "int8_top1_agreement": 0.995,
        "ort_int8_speedup_vs_ort_fp32": 2.5, "ort_int8_vs_tflite_int8": 0.4, "int8_size_ratio": 0.31,
    }
    assert [name for name, goal in report["goals"].items() if goal["met"]] == [
        "int8_top1_agreement", "ort_int8_speedup_vs_ort_fp32", "ort_int8_vs_tflite_int8"]


def test_export_benchmark_runs_the_story_for_the_goal_point():
    app = load_app("benchmark_export")
    args = app.parse_args(["--dataset", "mnist", "--data-dir", "data", "--threads", "1,2", "--out", "o"])
    story = app.story.parse_args(app.story_arguments(args))
    assert (story.versions, story.widths, story.resolutions) == (["v2"], [1.0], [224])
    assert (story.dataset, story.data_dir, story.threads, story.out) == ("mnist", "data", [1, 2], "o")


def test_export_benchmark_rebench_needs_an_earlier_run(tmp_path):
    import pytest

    from kerascnn.core.errors import UsageError

    with pytest.raises(UsageError, match="No earlier run"):
        load_app("benchmark_export").main(["--rebench", "--out", str(tmp_path)])


def test_export_goal_against_the_roofline_bound_of_the_fastest_fp32_row():
    app = load_app("benchmark_export")

    def row(runtime, precision, ms, bound_ms):
        return {"runtime": runtime, "precision": precision, "threads": 2, "batch": 1, "median_ms": ms,
                "gemm_peak_gflops": 300.0, "int8_gemm_peak_gops": 480.0, "bound_ms": bound_ms}

    point = {
        "macs": 300_000_000,
        "bench": [row("litert", "fp32", 4.0, 2.5), row("onnxruntime", "fp32", 5.0, 2.5),
                  row("litert", "int8", 3.0, 1.0), row("onnxruntime", "int8", 2.0, 1.0)],
        "artifacts": [{"format": f, "precision": p, "bytes": 1000 if p == "fp32" else 250,
                       "parity": {"top1_agreement": 1.0}} for f in ("tflite", "onnx") for p in ("fp32", "int8")],
        "machine": {"load_average": [0.1, 0.1, 0.1], "cpu_flags": ["avx512_vnni"]},
    }
    report = app.check_goals(point)
    assert report["best_fp32"] == "litert fp32" and report["best_fp32_roofline_bound_ms"] == 2.5
    assert report["goals"]["fp32_vs_roofline_bound"] == {"measured": 1.6, "goal": "<= 1.5", "met": False}
