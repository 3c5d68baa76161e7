"""Run an exported artifact and its Keras model on the same inputs.

Each artifact runs in its own runtime (onnxruntime or the LiteRT interpreter,
through :func:`kerascnn.runtime.load_runtime`, the same code ``kerascnn predict``
uses). What "the same result" means is the Task's to say
(:meth:`kerascnn.tasks.Task.compare` and :meth:`~kerascnn.tasks.Task.check`: for
a classifier, max |diff| within tolerance for float32 and top-1 agreement).
"""

from __future__ import annotations

import numpy as np

from kerascnn.core.errors import UsageError

#: Reference outputs whose spread across inputs is below this are "degenerate".
DEGENERATE_SPREAD = 1e-6


class ParityError(UsageError):
    """An exported float32 artifact does not compute what the Keras model computes."""


def reference_outputs(model, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The Keras model's outputs on ``x`` (float32, inference mode)."""
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)


def reference_varies(reference: np.ndarray) -> bool:
    """False when every input gives (nearly) the same output: a parity check on it proves nothing.

    An untrained deep network (e.g. MobileNetV2 with ``weights=None``) decays its
    signal through the layers and outputs the same probabilities for every image.
    """
    flat = reference.reshape(len(reference), -1)
    return len(flat) > 1 and float(np.ptp(flat, axis=0).max()) > DEGENERATE_SPREAD


def artifact_outputs(path, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Run the artifact at ``path`` in its own runtime on the model inputs ``x``."""
    from kerascnn.runtime import load_runtime

    runtime = load_runtime(path)
    return np.concatenate([runtime.run(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
