"""``manifest.json``: what an export folder holds, how it was made, how well it matches Keras.

    {"task": "classification",             # the Task that reads the artifacts (kerascnn.tasks)
     "input_mean": 33.6 | null,            # mean raw value of the training inputs (predict's polarity hint)
     "model": {"file", "name", "sha256", "bytes", "input_shape", "output_shape", "params"},
     "artifacts": [{"file", "format", "precision", "sha256", "bytes",
                    "input": {"name", "shape", "dtype"[, "quantization"]}, "outputs": [...],
                    "parity": {"max_abs_diff", "samples", ...the Task's measures}, "settings": {...},
                    "accuracy"?: {"accuracy", "float_accuracy", ...}}],   # with --max-accuracy-drop
     "verification": {"inputs", "samples", "reference_varies", "fp32_tolerance"},
     "calibration": {"dataset", "samples"}, "class_names": [...] | null, "versions": {...},
     "quant_debug"?: {"onnx": {"files", "layers", "by_kind"}, ...}}         # with --debug-quant

An int8 artifact's ``settings`` name the recipe and the CPU it was chosen for
(:mod:`kerascnn.export.int8_settings`: ``reduce_range``, ``chosen_for``,
``portable``), the runtime options it was measured with (``runtime``), and the
layers kept in float32 by ``--max-accuracy-drop`` (``float_nodes`` for ONNX,
``float_tensors`` for TFLite; :mod:`kerascnn.export.accuracy`).

The artifacts are reproducible: exporting the same ``.keras`` file again (same
options, same library versions) gives files with the same ``sha256``. ONNX
graphs are renamed canonically (:func:`kerascnn.export.onnx.canonical_names`);
the TFLite converter is deterministic on its own; onnxruntime's quantisation
starts from the canonical float graph.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
