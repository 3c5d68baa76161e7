"""The training-memory planner: closed-form counts, the measured GPU peak, the measured CPU peak, the command."""

from __future__ import annotations

import json
import subprocess
import sys

import keras
import pytest
from keras import layers

from kerascnn import models
from kerascnn.analysis import memory
from kerascnn.core.errors import UsageError


def tiny_model():
    """8x8x1 -> conv 3x3x4 (no bias) -> BN -> ReLU -> max pool 2 -> flatten -> dense 3 (softmax)."""
    inputs = keras.Input((8, 8, 1))
    x = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(3, activation="softmax")(x))


def test_tiny_model_matches_the_closed_form_count():
    plan = memory.plan(tiny_model(), batch_size=10, optimizer="adam")
    # kept per example: input 64, conv output (BN's input) 256, ReLU output 256 (also the pool's input),
    # pool output 64 (also the dense input: Flatten is a view), softmax output 3
    assert plan.kept_values == 64 + 256 + 256 + 64 + 3
    assert plan.forward_values == 64 + 256 + 64 + 3  # the lecture table: each computed tensor once
    assert plan.gradient_buffer_values == 2 * 256
    assert (plan.params, plan.trainable_params) == (36 + 16 + 195, 36 + 8 + 195)
    assert plan.parameter_bytes == 4 * (247 + 239 * 3)  # weights + gradients + Adam's two slots
    assert plan.total_bytes == plan.parameter_bytes + 10 * 4 * (643 + 512)
    assert plan.largest_batch(plan.total_bytes) == 10
    assert plan.fits(plan.total_bytes) and not plan.fits(plan.total_bytes - 1)
    assert memory.plan(tiny_model(), 10, optimizer="sgd").parameter_bytes == 4 * (247 + 239)
    assert memory.plan(tiny_model(), 10, bytes_per_value=2).activation_bytes == plan.activation_bytes // 2


def test_resnet50_estimate_matches_the_measured_gpu_peak():
    """DESIGN.md: a jit-compiled SGD-momentum step of ResNet-50, batch 64, fp32, peaked at 6.06 GB on an H200."""
    plan = memory.plan(models.build("resnet50"), batch_size=64, optimizer="momentum")
    assert plan.total_bytes == pytest.approx(6.06e9, rel=0.10)
    assert plan.total_bytes / plan.naive_bytes == pytest.approx(1.93, rel=0.10)  # the naive under-count


def test_estimate_matches_the_measured_cpu_step():
    """Peak RSS growth of real training steps (activations + gradients) within 25 % of the estimate."""
    code = """
import json
from kerascnn import models
from kerascnn.analysis import memory
model = models.build("c3d", input_shape=(16, 64, 64, 1), classes=8)
plan = memory.plan(model, 64)
print(json.dumps({"measured": memory.measure_step(model, 64), "estimated": plan.step_bytes}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    assert numbers["measured"] == pytest.approx(numbers["estimated"], rel=0.25)


def test_available_memory_reads_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24000000 kB\nMemFree:  1000 kB\nMemAvailable:   16000000 kB\n")
    found = memory.available_bytes(meminfo)
    assert found is not None and found <= 16_000_000 * 1024
    memory.available_bytes(tmp_path / "missing")  # unreadable: None (or the cgroup's room), never an error


@pytest.mark.parametrize(("text", "expected"), [("8GiB", 8 * 2**30), ("512MB", 512 * 10**6), ("2e9", 2 * 10**9),
                                                 ("1.5 gb", 1_500_000_000)])
def test_memory_sizes_parse(text, expected):
    assert memory.parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["8Gx", "-1GB", "", "GB"])
def test_bad_memory_sizes_are_one_line_errors(text):
    with pytest.raises(UsageError, match="memory size"):
        memory.parse_bytes(text)


def test_memory_command_reports_and_refuses_a_batch_over_the_budget(capsys):
    from kerascnn.cli import main

    assert main(["memory", "c3d", "--input-shape", "16,64,64,1", "--classes", "8", "--batch-size", "64",
                 "--memory-budget", "4GB"]) == 0
    out = capsys.readouterr().out
    assert "backward keeps" in out and "fits; largest batch that fits:" in out
    assert main(["memory", "r3d_18", "--batch-size", "64", "--memory-budget", "8GiB"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerascnn memory: error: r3d_18 at batch 64 needs about") and "\n" not in err
    largest = int(err.rsplit("largest batch that fits is ", 1)[1].rstrip("."))
    plan = memory.plan(models.build("r3d_18"), largest)
    assert plan.total_bytes <= 8 * 2**30 < plan.total_bytes + plan.bytes_per_example


def test_summary_reports_the_same_plan_as_the_memory_command(capsys):
    from kerascnn.cli import main

    argv = ["c3d", "--input-shape", "16,64,64,1", "--classes", "8", "--batch-size", "64", "--memory-budget", "4GB"]
    assert main(["summary", *argv, "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["memory"]
    assert main(["memory", *argv, "--json"]) == 0
    assert planned == {k: v for k, v in json.loads(capsys.readouterr().out).items() if k != "model"}
    assert planned["fits"] is True and planned["largest_batch"] == (4 * 10**9 - planned["parameter_bytes"]) // planned[
        "bytes_per_example"]
    assert main(["summary", *argv[:-1], "8GiB", "--mixed-precision"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "c3d: training at batch 64 with adam, 16-bit activations" in out and "fits;" in out
    assert main(["summary", *argv[:-2], "--batch-size", "100000", "--memory-budget", "1GB"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerascnn summary: error: c3d at batch 100000 needs about") and "\n" not in err
