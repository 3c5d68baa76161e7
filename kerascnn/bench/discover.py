"""Which models to benchmark: the files under the given paths, their runtime, precision, task and MACs.

Precision and task come from the export folder's ``manifest.json`` beside a file
(read by :func:`kerascnn.runtime.read_manifest`) when there is one; otherwise the
precision is read from the model graph and the task is :data:`kerascnn.tasks.DEFAULT`.
A Keras model in a training run folder takes the task of the run's ``config.json``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from kerascnn import runtime, tasks
from kerascnn.bench import macs as graph_macs
from kerascnn.bench import roofline
from kerascnn.core.errors import DataNotFoundError, UsageError
from kerascnn.core.layout import FORMAT_SUFFIXES, RunLayout, format_of

#: Model format -> the runtime that times it, as named in the report.
RUNTIMES = {"onnx": "onnxruntime", "tflite": "litert", "keras": "keras"}
#: The file suffixes of :data:`RUNTIMES`, in that order (for messages).
SUFFIXES = tuple(suffix for fmt in RUNTIMES for suffix, found in FORMAT_SUFFIXES.items() if found == fmt)


@dataclasses.dataclass
class Artifact:
    """A model file to benchmark."""

    path: Path
    runtime: str  # onnxruntime | litert | keras
    precision: str  # fp32 | fp16 | dynamic | int8
    size_bytes: int
    macs: int | None = None  # multiply-accumulates per example
    task: str = tasks.DEFAULT  # decides the example inputs (kerascnn.tasks.Task.example_inputs)
    layers: list | None = None  # kerascnn.bench.roofline.Layer rows of its graph (None: no graph read)


def model_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The model files under ``paths`` (folders: every ``.onnx``, ``.tflite``, ``.keras`` inside).

    Cheap: checks names and suffixes only, nothing is loaded.

    Raises:
        DataNotFoundError: a path does not exist, or a folder holds no model.
        UsageError: a file is not a model kerascnn can benchmark, or is empty.
    """
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found = sorted(p for p in entry.iterdir() if format_of(p) in RUNTIMES and p.is_file())
            if not found:
                raise DataNotFoundError(f"No {', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]} model in {entry}")
            files.extend(found)
        elif entry.is_file():
            if format_of(entry) not in RUNTIMES:
                raise UsageError(
                    f"Unknown model format {entry.suffix or '(no suffix)'!r} for {entry}; "
                    f"expected one of {', '.join(SUFFIXES)}."
                )
            files.append(entry)
        else:
            raise DataNotFoundError(f"Model file or folder not found: {entry}")
    if not files:
        raise UsageError("No model to benchmark.")
    files = list(dict.fromkeys(files))  # de-duplicate, keep order
    for path in files:
        if path.stat().st_size == 0:
            raise UsageError(f"Model file {path} is empty.")
    return files


def discover(paths: Iterable[str | os.PathLike]) -> list[Artifact]:
    """Artifacts under ``paths`` (see :func:`model_files`) with precision, task and MACs per example.

    MACs and the roofline's layers are read from the ONNX or TFLite graph
    (:func:`kerascnn.bench.roofline.graph_layers`; the MACs are those of
    :func:`kerascnn.bench.macs.count_macs`); a Keras model takes both from a
    float32 artifact beside it, or its MACs are counted once loaded (which needs TensorFlow).
    """
    artifacts = []
    for path in model_files(paths):
        fmt = format_of(path)
        manifest = _manifest(path)
        precision = _manifest_precision(manifest, path) or graph_precision(path)
        task = tasks.get(manifest.get("task") or _run_task(path)).name  # unknown task: UsageError now
        layers = roofline.graph_layers(path) if fmt != "keras" else None
        macs = sum(layer.macs for layer in layers) or None if layers is not None else None
        artifacts.append(Artifact(path, RUNTIMES[fmt], precision, path.stat().st_size, macs, task, layers))
    for artifact in artifacts:
        if artifact.macs is None:
            siblings = [
                a for a in artifacts if a.path.parent == artifact.path.parent and a.macs and a.precision == "fp32"
            ]
            if siblings:
                artifact.macs, artifact.layers = siblings[0].macs, artifact.layers or siblings[0].layers
    return artifacts


def _manifest(path: Path) -> dict:
    """``manifest.json`` of the export folder holding ``path`` (``{}`` when there is none)."""
    return runtime.read_manifest(path)


def _run_task(path: Path) -> str | None:
    """The task of the training run folder holding ``path`` (``None`` outside run folders)."""
    try:
        config = json.loads(RunLayout(path.parent).config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config.get("task") if isinstance(config, dict) else None


def _manifest_precision(manifest: dict, path: Path) -> str | None:
    for entry in manifest.get("artifacts", []):
        if isinstance(entry, dict) and Path(str(entry.get("file", ""))).name == path.name:
            return entry.get("precision")
    return None


#: ONNX operators of statically quantised graphs (QDQ or QOperator format).
_ONNX_INTEGER_OPS = {"QuantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"}


def graph_precision(path: str | os.PathLike) -> str:
    """``fp32``, ``fp16``, ``dynamic`` or ``int8``, read from the model graph (Keras models: ``fp32``)."""
    path = Path(path)
    fmt = format_of(path)
    if fmt == "onnx":
        model = graph_macs.load_onnx(path)
        ops = {node.op_type for node in model.graph.node}
        if "DynamicQuantizeLinear" in ops:
            return "dynamic"
        if ops & _ONNX_INTEGER_OPS:
            return "int8"
        if any(init.data_type == 10 for init in model.graph.initializer):  # TensorProto.FLOAT16
            return "fp16"
        return "fp32"
    if fmt == "tflite":
        dtypes = [np.dtype(t["dtype"]) for t in graph_macs.load_tflite(path).get_tensor_details()]
        if np.dtype(np.float16) in dtypes:
            return "fp16"
        integer = sum(d in (np.dtype(np.int8), np.dtype(np.uint8)) for d in dtypes)
        if not integer:
            return "fp32"
        # Dynamic-range models keep float activations; full-integer ones are mostly int8.
        return "int8" if integer > sum(d == np.dtype(np.float32) for d in dtypes) else "dynamic"
    return "fp32"
