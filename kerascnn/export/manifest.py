"""``manifest.json``: what an export folder holds, how it was made, how well it matches Keras.

    {"model": {...}, "artifacts": [{"file", "format", "precision", "sha256", "bytes",
      "input": {"name", "shape", "dtype"}, "outputs": [...],
      "parity": {"max_abs_diff", "top1_agreement", "samples"}, "settings": {...}}],
     "calibration": {...}, "class_names": [...] | null, "versions": {...}}
"""

from __future__ import annotations

import hashlib
import sys
from importlib import metadata
from pathlib import Path

MANIFEST_NAME = "manifest.json"
LABELS_NAME = "labels.txt"

# Distribution names whose versions decide what an artifact contains.
_PACKAGES = ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def versions() -> dict:
    """Versions of Python, kerascnn and the converters/runtimes used."""
    import kerascnn

    found = {"python": sys.version.split()[0], "kerascnn": kerascnn.__version__}
    for package in _PACKAGES:
        try:
            found[package.replace("-", "_")] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package.replace("-", "_")] = None
    return found


def artifact_entry(
    path: Path, *, fmt: str, precision: str, io: tuple[dict, list[dict]], parity: dict, settings: dict
) -> dict:
    """One ``artifacts`` entry for the file at ``path``."""
    model_input, outputs = io
    return {
        "file": path.name,
        "format": fmt,
        "precision": precision,
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "input": model_input,
        "outputs": outputs,
        "parity": parity,
        "settings": settings,
    }


def model_entry(model_path: Path, model) -> dict:
    """The ``model`` entry: where the Keras model came from and its signature."""
    return {
        "file": str(model_path.resolve()),
        "name": model.name,
        "sha256": sha256(model_path),
        "bytes": model_path.stat().st_size,
        "input_shape": [None, *model.input_shape[1:]],
        "output_shape": [None, *model.output_shape[1:]],
        "params": int(model.count_params()),
    }
