"""Learning-rate schedules Keras lacks, registered for ``.keras`` serialisation.

Keras has step, exponential, 1/t and cosine decay (``keras.optimizers.schedules``);
:mod:`kerascnn.training.schedules` builds those from a short text spec. What is
missing lives here, so a compiled model saved with it loads back anywhere
(:func:`kerascnn.nn.saving.load_model` imports this module).
"""

from __future__ import annotations

import keras

#: ``mode`` values of :class:`CyclicalLearningRate`.
CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")


@keras.saving.register_keras_serializable(package="kerascnn")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (Smith 2017): a triangle between two bounds.

    With ``cycle = floor(1 + step / (2 * step_size))`` and
    ``x = |step / step_size - 2 * cycle + 1|``::

        lr = initial + (maximal - initial) * max(0, 1 - x) * scale

    where ``scale`` is 1 (``"triangular"``), ``1 / 2 ** (cycle - 1)``
    (``"triangular2"``: the amplitude halves every cycle) or ``gamma ** step``
    (``"exp_range"``). The LR starts at ``initial_learning_rate``, peaks at
    ``maximal_learning_rate`` after ``step_size`` steps and is back at the
    bottom after ``2 * step_size``.

    Args:
        initial_learning_rate: lower bound (Smith's ``base_lr``).
        maximal_learning_rate: upper bound (``max_lr``), e.g. from an LR range test.
        step_size: steps in half a cycle (Smith: 2-10 epochs' worth).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: per-step decay of the amplitude in ``"exp_range"`` mode.
        name: name scope of the ops.

    Reference:
        Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        mode="triangular",
        gamma=1.0,
        name="CyclicalLearningRate",
    ):
        super().__init__()
        if mode not in CYCLICAL_MODES:
            raise ValueError(f"`mode` must be one of {', '.join(CYCLICAL_MODES)}. Received: mode={mode!r}")
        if step_size <= 0:
            raise ValueError(f"`step_size` must be > 0. Received: step_size={step_size}")
        if not 0 <= initial_learning_rate <= maximal_learning_rate:
            raise ValueError(
                "Expected 0 <= initial_learning_rate <= maximal_learning_rate. "
                f"Received: initial_learning_rate={initial_learning_rate}, "
                f"maximal_learning_rate={maximal_learning_rate}"
            )
        if not 0 < gamma <= 1:
            raise ValueError(f"`gamma` must be in (0, 1]. Received: gamma={gamma}")
        self.initial_learning_rate = initial_learning_rate
        self.maximal_learning_rate = maximal_learning_rate
        self.step_size = step_size
        self.mode = mode
        self.gamma = gamma
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            low = keras.ops.convert_to_tensor(self.initial_learning_rate, dtype="float32")
            high = keras.ops.cast(self.maximal_learning_rate, low.dtype)
            step = keras.ops.cast(step, low.dtype)
            step_size = keras.ops.cast(self.step_size, low.dtype)
            cycle = keras.ops.floor(1.0 + step / (2.0 * step_size))
            x = keras.ops.abs(step / step_size - 2.0 * cycle + 1.0)
            if self.mode == "triangular":
                scale = keras.ops.ones_like(step)
            elif self.mode == "triangular2":
                scale = 1.0 / keras.ops.power(2.0, cycle - 1.0)
            else:
                scale = keras.ops.power(keras.ops.cast(self.gamma, low.dtype), step)
            return low + (high - low) * keras.ops.maximum(0.0, 1.0 - x) * scale

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }


__all__ = ["CYCLICAL_MODES", "CyclicalLearningRate"]
