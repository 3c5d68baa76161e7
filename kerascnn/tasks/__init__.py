"""Tasks: one object per kind of problem, asked by every stage (see :mod:`kerascnn.tasks.base`).

    >>> from kerascnn import tasks
    >>> tasks.get("classification").monitor
    ('accuracy', 'max')

A new kind of problem is a new module here that defines a :class:`Task` subclass
and a module-level ``TASK`` (found automatically: every module of this package but
``base``); or, from outside the package, ``tasks.register(MyTask())``. Importing
this package imports no TensorFlow.
"""

from __future__ import annotations

import importlib
import pkgutil

from kerascnn.core.errors import UsageError, unknown_name_message
from kerascnn.tasks.base import Task

#: Modules of this package that define no ``TASK``.
_NOT_TASKS = {"base"}
#: Task assumed for artifacts and run folders that name none (written before tasks existed).
DEFAULT = "classification"

_REGISTRY: dict[str, Task] = {}
_loaded = False


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
            if info.name not in _NOT_TASKS:
                register(importlib.import_module(f"{__name__}.{info.name}").TASK)


def register(task: Task, *, replace: bool = False) -> Task:
    """Make ``task`` available by its name to every stage."""
    if not isinstance(task, Task) or not task.name:
        raise TypeError(f"Expected a named kerascnn.tasks.Task instance. Received: {task!r}")
    if task.name in _REGISTRY and not replace and _REGISTRY[task.name] is not task:
        raise RuntimeError(f"Task name {task.name!r} registered twice.")
    _REGISTRY[task.name] = task
    return task


def names() -> list[str]:
    """Every registered task name."""
    _load_builtin()
    return list(_REGISTRY)


def get(name: str | None, *, model: str | None = None) -> Task:
    """The Task registered as ``name`` (``None``: :data:`DEFAULT`).

    Raises:
        UsageError: no such Task; with ``model``, the message names the model too.
    """
    _load_builtin()
    name = name or DEFAULT
    if name not in _REGISTRY:
        if model is not None:
            raise UsageError(
                f"Model {model!r} has the task {name!r}, and no {name!r} Task is available yet "
                f"(tasks: {', '.join(_REGISTRY)})."
            )
        raise UsageError(unknown_name_message("task", name, _REGISTRY))
    return _REGISTRY[name]


def for_model(model_name: str) -> Task:
    """The Task of a zoo model, from its registry entry (``ModelSpec.task``)."""
    from kerascnn import models

    return get(models.get_spec(model_name).task, model=model_name)


__all__ = ["Task", "DEFAULT", "get", "for_model", "names", "register"]
