"""Where a run writes, and how it resumes: ``--resume`` checks, the resume point, history.csv.

The folder's file names are :class:`kerascnn.core.layout.RunLayout`'s. A run killed
at any moment resumes with ``--resume`` from its last finished epoch; rows the
killed run wrote after its last backup are dropped first, so the finished
history has one row per epoch, exactly like an uninterrupted run. A finished
run grows with ``--resume --epochs N`` (more epochs than before; nothing else
may change): it continues from its ``model.keras``, optimizer state included.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from kerascnn import tasks
from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_write_text
from kerascnn.core.layout import RunLayout
from kerascnn.training.config import describe_config_change

#: Options a resumed run may change: only the length of the run, and only upwards.
GROWABLE = ("epochs",)


def default_run_dir(model: str, dataset: str) -> Path:
    """``runs/<model>-<dataset>-<YYYYmmdd-HHMMSS>`` under the current folder."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe_dataset = dataset.replace(os.sep, "_").replace(":", "_")
    return Path("runs") / f"{model}-{safe_dataset}-{stamp}"


def read_record(run: RunLayout) -> dict:
    """The run's ``config.json`` (``UsageError`` when it is missing or unreadable)."""
    if not run.config.is_file():
        raise UsageError(f"Cannot resume: {run.path} has no {run.config.name} (not a kerascnn run).")
    try:
        record = json.loads(run.config.read_text())
        record["train"]  # noqa: B018 - must be there
    except (ValueError, KeyError, TypeError) as err:
        raise UsageError(f"Cannot resume: {run.config} is unreadable ({err}).") from None
    return record


def check_run_dir(path: str | os.PathLike, comparable_config: dict, *, resume: bool,
                  task: str = tasks.DEFAULT) -> RunLayout:
    """Validate ``path`` for a new run or a resume, before anything is written.

    Raises ``UsageError`` when the folder is a file, is not empty without
    ``resume``, belongs to another task or configuration (only ``epochs`` may
    grow), is a finished run and ``epochs`` did not grow, or cannot be written.
    """
    run = RunLayout(Path(path).expanduser())
    if run.path.exists() and not run.path.is_dir():
        raise UsageError(f"Run directory {run.path} exists and is not a folder.")
    non_empty = run.path.is_dir() and any(run.path.iterdir())
    if non_empty and not resume:
        raise UsageError(
            f"Run directory {run.path} is not empty; pass --resume to continue that run "
            "or choose another --run-dir."
        )
    if non_empty and resume:
        record = read_record(run)
        saved = record["train"]
        saved_task = record.get("task") or tasks.DEFAULT
        if saved_task != task:
            raise UsageError(f"Cannot resume {run.path} with a different task: it was {saved_task!r}, now {task!r}.")
        change = describe_config_change(saved, comparable_config, ignore=GROWABLE)
        if change:
            raise UsageError(f"Cannot resume {run.path} with a different configuration: {change}.")
        before, now = saved.get("epochs"), comparable_config.get("epochs")
        if isinstance(before, int) and now < before:
            raise UsageError(
                f"Cannot resume {run.path} with a different configuration: epochs was {before} in the run, "
                f"now {now} (a resumed run may only grow)."
            )
        if run.is_finished() and now == before:
            raise UsageError(
                f"Cannot resume: the run in {run.path} already finished ({run.metrics.name} exists); "
                f"pass a larger --epochs to train it longer."
            )
    _check_writable(run.path)
    return run


def resume_point(run: RunLayout) -> tuple[int, bool]:
    """``(finished epochs, from_model)`` to continue ``run`` from.

    An unfinished run continues from its BackupAndRestore state (``from_model``
    False: Keras restores it); a finished run, or one whose extension stopped
    before its first backup, from ``model.keras`` and the epoch count in
    ``metrics.json`` (``from_model`` True); anything else starts at epoch 0.
    """
    backed_up = completed_epochs(run)
    if backed_up:
        return backed_up, False
    if run.is_finished():
        try:
            return int(json.loads(run.metrics.read_text())["epochs_completed"]), True
        except (OSError, ValueError, KeyError, TypeError):
            raise UsageError(f"Cannot resume: {run.metrics} is unreadable; start a new run.") from None
    return 0, False


def _check_writable(path: Path) -> None:
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"Cannot write the run directory {path}: {existing} is not writable.")


def completed_epochs(run: RunLayout) -> int:
    """Epochs saved by BackupAndRestore (0 when there is no backup)."""
    for name in ("training_metadata.json", "training_metadata.json.bkp"):
        meta = run.backup / name
        try:
            return int(json.loads(meta.read_text())["epoch"])
        except (OSError, ValueError, KeyError):
            continue
    return 0


def trim_history(run: RunLayout, epochs: int) -> int:
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
