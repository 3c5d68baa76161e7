"""`kerascnn quickstart`: the README's main command, end to end, and its pieces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import export_tiny

from kerascnn import cli, quickstart


def test_refuses_to_overwrite_previous_result(tmp_path, capsys, monkeypatch):
    import kerascnn.training.trainer

    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing")

    monkeypatch.setattr(kerascnn.training.trainer, "train", no_training)  # refused before any training
    out = tmp_path / "quickstart"
    out.mkdir()
    (out / "keep.txt").write_text("previous result")
    assert cli.main(["quickstart", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and len(err.strip().splitlines()) == 1
    assert (out / "keep.txt").read_text() == "previous result"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_classify_samples_writes_pngs_and_scores(tmp_path):
    from kerascnn import data

    tiny = export_tiny(tmp_path / "tiny", classes=10)
    digits = data.load("digits")
    result = quickstart.classify_samples(
        tiny["onnx"], digits.x_test[:4], digits.y_test[:4], tmp_path / "samples", class_names=digits.class_names
    )
    pngs = sorted((tmp_path / "samples").glob("*.png"))
    assert len(pngs) == 4 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    assert [p["true"] for p in result["predictions"]] == digits.y_test[:4].tolist()
    assert all(len(p["top_k"]) == 3 for p in result["predictions"])
    expected = np.mean([p["top_k"][0]["class"] == p["true"] for p in result["predictions"]])
    assert result["accuracy"] == pytest.approx(expected)


#: Lines native libraries print when nobody stops them (TensorFlow start-up, the TFLite converter, XNNPACK).
LOG_NOISE = ("absl::InitializeLog", "cuInit", "oneDNN", "cuda drivers", "XNNPACK", "fully_quantize",
             "inference_type", "cpu_feature_guard", "I0000", "W0000", "E0000")


def test_quickstart_end_to_end(tmp_path):
    """The README's main command, as a user runs it (fresh process, default environment): ~20 s on 2 cores."""
    out = tmp_path / "qs"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kerascnn", "quickstart", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=600)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert seconds < 180, f"quickstart took {seconds:.0f} s (budget: 3 minutes on 2 cores)"
    # Only the four progress lines on stderr; no TensorFlow / LiteRT log lines anywhere (issue 8).
    assert [line[:5] for line in done.stderr.strip().splitlines()] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert not [word for word in LOG_NOISE if word in done.stdout + done.stderr]

    metrics = json.loads((out / "run" / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95
    manifest = json.loads((out / "export" / "manifest.json").read_text())
    kinds = {(a["format"], a["precision"]) for a in manifest["artifacts"]}
    assert kinds == {("tflite", "fp32"), ("tflite", "int8"), ("onnx", "fp32"), ("onnx", "int8")}
    for artifact in manifest["artifacts"]:
        assert (out / "export" / artifact["file"]).is_file()
        if artifact["precision"] == "fp32":
            assert artifact["parity"]["max_abs_diff"] <= 1e-4
        else:
            assert artifact["parity"]["top1_agreement"] >= 0.95
    report = json.loads((out / "bench.json").read_text())
    assert {r["runtime"] for r in report["results"]} >= {"onnxruntime", "litert", "keras-predict_on_batch"}
    assert all(Path(r["file"]).exists() for r in report["results"])  # paths point at the final folder
    assert (out / "bench.png").read_bytes()[:4] == b"\x89PNG"
    predictions = json.loads((out / "predictions.json").read_text())
    assert predictions["accuracy"] >= 0.75
    assert "written:" in table and str(out / "export" / "manifest.json") in table
    assert not list(tmp_path.glob(".qs.*"))  # no temporary folder left behind
    from PIL import Image

    with Image.open(sorted((out / "samples").glob("*.png"))[0]) as sample:
        assert sample.size == (64, 64)  # the 8x8 digits enlarged to be seen; predict reads them back exactly
