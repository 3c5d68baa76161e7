"""The ``manifest.json`` of an export folder, read without TensorFlow.

``kerascnn export`` writes every artifact of a model into one folder together
with a manifest (see :mod:`kerascnn.export.manifest` and
:class:`kerascnn.core.layout.ExportLayout`). The runtime reads four things from it:
which artifact to run when given the folder, the model's ``task`` (how to read
inputs and present outputs), its ``class_names`` and its ``input_mean`` (the mean
raw value of the training inputs, for the polarity warning of ``kerascnn predict``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from kerascnn.core.errors import DataNotFoundError, UsageError, first_line, unknown_name_message
from kerascnn.core.layout import ExportLayout


def export_layout(path: str | os.PathLike) -> ExportLayout:
    """The export folder of ``path``: the folder itself, or the folder a model file sits in."""
    path = Path(path)
    return ExportLayout(path if path.is_dir() else path.parent)


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of the export folder ``path`` (or of the folder holding the model ``path``).

    Returns ``{}`` when there is none or it cannot be read: artifacts copied
    out of their export folder still run, with default settings.
    """
    manifest = export_layout(path).manifest
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def artifact_files(manifest: dict) -> list[str]:
    """File names of the artifacts a manifest lists, in its order."""
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, list):
        return []
    return [str(a["file"]) for a in artifacts if isinstance(a, dict) and a.get("file")]


def resolve_model(path: str | os.PathLike, artifact: str | None = None) -> Path:
    """The model file to run for ``path``: the file itself, or an artifact of an export folder.

    For a folder: ``artifact`` (a file name listed in its manifest) when given,
    else the float32 ONNX model when the manifest lists it, else its first artifact.

    Raises:
        DataNotFoundError: ``path`` does not exist.
        UsageError: a folder without a manifest, a manifest without artifacts,
            an unknown ``artifact``, or ``artifact`` given with a model file.
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"Model file not found: {path}")
    if not path.is_dir():
        if artifact is not None:
            raise UsageError(f"--artifact chooses a file inside an export folder; {path} is a model file.")
        return path
    layout = ExportLayout(path)
    if not layout.is_export():
        raise UsageError(
            f"{path} is a folder without {layout.manifest.name}: pass an export folder or a .onnx/.tflite file."
        )
    try:
        manifest = json.loads(layout.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise UsageError(f"Cannot read {layout.manifest}: {first_line(err)}") from None
    files = artifact_files(manifest if isinstance(manifest, dict) else {})
    if artifact is not None:
        if artifact not in files:
            raise UsageError(unknown_name_message("artifact", artifact, files))
        return layout.path / artifact
    if not files:
        raise UsageError(f"{layout.manifest} lists no artifacts.")
    preferred = layout.artifact("onnx", "fp32").name
    return layout.path / (preferred if preferred in files else files[0])


def task_name(manifest: dict) -> str | None:
    """The manifest's top-level ``task`` (``None`` for folders written before tasks existed)."""
    name = manifest.get("task")
    return str(name) if name else None


def input_mean(manifest: dict) -> float | None:
    """The mean raw value of the training inputs, when the export recorded it."""
    value = manifest.get("input_mean")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
