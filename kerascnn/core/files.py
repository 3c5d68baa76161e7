"""Atomic file and folder writes: write to a temporary sibling, then rename.

A reader (or an interrupted run) never sees a half-written artifact: either the
old file is still there, or the complete new one is.

The temporary siblings are created as ``open``/``mkdir`` would create the final
names (``0o666 & ~umask`` for files, ``0o777 & ~umask`` for folders), not with
``tempfile``'s private ``0o600``/``0o700``: after the rename, a shared export or
run folder is as readable as any other file its owner writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from kerascnn.core.errors import UsageError

#: Attempts at a fresh temporary name before giving up (each draws 64 random bits).
_NAME_ATTEMPTS = 100


def _create_sibling(path: Path, suffix: str, create: Callable[[Path], object]):
    """``create(tmp)`` for a fresh hidden name ``.<name>.<random><suffix>`` beside ``path``; returns
    ``(tmp, create's result)``. ``create`` must fail with ``FileExistsError`` on a taken name."""
    for _ in range(_NAME_ATTEMPTS):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}{suffix}"
        try:
            return tmp, create(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"No free temporary name beside {path}.")


def _new_file(tmp: Path) -> int:
    # O_EXCL: never reuse an existing file; mode 0o666 is reduced by the umask like open().
    return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)


def _new_folder(tmp: Path) -> None:
    os.mkdir(tmp, 0o777)  # reduced by the umask like mkdir


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _create_sibling(path, ".tmp", _new_file)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj, indent: int = 2) -> Path:
    """Write ``obj`` as pretty JSON (sorted keys off, trailing newline) atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, default=_json_default) + "\n")


def _json_default(value):
    # numpy scalars / arrays and paths show up in metrics and manifests.
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


@contextlib.contextmanager
def atomic_save_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path to hand to a writer that wants a file name
    (``model.save``, ``savefig``); rename it onto ``path`` only on success.

    The temporary name keeps the final suffix because Keras and matplotlib pick
    the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    tmp, fd = _create_sibling(path, f".tmp{suffix}", _new_file)
    os.close(fd)
    os.unlink(tmp)  # writers such as model.save refuse to overwrite some existing files
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_output_folder(path: str | os.PathLike, force: bool = False) -> Path:
    """Raise ``UsageError`` unless ``path`` may become a new folder: absent, empty, or ``force``.

    :func:`atomic_directory` checks the same on entry; callers with slow work to
    do before writing (loading a model) call this first to fail fast.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"Output path {path} exists and is not a folder.")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise UsageError(f"Output folder {path} is not empty; pass --force to replace it.")
    return path


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, force: bool = False):
    """Build a whole folder in a temporary sibling and move it into place at the end.

    * If ``path`` exists and is non-empty, raise ``UsageError`` unless ``force``.
    * On any exception (or Ctrl-C) the temporary folder is removed and ``path``
      is left exactly as it was.
    * With ``force``, the old folder is replaced only after the new one is complete.
    * The finished folder has the permissions ``mkdir`` gives (``0o777 & ~umask``).
    """
    path = check_output_folder(path, force)
    parent = path.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp, _ = _create_sibling(parent / path.name, ".tmp", _new_folder)
    except OSError as err:
        raise UsageError(f"Cannot write to {parent}: {err.strerror or err}.") from err
    try:
        yield tmp
        if path.exists():
            backup, _ = _create_sibling(parent / path.name, ".old", _new_folder)
            os.replace(path, backup / "old")
            os.replace(tmp, path)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
