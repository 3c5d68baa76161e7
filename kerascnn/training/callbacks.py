"""Keras callbacks a training run adds: the learning rate and epoch time in the logs, the curve diagnosis.

- :class:`LearningRateLogger` adds the epoch's learning rate (``lr``) to the logs,
  so ``History``, ``CSVLogger`` (history.csv) and ``lr.png`` have it.
- :class:`EpochTimer` adds ``epoch_seconds``, so history.csv sums to the training
  time across resumes.
- :class:`LossCurveDiagnosis` runs :func:`kerascnn.training.diagnosis.diagnose_history`
  when ``fit`` ends.

The LR range test is in :mod:`kerascnn.training.lr_range`, the schedules'
reduce-on-plateau callback in :mod:`kerascnn.training.schedules`.
"""

from __future__ import annotations

import importlib.util
import time

import keras

from kerascnn.training.diagnosis import describe, diagnose_history


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer's next step will use (schedules evaluated at ``iterations``)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Add the learning rate of each epoch to the epoch logs under ``key`` (``"lr"``).

    The value is the LR used by the epoch's first step, read from the optimizer
    when the epoch begins, so it is right for a constant LR, any
    ``LearningRateSchedule`` (per-step decay: the LR at step ``epoch * steps_per_epoch``)
    and ``ReduceLROnPlateau`` (which changes the LR at epoch end; it logs the same
    value as ``learning_rate``), whatever the callback order.

    Place it before ``CSVLogger`` in the callback list, though: ``CSVLogger``
    fixes its columns at the end of the first epoch.
    """

    def __init__(self, key: str = "lr"):
        super().__init__()
        self.key = key
        self._epoch_lr = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_lr = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._epoch_lr is not None:
            logs[self.key] = self._epoch_lr


class EpochTimer(keras.callbacks.Callback):
    """Add ``epoch_seconds`` to the epoch logs, so history.csv sums to the train time across resumes."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class LossCurveDiagnosis(keras.callbacks.Callback):
    """Run :func:`~kerascnn.training.diagnosis.diagnose_history` on the epochs of this ``fit`` when training ends.

    The result is stored in ``self.result`` (``None`` before training ends); with
    ``verbose=1`` it is also printed as one line.

    Args:
        monitor: the task's ``(metric, mode)``; ``None`` looks for an accuracy column.
        verbose: 1 prints the verdict and its reason.
    """

    def __init__(self, monitor: tuple[str, str] | None = None, verbose: int = 0):
        super().__init__()
        self.monitor = monitor
        self.verbose = verbose
        self.history: dict[str, list[float]] = {}
        self.result: dict | None = None

    def on_train_begin(self, logs=None):
        self.history = {}
        self.result = None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def on_train_end(self, logs=None):
        self.result = diagnose_history(self.history, self.monitor) if "loss" in self.history else None
        if self.verbose and self.result:
            print(f"Loss-curve diagnosis: {describe(self.result)}. {self.result['advice']}")


def tensorboard_available() -> bool:
    """TensorFlow's summaries need the ``tensorboard`` package (an optional dependency of TF 2.21)."""
    return importlib.util.find_spec("tensorboard") is not None


__all__ = ["current_learning_rate", "LearningRateLogger", "EpochTimer", "LossCurveDiagnosis", "tensorboard_available"]
