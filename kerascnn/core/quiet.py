"""Import TensorFlow without its C++ start-up banner on the terminal."""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ start-up banner swallowed.

    A few lines ("All log messages before absl::InitializeLog() ...", "Could not
    find cuda drivers ...") are written straight to file descriptor 2 before
    ``TF_CPP_MIN_LOG_LEVEL`` takes effect. They are captured here and replayed
    only if the import fails.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved_stderr, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
