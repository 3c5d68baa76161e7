"""Load any ``.keras`` file kerascnn wrote, with every custom object registered.

``keras.saving.load_model`` finds a custom layer or schedule only if the module
that registers it has been imported. :func:`register_custom_objects` imports
all of them (:mod:`kerascnn.nn` and the model families), so a fresh process
(``kerascnn export``, ``bench``, ``train --resume``) can load what another one
saved; a missing, truncated or foreign file, or an unfinished run folder, is
one line of error that says what to do.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shlex
import zipfile
from pathlib import Path

from kerascnn.core.errors import DataNotFoundError, UsageError, first_line
from kerascnn.core.layout import RunLayout, format_of
from kerascnn.core.quiet import import_tensorflow_quietly


def register_custom_objects() -> None:
    """Import every kerascnn module that registers Keras serialisables.

    :mod:`kerascnn.nn` holds what a saved model may contain (layers, schedules,
    losses); a model family may define layers of its own, so the zoo's families
    are loaded too. Data augmentation never ends up inside a saved model.
    """
    import kerascnn.nn
    from kerascnn import models

    kerascnn.nn.register_serialisables()
    models.names()  # imports every model family


def resolve_model_path(model_path: str | os.PathLike) -> Path:
    """The ``.keras`` file meant by ``model_path`` (a run folder means its ``model.keras``).

    Raises:
        DataNotFoundError: no such file; a folder without a final model (an
            unfinished run is described, with how to resume or export it).
        UsageError: a file that is not a ``.keras`` model.
    """
    path = Path(model_path).expanduser()
    if path.is_dir():
        run = RunLayout(path)
        if not run.model.is_file():
            raise DataNotFoundError(_no_model_message(run))
        path = run.model
    if not path.exists():
        raise DataNotFoundError(f"Model file not found: {path}")
    if format_of(path) != "keras":
        raise UsageError(f"Expected a Keras model file ending in .keras. Received: {path}")
    return path


def load_model(model_path: str | os.PathLike, *, compile: bool = False):
    """``keras.saving.load_model`` for a kerascnn ``.keras`` file or run folder.

    Raises:
        DataNotFoundError: the file (or the run folder's ``model.keras``) is missing.
        UsageError: the file is not a loadable Keras model (truncated, foreign, ...).
    """
    path = resolve_model_path(model_path)
    if not zipfile.is_zipfile(path):
        raise UsageError(f"Cannot load {path} as a Keras model: not a .keras zip archive (truncated or another format).")
    import_tensorflow_quietly()
    import keras

    register_custom_objects()
    try:
        return keras.saving.load_model(os.fspath(path), compile=compile)
    except Exception as err:  # zipfile, JSON, h5py and Keras errors for broken files
        raise UsageError(f"Cannot load {path} as a Keras model: {first_line(err)}") from None


def _no_model_message(run: RunLayout) -> str:
    """Why a folder has no ``model.keras``, and what to do about it."""
    if not run.is_run():
        return f"Folder {run.path} holds no {run.model.name} (not a kerascnn run folder)."
    config = _read_json(run.config)
    resume = f"resume it with `{_resume_command(config, run.path)}`"
    if not run.best.is_file():
        return (
            f"{run.path} is an unfinished training run that saved no model yet "
            f"(no {run.best.name}, no {run.model.name}): {resume}."
        )
    epoch = _best_epoch(run, config)
    found = f"{run.best.name} from epoch {epoch}" if epoch is not None else run.best.name
    return (
        f"{run.path} is an unfinished training run ({found}, no {run.model.name}): {resume}, "
        f"or export {run.best}."
    )


def _read_json(path: Path) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _resume_command(config: dict, run_dir: Path) -> str:
    """The run's own ``kerascnn train ...`` command with ``--resume --run-dir RUN``."""
    command = config.get("command")
    try:
        parts = shlex.split(command) if isinstance(command, str) else []
    except ValueError:
        parts = []
    if not parts:
        parts = ["kerascnn", "train", "..."]
    kept = []
    skip = False
    for part in parts:  # the run's own --resume / --run-dir, if it recorded them, are replaced
        if skip:
            skip = False
        elif part == "--run-dir":
            skip = True
        elif part != "--resume" and not part.startswith("--run-dir="):
            kept.append(part)
    return shlex.join([*kept, "--resume", "--run-dir", os.fspath(run_dir)])


def _best_epoch(run: RunLayout, config: dict) -> int | None:
    """The 1-based epoch ``best.keras`` was saved at: the best ``history.csv`` row by the task's monitor."""
    from kerascnn import tasks

    try:
        metric, mode = tasks.get(config.get("task")).monitor
        with open(run.history, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UsageError, csv.Error):
        return None
    column = f"val_{metric}" if rows and _number(rows[0].get(f"val_{metric}")) is not None else metric
    scored = [(value, row) for row in rows if (value := _number(row.get(column))) is not None]
    if not scored:
        return None
    pick = max if mode == "max" else min
    _, best = pick(scored, key=lambda item: item[0])  # ties: the first, as ModelCheckpoint keeps it
    epoch = _number(best.get("epoch"))
    return int(epoch) + 1 if epoch is not None else rows.index(best) + 1


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
