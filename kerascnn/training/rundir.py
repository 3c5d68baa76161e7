"""The run directory: what one training run leaves behind, and how it resumes.

::

    RUN_DIR/
      config.json     everything needed to rerun (options, seed, versions, command)
      history.csv     one row per finished epoch (loss, accuracy, val_*, learning_rate, epoch_seconds)
      metrics.json    test accuracy/loss, epochs, replicas, train time, loss-curve diagnosis
      model.keras     the final model; takes the data set's raw pixels
      best.keras      the best epoch by validation accuracy
      curves.png      loss and accuracy, train vs validation
      lr.png          the learning rate per epoch
      logs/           TensorBoard (``tensorboard --logdir RUN_DIR/logs``)
      backup/         Keras BackupAndRestore state while a run is unfinished

A run killed at any moment resumes with ``--resume`` from its last finished
epoch; rows the killed run wrote after its last backup are dropped first, so
the finished history has one row per epoch, exactly like an uninterrupted run.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_write_text
from kerascnn.training.config import describe_config_change


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def history(self) -> Path:
        return self.path / "history.csv"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def model(self) -> Path:
        return self.path / "model.keras"

    @property
    def best(self) -> Path:
        return self.path / "best.keras"

    @property
    def curves(self) -> Path:
        return self.path / "curves.png"

    @property
    def lr_plot(self) -> Path:
        return self.path / "lr.png"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def backup(self) -> Path:
        return self.path / "backup"


def default_run_dir(model: str, dataset: str) -> Path:
    """``runs/<model>-<dataset>-<YYYYmmdd-HHMMSS>`` under the current folder."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe_dataset = dataset.replace(os.sep, "_").replace(":", "_")
    return Path("runs") / f"{model}-{safe_dataset}-{stamp}"


def check_run_dir(path: str | os.PathLike, comparable_config: dict, *, resume: bool) -> RunDir:
    """Validate ``path`` for a new run or a resume, before anything is written.

    Raises ``UsageError`` when the folder is a file, is not empty without
    ``resume``, belongs to a different configuration or a finished run with
    ``resume``, or cannot be written.
    """
    run = RunDir(Path(path).expanduser())
    if run.path.exists() and not run.path.is_dir():
        raise UsageError(f"Run directory {run.path} exists and is not a folder.")
    non_empty = run.path.is_dir() and any(run.path.iterdir())
    if non_empty and not resume:
        raise UsageError(
            f"Run directory {run.path} is not empty; pass --resume to continue that run "
            "or choose another --run-dir."
        )
    if non_empty and resume:
        if not run.config.is_file():
            raise UsageError(f"Cannot resume: {run.path} has no config.json (not a kerascnn run).")
        try:
            saved = json.loads(run.config.read_text())["train"]
        except (ValueError, KeyError) as err:
            raise UsageError(f"Cannot resume: {run.config} is unreadable ({err}).") from None
        change = describe_config_change(saved, comparable_config)
        if change:
            raise UsageError(f"Cannot resume {run.path} with a different configuration: {change}.")
        if run.metrics.is_file():
            raise UsageError(f"Cannot resume: the run in {run.path} already finished (metrics.json exists).")
    _check_writable(run.path)
    return run


def _check_writable(path: Path) -> None:
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"Cannot write the run directory {path}: {existing} is not writable.")


def completed_epochs(run: RunDir) -> int:
    """Epochs saved by BackupAndRestore (0 when there is no backup)."""
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        meta = run.backup / name
        try:
            return int(json.loads(meta.read_text())["epoch"])
        except (OSError, ValueError, KeyError):
            continue
    return 0


def trim_history(run: RunDir, epochs: int) -> int:
    """Keep only rows of epochs ``< epochs`` in ``history.csv`` (atomically). Returns rows kept."""
    rows, header = read_history_rows(run.history)
    if header is None:
        return 0
    kept = [row for row in rows if int(float(row["epoch"])) < epochs]
    if len(kept) != len(rows):
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        atomic_write_text(run.history, buffer.getvalue())
    return len(kept)


def read_history_rows(path: Path) -> tuple[list[dict], list[str] | None]:
    """Rows and header of a Keras ``CSVLogger`` file (``([], None)`` when missing)."""
    if not path.is_file():
        return [], None
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return rows, reader.fieldnames


def read_history(path: Path) -> dict[str, list[float]]:
    """``history.csv`` as ``{column: [value per epoch]}`` (like ``History.history``), epochs in order."""
    rows, header = read_history_rows(path)
    if header is None:
        return {}
    by_epoch = {int(float(row["epoch"])): row for row in rows}  # a repeated epoch keeps its last row
    ordered = [by_epoch[e] for e in sorted(by_epoch)]
    history: dict[str, list[float]] = {}
    for key in header:
        values = [row.get(key) for row in ordered]
        if key == "epoch" or all(v in (None, "", "NA") for v in values):
            continue  # CSVLogger adds val_* columns of "NA" when there is no validation set
        history[key] = [float(v) if v not in (None, "", "NA") else float("nan") for v in values]
    return history


def write_history(path: Path, history: dict[str, list[float]]) -> None:
    """Write ``{column: values}`` as a CSVLogger-style file (used by the custom loop)."""
    keys = list(history)
    count = len(history[keys[0]]) if keys else 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["epoch", *keys])
    for epoch in range(count):
        writer.writerow([epoch, *(history[k][epoch] for k in keys)])
    atomic_write_text(path, buffer.getvalue())
