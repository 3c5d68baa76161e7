"""Training: a zoo model, a data set and a Task in; a run folder out.

    >>> from kerascnn.training import train, lr_find, TrainConfig
    >>> result = train("lenet5", "digits", epochs=2, run_dir="runs/demo")

This face imports nothing until a name is used, so ``import
kerascnn.training.config`` (the ``train`` command's flags and checks) stays
TensorFlow-free. The parts:

- :mod:`~kerascnn.training.trainer`: :func:`train`, :func:`compile_model`, :class:`TrainResult`.
- :mod:`~kerascnn.training.config`: :class:`TrainConfig`, every option of a run.
- :mod:`~kerascnn.training.optimizers`: the ``--optimizer`` table, :func:`make_optimizer`.
- :mod:`~kerascnn.training.schedules`: learning-rate schedule specs (parsed once).
- :mod:`~kerascnn.training.callbacks`: LR and epoch-time logging, the diagnosis callback.
- :mod:`~kerascnn.training.diagnosis`: reading loss curves (overfitting, underfitting ...).
- :mod:`~kerascnn.training.lr_range`: the LR range test and :func:`lr_find`.
- :mod:`~kerascnn.training.modeling`: raw-input preprocessing around a zoo backbone, transfer learning.
- :mod:`~kerascnn.training.rundir`: ``--resume`` checks, the resume point, history.csv.
- :mod:`~kerascnn.training.distribute`, :mod:`~kerascnn.training.custom_loop`: tf.distribute.
"""

from __future__ import annotations

import importlib

#: Public name -> the module (under kerascnn.training) that defines it.
_EXPORTS = {
    "train": "trainer",
    "TrainResult": "trainer",
    "compile_model": "trainer",
    "lr_find": "lr_range",
    "TrainConfig": "config",
    "make_optimizer": "optimizers",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = list(_EXPORTS)
