"""Class names and the top-k classes of a classifier's output row."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError
from kerascnn.runtime.manifest import export_layout, read_manifest


def load_labels(path: str | os.PathLike) -> list[str]:
    """Class names from a text file (one per line) or a JSON list."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Labels file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            labels = json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"Labels file {path} is not valid JSON: {err}") from None
        if not isinstance(labels, list):
            raise UsageError(f"Labels file {path} must hold a JSON list of names.")
        labels = [str(x) for x in labels]
    else:
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise UsageError(f"Labels file {path} holds no labels.")
    return labels


def labels_from_manifest(model_path: str | os.PathLike) -> list[str] | None:
    """Class names saved by ``kerascnn export`` beside ``model_path`` (a model file or export folder), if any.

    Looks for ``class_names`` in the manifest, then for the labels file.
    """
    names = read_manifest(model_path).get("class_names")
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    labels = export_layout(model_path).labels
    return load_labels(labels) if labels.is_file() else None


def as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """``outputs`` if they already are probabilities (softmax head), else their softmax."""
    outputs = np.asarray(outputs, dtype=np.float32)
    sums = outputs.sum(axis=-1)
    # Quantised softmax outputs (steps of 1/256) sum to 1 only approximately.
    if outputs.min() >= 0 and np.allclose(sums, 1.0, atol=0.05):
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, k: int = 5, labels: Sequence[str] | None = None) -> list[dict]:
    """The ``k`` most probable classes of one output row, most probable first.

    Returns ``[{"class": int, "label": str, "probability": float}, ...]``; the
    label is the class index as text when no labels are known.
    """
    row = as_probabilities(np.asarray(probabilities).reshape(-1))
    if labels is not None and len(labels) != len(row):
        raise UsageError(f"The model has {len(row)} classes but {len(labels)} labels were given.")
    order = np.argsort(-row, kind="stable")[: max(1, min(int(k), len(row)))]
    return [
        {"class": int(i), "label": str(labels[i]) if labels is not None else str(int(i)), "probability": float(row[i])}
        for i in order
    ]
