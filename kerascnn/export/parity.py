"""Verify an exported artifact against the Keras model it came from.

Each artifact runs in its own runtime (onnxruntime or the LiteRT interpreter,
through :mod:`kerascnn.runtime.infer`, the same code ``kerascnn predict`` uses) on the
same inputs as the Keras model; float32 artifacts must match within
:data:`FP32_TOLERANCE`, quantised ones report their top-1 agreement.
"""

from __future__ import annotations

import numpy as np

from kerascnn.core.errors import UsageError

#: Largest max-abs difference allowed between a float32 artifact and Keras.
FP32_TOLERANCE = 1e-4

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
    """Run the artifact at ``path`` in its own runtime on float32 raw pixels ``x``."""
    from kerascnn.runtime.infer import load_runtime

    runtime = load_runtime(path)
    return np.concatenate([runtime.run(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def compare(reference: np.ndarray, outputs: np.ndarray) -> dict:
    """``{"max_abs_diff", "top1_agreement", "samples"}`` of ``outputs`` against ``reference``."""
    if outputs.shape != reference.shape:
        raise ParityError(f"Artifact output shape {outputs.shape} differs from Keras's {reference.shape}.")
    agreement = np.mean(outputs.reshape(len(outputs), -1).argmax(1) == reference.reshape(len(reference), -1).argmax(1))
    return {
        "max_abs_diff": float(np.max(np.abs(outputs - reference))),
        "top1_agreement": float(agreement),
        "samples": int(len(reference)),
    }


def check(parity: dict, precision: str, file: str) -> None:
    """Raise :class:`ParityError` when a float32 artifact is off by more than the tolerance."""
    if precision == "fp32" and not parity["max_abs_diff"] <= FP32_TOLERANCE:
        raise ParityError(
            f"{file} differs from the Keras model by {parity['max_abs_diff']:.3g} "
            f"(allowed {FP32_TOLERANCE:g}); nothing was written."
        )
