"""Smoke tests of the apps/ fit scripts: --help, and a few training steps on the bundled digits."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

APPS = Path(__file__).resolve().parents[1] / "apps"
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
