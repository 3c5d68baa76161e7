"""One call to make a run reproducible: seed Python, NumPy, TensorFlow/Keras."""

from __future__ import annotations


def set_global_seed(seed: int, deterministic: bool = True) -> None:
    """Seed ``random``, NumPy and TensorFlow, and (by default) turn on op determinism.

    With determinism on, the same command twice on CPU gives bit-identical weights.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))  # seeds python, numpy and the backend
    if deterministic:
        tf.config.experimental.enable_op_determinism()
