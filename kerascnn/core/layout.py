"""The one description of the folders kerascnn writes: run folders and export folders.

Every stage, command and app finds a file through these names, never a string of its own::

    RUN_DIR/
      config.json     everything needed to rerun (options, seed, task, versions, command)
      history.csv     one row per finished epoch (loss, metrics, val_*, lr, epoch_seconds)
      metrics.json    test scores, epochs, replicas, train time, loss-curve diagnosis
      model.keras     the final model; takes the data set's raw values
      best.keras      the best epoch by the task's monitored validation metric
      curves.png      loss and metrics, train vs validation
      lr.png          the learning rate per epoch
      logs/           TensorBoard (``tensorboard --logdir RUN_DIR/logs``)
      backup/         Keras BackupAndRestore state while a run is unfinished

    EXPORT_DIR/
      manifest.json   what each artifact is, its task, signature, parity, versions
      labels.txt      class names, one per line (classifiers)
      model.onnx, model_int8.onnx, model.tflite, model_fp16.tflite, model_int8.tflite ...
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Artifact suffix -> format name; the one table the stages and commands share.
FORMAT_SUFFIXES = {".keras": "keras", ".onnx": "onnx", ".tflite": "tflite"}
#: Export format -> its file suffix.
EXPORT_SUFFIXES = {"tflite": ".tflite", "onnx": ".onnx"}


def format_of(path: str | os.PathLike) -> str | None:
    """``"keras"``, ``"onnx"``, ``"tflite"`` from the file suffix (case-insensitive), else ``None``."""
    return FORMAT_SUFFIXES.get(Path(path).suffix.lower())


def artifact_name(fmt: str, precision: str) -> str:
    """``model.onnx``, ``model_int8.tflite``, ... (float32 has no precision tag)."""
    tag = "" if precision == "fp32" else f"_{precision}"
    return f"model{tag}{EXPORT_SUFFIXES[fmt]}"


@dataclass(frozen=True)
class RunLayout:
    """Paths inside one training run folder."""

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    config = property(lambda self: self.path / "config.json")
    history = property(lambda self: self.path / "history.csv")
    metrics = property(lambda self: self.path / "metrics.json")
    model = property(lambda self: self.path / "model.keras")
    best = property(lambda self: self.path / "best.keras")
    curves = property(lambda self: self.path / "curves.png")
    lr_plot = property(lambda self: self.path / "lr.png")
    logs = property(lambda self: self.path / "logs")
    backup = property(lambda self: self.path / "backup")

    def is_run(self) -> bool:
        """True when the folder was written by a training run (it has ``config.json``)."""
        return self.config.is_file()

    def is_finished(self) -> bool:
        """True when the run finished (``metrics.json`` is written last)."""
        return self.metrics.is_file() and self.model.is_file()


@dataclass(frozen=True)
class ExportLayout:
    """Paths inside one export folder."""

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    manifest = property(lambda self: self.path / "manifest.json")
    labels = property(lambda self: self.path / "labels.txt")

    def artifact(self, fmt: str, precision: str) -> Path:
        return self.path / artifact_name(fmt, precision)

    def is_export(self) -> bool:
        return self.manifest.is_file()
