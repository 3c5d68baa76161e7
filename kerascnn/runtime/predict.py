"""Predict on input files with an exported model, the way its Task reads and presents them.

The Task comes from the ``task`` named in the manifest beside the model
(:data:`kerascnn.tasks.DEFAULT` for folders written before tasks existed): it
reads the files into a batch (:meth:`~kerascnn.tasks.base.Task.load_inputs`) and
turns the outputs into records (:meth:`~kerascnn.tasks.base.Task.present`).

Example:

    from kerascnn.runtime import load_runtime, predict_files

    runtime = load_runtime("exports/quickstart")  # an export folder or a model file
    print(predict_files(runtime, ["seven.png"], k=3)["predictions"])
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from kerascnn import tasks
from kerascnn.runtime import manifest as manifests
from kerascnn.runtime.sessions import Runtime


def warn_on_stderr(message: str) -> None:
    """Print one warning line to standard error."""
    print(f"warning: {message}", file=sys.stderr)


def task_of(model_path: str | os.PathLike) -> tasks.Task:
    """The Task of an exported model, from the manifest beside it."""
    return tasks.get(manifests.task_name(manifests.read_manifest(model_path)))


def predict_files(
    runtime: Runtime,
    files: Sequence[str | os.PathLike],
    k: int = 5,
    labels: Sequence[str] | None = None,
    *,
    task: tasks.Task | None = None,
    invert: bool = False,
    warn: Callable[[str], None] | None = warn_on_stderr,
) -> dict:
    """Run the model on input files: ``{"model", "task", "predictions": [{"file", ...record}, ...]}``.

    For a classifier each record is ``{"top_k": [{"class", "label", "probability"}, ...]}``.
    Every file is read first, so a bad file fails before the model runs.

    Args:
        runtime: the model (:func:`kerascnn.runtime.load_runtime`).
        files: input files (images for a classifier).
        k: classes per record (classifiers).
        labels: class names; ``None``: class indices.
        task: how to read inputs and present outputs; default: the manifest's ``task``.
        invert: feed inverted images (``255 - pixels``).
        warn: called with one line per suspicious input (blank image, opposite
            polarity to the training images); ``None`` silences the warnings.
    """
    manifest = manifests.read_manifest(runtime.path)
    task = task if task is not None else tasks.get(manifests.task_name(manifest))
    batch = task.load_inputs(
        files, runtime.input_shape, warn=warn, invert=invert, input_mean=manifests.input_mean(manifest)
    )
    records = task.present(runtime.run(batch), labels=labels, k=k)
    return {
        "model": os.fspath(runtime.path),
        "task": task.name,
        "predictions": [{"file": os.fspath(f), **record} for f, record in zip(files, records)],
    }

