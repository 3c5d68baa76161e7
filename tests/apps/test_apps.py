"""Smoke tests of the apps/ scripts: --help, a few training steps on the bundled digits, and the
checks every app makes before it trains (one-line errors, exit 2, nothing written)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerascnn.core.layout import ExportLayout, RunLayout

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "apps"
TRAINING_APPS = ("lenet_mnist", "cifar10_resnet", "transfer_learning", "benchmark_training")
ALL_APPS = TRAINING_APPS + ("export_mobilenet", "benchmark_export", "ort_demo")
#: TensorFlow's start-up noise that no app may print.
NOISE = ("cuInit", "absl", "oneDNN", "cuda drivers", "cpu_feature_guard")


def load_app(name: str):
    spec = importlib.util.spec_from_file_location(f"apps_{name}", APPS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_app(name: str, *args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python apps/NAME.py ARGS`` as a user runs it (TensorFlow log level left to the app)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, str(APPS / f"{name}.py"), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_one_line_error(process: subprocess.CompletedProcess, name: str, *words: str) -> None:
    assert process.returncode == 2, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{name}.py: error: "), process.stderr
    assert "Traceback" not in process.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("name", ALL_APPS)
def test_app_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app(name).main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_lenet_mnist_app_runs_a_few_steps(tmp_path):
    out = tmp_path / "lenet.keras"
    result = load_app("lenet_mnist").main(["--dataset", "digits", "--epochs", "1", "--steps", "3", "--out", str(out)])
    assert out.is_file() and 0.0 <= result["test_accuracy"] <= 1.0


@pytest.mark.parametrize("out", ["model.h5", "model"])
def test_lenet_mnist_refuses_a_non_keras_out_before_training(tmp_path, out):
    # Issue 8 item 4: it used to train fully, then die in model.save with a Keras traceback.
    start = time.perf_counter()
    process = run_app("lenet_mnist", "--dataset", "digits", "--out", out, cwd=tmp_path)
    assert time.perf_counter() - start < 10
    assert_one_line_error(process, "lenet_mnist", ".keras", out)
    assert "Epoch" not in process.stdout and "test accuracy" not in process.stdout  # no training ran
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_lenet_mnist_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "lenet.keras"
    out.write_bytes(b"an earlier model")
    process = run_app("lenet_mnist", "--dataset", "digits", "--out", str(out))
    assert_one_line_error(process, "lenet_mnist", "--force")
    assert out.read_bytes() == b"an earlier model"


def test_apps_refuse_bad_outputs_before_any_work(tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    cases = [
        ("cifar10_resnet", "--dataset", "digits", "--run-dir", str(busy)),
        ("transfer_learning", "--dataset", "digits", "--out", str(busy)),
        ("benchmark_training", "--dataset", "digits", "--out", str(tmp_path / "results.txt")),
        ("export_mobilenet", "--out", str(busy)),
        ("benchmark_export", "--out", str(busy)),
    ]
    for name, *args in cases:
        start = time.perf_counter()
        process = run_app(name, *args)
        assert_one_line_error(process, name)
        assert time.perf_counter() - start < 10, name
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["busy", "keep.txt"]


def test_apps_reject_bad_numbers_in_one_line(tmp_path):
    process = run_app("lenet_mnist", "--epochs", "0")
    assert process.returncode == 2 and "positive integer" in process.stderr and "Traceback" not in process.stderr


def test_apps_import_tensorflow_quietly(tmp_path):
    # Issue 8 item 6: no TensorFlow banner, no cuInit error on a CPU-only machine.
    help_run = run_app("lenet_mnist", "--help")
    assert help_run.returncode == 0 and help_run.stderr == ""
    process = run_app("lenet_mnist", "--dataset", "digits", "--epochs", "1", "--steps", "1",
                      "--out", str(tmp_path / "m.keras"))
    assert process.returncode == 0, process.stderr
    noisy = [line for line in process.stderr.splitlines() if any(word in line for word in NOISE)]
    assert noisy == []


def test_cifar10_resnet_app_runs_a_few_steps_offline(tmp_path):
    result = load_app("cifar10_resnet").main(
        ["--dataset", "digits", "--epochs", "1", "--steps", "2", "--run-dir", str(tmp_path / "run")]
    )
    assert result.metrics["epochs_completed"] == 1 and RunLayout(tmp_path / "run").model.is_file()


def test_transfer_learning_app_compares_three_variants(tmp_path):
    out = tmp_path / "transfer"
    results = load_app("transfer_learning").main(
        ["--dataset", "digits", "--per-class", "10", "--pretrain-epochs", "1", "--epochs", "1", "--steps", "2",
         "--out", str(out)]
    )
    assert list(results) == ["from scratch", "linear probe", "fine-tune"]
    assert json.loads((out / "transfer.json").read_text()) == results
    assert (out / "transfer.png").is_file() and RunLayout(out / "linear-probe").model.is_file()


def test_benchmark_app_pipeline_ratio(tmp_path):
    out = tmp_path / "bench.json"
    results = load_app("benchmark_training").main(
        ["--dataset", "digits", "--only", "pipeline", "--pipeline-model", "lenet5", "--steps", "3", "--rounds", "1", "--out", str(out)]
    )
    pipeline = results["pipeline"]
    assert pipeline["pipeline_steps_per_s"] > 0 and pipeline["memory_steps_per_s"] > 0
    assert json.loads(out.read_text())["pipeline"]["ratio"] == pipeline["ratio"]


def test_ort_demo_help_names_the_quickstart_export(capsys):
    # Issue 8 item 8: --help named exports/quickstart/model.onnx, which the quickstart never writes.
    from kerascnn import quickstart

    app = load_app("ort_demo")
    assert app.DEFAULT_MODEL == ExportLayout(quickstart.DEFAULT_OUT / "export").artifact("onnx", "fp32")
    with pytest.raises(SystemExit):
        app.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert str(app.DEFAULT_MODEL) in text and "exports/quickstart/model.onnx" not in text


def test_ort_demo_without_a_quickstart_says_what_to_run(tmp_path):
    process = run_app("ort_demo", cwd=tmp_path)
    assert_one_line_error(process, "ort_demo", "kerascnn quickstart")


def test_export_mobilenet_help_describes_what_it_does(capsys):
    with pytest.raises(SystemExit):
        load_app("export_mobilenet").main(["--help"])
    text = capsys.readouterr().out
    assert "--weights" not in text and "imagenet" not in text.lower()
    assert "--train-samples" in text and "Train MobileNets" in text


def test_export_mobilenet_has_no_goal_checks_and_its_own_training_loop_is_gone():
    source = (APPS / "export_mobilenet.py").read_text()
    for word in ("check_goals", "GOALS", ".fit(", ".compile(", "keras.optimizers"):
        assert word not in source
    assert "training.trainer import train" in source or "training import train" in source
    assert "export_model(" in source and "bench.benchmark(" in source


def fake_point(version="v2", width=1.0, resolution=224, macs=300_000_000, scale=1.0):
    rows = [("litert", "fp32", 4.0), ("litert", "int8", 5.0), ("onnxruntime", "fp32", 5.0),
            ("onnxruntime", "int8", 2.0)]
    return {
        "version": version, "width": width, "resolution": resolution, "params": 3_500_000, "macs": macs,
        "accuracy": 0.9,
        "bench": [{"runtime": r, "precision": p, "threads": 2, "batch": 1, "median_ms": ms * scale,
                   "file": "model.onnx"} for r, p, ms in rows],
        "artifacts": [{"format": f, "precision": p, "bytes": 1000 if p == "fp32" else 300}
                      for f in ("tflite", "onnx") for p in ("fp32", "int8")],
    }


def test_export_mobilenet_table_and_plot_from_sweep_points(tmp_path):
    app = load_app("export_mobilenet")
    points = [fake_point(resolution=96, macs=60_000_000, scale=0.3), fake_point(),
              fake_point("v1", 0.5, 128, 50_000_000, 0.4)]
    table = app.format_table(points).splitlines()
    assert len(table) == 2 + len(points) and "| v2 | 1.0 | 224 | 3.50 M | 300 M | 90.0% |" in table[3]
    path = app.plot_latency_vs_macs(points, tmp_path / "latency_vs_macs.png")
    assert Path(path).stat().st_size > 1000


def test_export_mobilenet_plot_uses_plain_numbers(tmp_path, monkeypatch):
    # The old plot labelled log axes "7x10^-1" and overlapped its point labels.
    from kerascnn.analysis import plots

    app = load_app("export_mobilenet")
    captured = {}
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: captured.setdefault("fig", fig) and str(path))
    app.plot_latency_vs_macs([fake_point(resolution=96, macs=60_000_000, scale=0.2), fake_point()],
                             tmp_path / "p.png")
    ax = captured["fig"].axes[0]
    captured["fig"].canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    assert labels and all("10^" not in t and "$" not in t for t in labels)
    assert len(ax.texts) == 0  # no point labels to overlap: the legend and sweep.md name them


@pytest.mark.slow
def test_export_mobilenet_smallest_sweep_trains_exports_and_benchmarks(tmp_path):
    out = tmp_path / "sweep"
    results = load_app("export_mobilenet").main(
        ["--versions", "v2", "--widths", "0.35", "--resolutions", "96", "--train-samples", "64", "--epochs", "1",
         "--test-samples", "32", "--verify-samples", "16", "--runs", "3", "--out", str(out)])
    (point,) = results["points"]
    assert {(a["format"], a["precision"]) for a in point["artifacts"]} == {
        ("tflite", "fp32"), ("tflite", "int8"), ("onnx", "fp32"), ("onnx", "int8")}
    assert (out / "sweep.md").is_file() and (out / "latency_vs_macs.png").is_file()
    assert ExportLayout(out / "mobilenet_v2_0.35_96" / "export").is_export()
