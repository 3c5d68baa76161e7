"""kerascnn.runtime.labels: class names and top-k."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerascnn.core.errors import UsageError
from kerascnn.runtime.labels import labels_from_manifest, load_labels, top_k


def test_top_k_orders_and_labels():
    probabilities = np.array([0.1, 0.6, 0.05, 0.25])
    best = top_k(probabilities, k=2, labels=["a", "b", "c", "d"])
    assert best == [
        {"class": 1, "label": "b", "probability": pytest.approx(0.6)},
        {"class": 3, "label": "d", "probability": pytest.approx(0.25)},
    ]
    assert len(top_k(probabilities, k=10)) == 4
    with pytest.raises(UsageError, match="4 classes but 2 labels"):
        top_k(probabilities, labels=["a", "b"])


def test_top_k_softmaxes_logits():
    best = top_k(np.array([2.0, -1.0, 0.5]), k=3)
    assert [b["class"] for b in best] == [0, 2, 1]
    assert sum(b["probability"] for b in best) == pytest.approx(1.0)


def test_load_labels_text_and_json(tmp_path):
    (tmp_path / "labels.txt").write_text("cat\n\ndog\n")
    (tmp_path / "labels.json").write_text(json.dumps(["cat", "dog"]))
    assert load_labels(tmp_path / "labels.txt") == load_labels(tmp_path / "labels.json") == ["cat", "dog"]
    with pytest.raises(UsageError, match="holds no labels"):
        (tmp_path / "empty.txt").write_text("\n\n")
        load_labels(tmp_path / "empty.txt")


def test_labels_from_manifest_then_labels_file(tmp_path):
    model = tmp_path / "model.onnx"
    assert labels_from_manifest(model) is None
    (tmp_path / "labels.txt").write_text("x\ny\n")
    assert labels_from_manifest(model) == labels_from_manifest(tmp_path) == ["x", "y"]
    (tmp_path / "manifest.json").write_text(json.dumps({"class_names": ["a", "b"]}))
    assert labels_from_manifest(model) == labels_from_manifest(tmp_path) == ["a", "b"]
