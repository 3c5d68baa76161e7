"""Running a script of ``apps/`` the way the ``kerascnn`` command runs: quietly, with one-line errors.

    from kerascnn.core.script import check_output_file, run_script

    def main(argv=None):
        args = parse_args(argv)
        check_output_file(args.out, suffixes=(".keras",), force=args.force)  # before any work
        ...

    if __name__ == "__main__":
        run_script(main)

:func:`run_script` turns bad input into ``lenet_mnist.py: error: <first line>``
(exit status 2, like ``argparse``), Ctrl-C into exit status 130, and keeps
TensorFlow's C++ start-up messages (banner, ``cuInit`` on CPU-only machines)
off the terminal. The ``check_output_*`` helpers refuse an output that cannot be
written *before* a script trains for minutes. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from kerascnn.core.errors import UsageError, first_line

#: Exit statuses: bad usage (as argparse), interrupted by Ctrl-C (128 + SIGINT).
USAGE_EXIT = 2
INTERRUPT_EXIT = 130


def quiet_tensorflow_logs() -> None:
    """Hide TensorFlow's C++ INFO/WARNING/ERROR logs unless the user chose a level.

    Must run before TensorFlow is imported; :func:`kerascnn.core.quiet.import_tensorflow_quietly`
    then swallows the few lines written before the level takes effect.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def run_script(main: Callable[[list[str] | None], object], argv: list[str] | None = None, *,
               prog: str | None = None) -> None:
    """Run ``main(argv)`` as a command-line script and exit with its status.

    * ``UsageError`` / ``ValueError`` / ``OSError`` -> ``PROG: error: <first line>`` on stderr, exit 2;
    * ``KeyboardInterrupt`` -> ``PROG: interrupted``, exit 130;
    * otherwise exit 0 (or ``main``'s integer return value).

    Args:
        main: the script's ``main(argv)``; its return value (a result dict for tests) is ignored
            unless it is an ``int``.
        argv: arguments (default: ``sys.argv[1:]``).
        prog: the name in messages (default: the script's file name, as argparse uses).
    """
    quiet_tensorflow_logs()
    prog = prog or os.path.basename(sys.argv[0])
    try:
        result = main(argv)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted", file=sys.stderr)
        sys.exit(INTERRUPT_EXIT)
    except (ValueError, OSError) as err:  # UsageError is a ValueError
        sys.stdout.flush()
        print(f"{prog}: error: {first_line(err)}", file=sys.stderr)
        sys.exit(USAGE_EXIT)
    sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)


def _writable_folder(path: Path, what: str) -> None:
    """Raise unless the nearest existing folder at or above ``path`` can be written."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"Cannot write {what}: {existing} is not a writable folder.")


def check_output_file(path: str | os.PathLike, *, suffixes: Iterable[str] = (), force: bool = True) -> Path:
    """Check an output file before any work: suffix, writable folder, no silent overwrite.

    Args:
        path: the file the script will write.
        suffixes: accepted suffixes (``(".keras",)``), case-insensitive; empty: any.
        force: allow replacing an existing file (pass the script's ``--force``).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        UsageError: a wrong suffix, an existing folder or (without ``force``) file at
            ``path``, or a folder that cannot be written.
    """
    path = Path(path).expanduser()
    suffixes = tuple(suffixes)
    if suffixes and path.suffix.lower() not in suffixes:
        raise UsageError(f"Output file must end in {' or '.join(suffixes)}. Received: {os.fspath(path)!r}")
    if path.is_dir():
        raise UsageError(f"Output {os.fspath(path)!r} is a folder; give a file name.")
    if path.exists() and not force:
        raise UsageError(f"Output file {os.fspath(path)!r} exists; pass --force to replace it.")
    _writable_folder(path.resolve().parent, os.fspath(path))
    return path


def check_output_folder(path: str | os.PathLike, *, force: bool = False) -> Path:
    """Check an output folder before any work: a folder, new or empty (or ``force``), writable.

    Raises:
        UsageError: ``path`` is a file, is not empty (without ``force``), or cannot be written.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"Output {os.fspath(path)!r} exists and is not a folder.")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise UsageError(f"Output folder {os.fspath(path)!r} is not empty; choose another or pass --force.")
    _writable_folder(path.resolve(), os.fspath(path))
    return path


__all__ = ["run_script", "quiet_tensorflow_logs", "check_output_file", "check_output_folder"]
