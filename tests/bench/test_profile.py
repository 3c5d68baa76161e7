"""kerascnn.bench.profile: onnxruntime's per-operator times matched to the roofline's layers."""

from __future__ import annotations

import pytest

from kerascnn import bench
from kerascnn.bench.machine import GemmPeaks
from kerascnn.bench.profile import LITERT_NOTE, assign, format_profile, profile_onnx
from kerascnn.bench.roofline import Layer


def test_operators_are_matched_by_the_names_onnxruntime_gives_them():
    layers = [
        Layer("stem/conv", "Conv", "first conv", 10, 10, 10, ("stem/conv", "stem/conv:0", "stem/relu", "stem/relu:0")),
        Layer("block1/dw", "Conv", "depthwise", 10, 10, 10, ("block1/dw", "block1/dw:0")),
    ]
    measured, unmatched = assign(layers, {
        ("Conv", "stem/relu:0_nchwc"): 0.5,  # Conv + ReLU fused, named after the ReLU's output, NCHWc layout
        ("Conv", "block1/dw"): 0.25,
        ("ReorderOutput", "ReorderOutput"): 0.125,  # a layout conversion onnxruntime added
        ("ReorderInput", "stem/conv:0_reorder"): 0.0625,  # never credited to a layer, whatever its name
    })
    assert measured == [0.5, 0.25]
    assert unmatched == {("ReorderOutput", "ReorderOutput"): 0.125, ("ReorderInput", "stem/conv:0_reorder"): 0.0625}


def test_profile_of_the_tiny_onnx_model(tiny):
    (artifact,) = bench.discover([tiny["onnx"]])
    peaks = GemmPeaks({1: 100.0}, {1: 400.0}, memory={1: 10.0}, cache={1: 40.0})
    profile = profile_onnx(artifact.path, artifact.layers, peaks, threads=1, runs=4, warmup=1)
    assert len(profile.measured_ms) == len(artifact.layers) and profile.runs == 4
    assert profile.run_ms > 0 and sum(profile.measured_ms) > 0
    data = profile.to_json()
    kinds = {row["kind"]: row for row in data["kinds"]}
    assert kinds["first conv"]["measured_ms"] > 0 and kinds["first conv"]["bound_ms"] > 0
    assert data["bound_ms"] == pytest.approx(bench.model_bound_ms(artifact.layers, "fp32", 1, 1, peaks), abs=1e-4)
    assert len(data["slowest_over_bound"]) == min(5, len(artifact.layers))
    text = format_profile(data)
    assert text.startswith("profile: model.onnx (fp32) in onnxruntime, 1 thread, batch 1")
    assert "first conv" in text and "x bound" in text
    assert "no per-layer profile" in LITERT_NOTE
