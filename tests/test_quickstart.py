"""`kerascnn quickstart`: the README's main command, end to end, and its pieces."""

from __future__ import annotations

import json
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


def test_quickstart_end_to_end(tmp_path, capsys):
    """The README's main command (~25 s on 2 idle cores; the budget is 3 minutes)."""
    out = tmp_path / "qs"
    start = time.perf_counter()
    assert cli.main(["quickstart", "--out", str(out)]) == 0
    seconds = time.perf_counter() - start
    table = capsys.readouterr().out
    assert seconds < 180, f"quickstart took {seconds:.0f} s (budget: 3 minutes on 2 cores)"

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
