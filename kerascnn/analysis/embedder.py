"""One way to embed images with any embedding model file: ``.keras``, ``.onnx``, ``.tflite`` or an export folder.

ONNX and TFLite run on the TF-free runtime (:mod:`kerascnn.runtime`); a ``.keras``
file loads with Keras. Either way the model must be an embedding model (task
``embedding``): a classifier (softmax outputs, or an export whose manifest names
another task) is refused in one line, since nearest neighbours of class
probabilities measure nothing the one-shot and verification protocols mean.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from kerascnn.core.errors import UsageError

BATCH = 256


@dataclass
class Embedder:
    """``images(batch)`` and ``files(paths)`` -> ``(N, D)`` embeddings; ``input_shape`` without the batch."""

    path: Path
    input_shape: tuple[int, ...]
    _run: Callable[[np.ndarray], np.ndarray]

    def images(self, batch: np.ndarray) -> np.ndarray:
        """Embed raw-pixel images (any dtype; must already have :attr:`input_shape`)."""
        batch = np.asarray(batch, dtype=np.float32)
        if tuple(batch.shape[1:]) != tuple(self.input_shape):
            raise UsageError(f"{self.path.name} takes images of {'x'.join(map(str, self.input_shape))}; "
                             f"these are {'x'.join(map(str, batch.shape[1:]))}.")
        return np.concatenate([self._run(batch[k:k + BATCH]) for k in range(0, len(batch), BATCH)])

    def files(self, paths: Sequence[str | os.PathLike]) -> np.ndarray:
        """Embed image files, read and resized to the model's input like ``kerascnn predict`` does."""
        from kerascnn.runtime.images import load_images

        return self.images(load_images(paths, self.input_shape))


def open_embedder(path: str | os.PathLike, *, threads: int | None = None) -> Embedder:
    """An :class:`Embedder` for a model file or export folder.

    Raises:
        UsageError: not found, not an embedding model (a classifier), not one image input.
    """
    from kerascnn.core.layout import format_of

    path = Path(path)
    if not path.exists():
        raise UsageError(f"Model not found: {path}")
    if format_of(path) == "keras":
        return _keras_embedder(path)
    from kerascnn.runtime import load_runtime, task_of

    task = task_of(path).name
    if task != "embedding":
        raise UsageError(f"{path} is a {task} model; this needs an embedding model (trained with `kerascnn train "
                         f"triplet|siamese`, exported from its embedding.keras).")
    runtime = load_runtime(path, threads=threads)
    return Embedder(runtime.path, tuple(runtime.input_shape), runtime.run)


def _keras_embedder(path: Path) -> Embedder:
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn.nn.saving import load_model

    model = load_model(path)
    if len(model.inputs) != 1 or len(model.output_shape) != 2:
        raise UsageError(f"{path.name} is not an embedding model: it needs one image input and (batch, D) "
                         f"embeddings out. Received: inputs {len(model.inputs)}, output shape {model.output_shape}")
    last = model.layers[-1]
    inner = getattr(last, "layers", None)
    activation = getattr(inner[-1] if inner else last, "activation", None)
    if getattr(activation, "__name__", "") == "softmax":
        raise UsageError(f"{path.name} ends in a softmax: it is a classifier, not an embedding model (train one with "
                         f"`kerascnn train triplet|siamese`).")
    return Embedder(path, tuple(int(d) for d in model.input_shape[1:]),
                    lambda batch: np.asarray(model(batch, training=False)))
