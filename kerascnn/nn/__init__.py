"""Everything a ``.keras`` file kerascnn writes may contain, registered with Keras serialisation.

Each module here defines serialisable objects with
``@keras.saving.register_keras_serializable(package="kerascnn")``: custom layers
(:mod:`.layers`), learning-rate schedules (:mod:`.schedules`), later losses.
:func:`register_serialisables` imports all of them, so loading a model
(:func:`kerascnn.nn.saving.load_model`) needs no hand-kept list: a new module
dropped into this package is found. Importing the package itself stays cheap
(no Keras), so the TensorFlow-free runtime can use :mod:`.saving`'s path checks.
"""

from __future__ import annotations

import importlib
import pkgutil

#: Modules of this package that register nothing (helpers, not model contents).
_NOT_SERIALISABLE = {"saving"}


def register_serialisables() -> list[str]:
    """Import every module of :mod:`kerascnn.nn` that registers Keras objects; returns their names."""
    found = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name not in _NOT_SERIALISABLE)
    for name in found:
        importlib.import_module(f"{__name__}.{name}")
    return found
