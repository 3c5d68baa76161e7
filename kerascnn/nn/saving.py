"""Load any ``.keras`` file kerascnn wrote, with every custom object registered.

``keras.saving.load_model`` finds a custom layer or schedule only if the module
that registers it has been imported. This module imports all of them, so a
fresh process (``kerascnn export``, ``bench``, ``train --resume``) can load
what another one saved, and turns a missing, truncated or foreign file into one
line of error.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from kerascnn.core.errors import DataNotFoundError, UsageError
from kerascnn.core.quiet import import_tensorflow_quietly


def register_custom_objects() -> None:
    """Import every kerascnn module that registers Keras serialisables."""
    import kerascnn.data.augment  # noqa: F401  (RandomColorCast)
    import kerascnn.nn.layers  # noqa: F401  (LRN, Maxout, L2Normalize, DropConnectDense)
    import kerascnn.models  # noqa: F401
    import kerascnn.models.resnet  # noqa: F401  (ZeroPadShortcut)
    import kerascnn.training.schedules  # noqa: F401  (CyclicalLearningRate)


def resolve_model_path(model_path: str | os.PathLike) -> Path:
    """The ``.keras`` file meant by ``model_path`` (a run folder means its ``model.keras``)."""
    path = Path(model_path).expanduser()
    if path.is_dir():
        if not (path / "model.keras").is_file():
            raise DataNotFoundError(f"Folder {path} holds no model.keras (not a kerascnn run folder).")
        path = path / "model.keras"
    if not path.exists():
        raise DataNotFoundError(f"Model file not found: {path}")
    if path.suffix != ".keras":
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
        lines = str(err).strip().splitlines()
        raise UsageError(f"Cannot load {path} as a Keras model: {lines[0] if lines else type(err).__name__}") from None
