"""The optimizers ``--optimizer`` names, and the Keras optimizer each one builds.

The table imports nothing heavy, so the ``train`` command lists the choices
without TensorFlow; :func:`make_optimizer` imports Keras.

References: Sutskever et al. 2013 (momentum, Nesterov), Duchi et al. 2011
(Adagrad), Tieleman & Hinton 2012 (RMSprop), Kingma & Ba 2015 (Adam), Reddi et
al. 2018 (AMSGrad), Loshchilov & Hutter 2019 (AdamW, decoupled weight decay).
"""

from __future__ import annotations

#: name -> (keras optimizer class, fixed keyword arguments, default learning rate)
OPTIMIZERS: dict[str, tuple[str, dict, float]] = {
    "sgd": ("SGD", {}, 0.01),
    "momentum": ("SGD", {"momentum": 0.9}, 0.01),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}, 0.01),
    "adagrad": ("Adagrad", {}, 0.01),
    "rmsprop": ("RMSprop", {}, 0.001),
    "adam": ("Adam", {}, 0.001),
    "amsgrad": ("Adam", {"amsgrad": True}, 0.001),
    "adamw": ("AdamW", {}, 0.001),
}

#: The optimizer whose ``weight_decay`` is decoupled (not a loss penalty).
DECOUPLED_DECAY = "adamw"


def default_learning_rate(name: str) -> float:
    """The usual initial learning rate of optimizer ``name``."""
    return OPTIMIZERS[name][2]


def make_optimizer(config, learning_rate):
    """The Keras optimizer for ``config.optimizer`` (AdamW: decoupled ``config.weight_decay``).

    Args:
        config: a :class:`~kerascnn.training.config.TrainConfig`.
        learning_rate: a float or a ``keras.optimizers.schedules.LearningRateSchedule``.
    """
    import keras

    class_name, fixed, _ = OPTIMIZERS[config.optimizer]
    kwargs = dict(fixed)
    if config.optimizer == DECOUPLED_DECAY:
        kwargs["weight_decay"] = config.weight_decay
    optimizer = getattr(keras.optimizers, class_name)(learning_rate=learning_rate, **kwargs)
    if config.optimizer == DECOUPLED_DECAY:
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


__all__ = ["OPTIMIZERS", "DECOUPLED_DECAY", "default_learning_rate", "make_optimizer"]
