"""Native libraries' start-up and log lines kept off the terminal.

TensorFlow's C++ start-up banner ("All log messages before absl::InitializeLog()
...", "Could not find cuda drivers ..."), the TFLite converter's
``fully_quantize: 0, inference_type: 6 ...`` and LiteRT's ``INFO: Created
TensorFlow Lite XNNPACK delegate`` are written by C++ straight to file
descriptors 1 and 2, around Python's ``sys.stderr``. They are captured here and
replayed only if the call fails, so students see one-line errors and clean
output. ``TF_CPP_MIN_LOG_LEVEL=0`` in the environment turns the capture off.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


def _verbose() -> bool:
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"


@contextlib.contextmanager
def native_output_captured(fds: tuple[int, ...] = (2,)):
    """Capture what native code writes to ``fds`` inside the block; replay it to stderr on an exception."""
    if _verbose():
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    with tempfile.TemporaryFile() as sink:
        for fd in fds:
            os.dup2(sink.fileno(), fd)
        try:
            yield
        except BaseException:
            _restore(saved)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            _restore(saved)


def _restore(saved: dict[int, int]) -> None:
    for fd, copy in list(saved.items()):
        os.dup2(copy, fd)
        os.close(copy)
        del saved[fd]


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up banner swallowed (replayed if the import fails)."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_output_captured():
        import tensorflow  # noqa: F401
