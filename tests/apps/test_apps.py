"""Smoke tests of the apps/ fit scripts: --help, and a few training steps on the bundled digits."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[2] / "apps"
TRAINING_APPS = ("lenet_mnist", "cifar10_resnet", "transfer_learning", "benchmark_training")


def load_app(name: str):
    spec = importlib.util.spec_from_file_location(f"apps_{name}", APPS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", TRAINING_APPS)
def test_app_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app(name).main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_lenet_mnist_app_runs_a_few_steps(tmp_path):
    out = tmp_path / "lenet.keras"
    result = load_app("lenet_mnist").main(["--dataset", "digits", "--epochs", "1", "--steps", "3", "--out", str(out)])
    assert out.is_file() and 0.0 <= result["test_accuracy"] <= 1.0


def test_cifar10_resnet_app_runs_a_few_steps_offline(tmp_path):
    result = load_app("cifar10_resnet").main(
        ["--dataset", "digits", "--epochs", "1", "--steps", "2", "--run-dir", str(tmp_path / "run")]
    )
    assert result.metrics["epochs_completed"] == 1 and (tmp_path / "run" / "model.keras").is_file()


def test_transfer_learning_app_compares_three_variants(tmp_path):
    out = tmp_path / "transfer"
    results = load_app("transfer_learning").main(
        ["--dataset", "digits", "--per-class", "10", "--pretrain-epochs", "1", "--epochs", "1", "--steps", "2",
         "--out", str(out)]
    )
    assert list(results) == ["from scratch", "linear probe", "fine-tune"]
    assert json.loads((out / "transfer.json").read_text()) == results
    assert (out / "transfer.png").is_file() and (out / "linear-probe" / "model.keras").is_file()


def test_benchmark_app_pipeline_ratio(tmp_path):
    out = tmp_path / "bench.json"
    results = load_app("benchmark_training").main(
        ["--dataset", "digits", "--only", "pipeline", "--pipeline-model", "lenet5", "--steps", "3", "--rounds", "1", "--out", str(out)]
    )
    pipeline = results["pipeline"]
    assert pipeline["pipeline_steps_per_s"] > 0 and pipeline["memory_steps_per_s"] > 0
    assert json.loads(out.read_text())["pipeline"]["ratio"] == pipeline["ratio"]


def test_export_mobilenet_goal_ratios_come_from_one_benchmark_run():
    app = load_app("export_mobilenet")

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
