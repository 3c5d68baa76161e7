"""Exercise 12, reference solution: a frozen base with a new classifier head."""

import keras
import numpy as np
from keras import layers


def freeze_and_replace_head(base, classes, dropout=0.2):
    """Freeze ``base`` and add global average pooling, dropout and a softmax classifier."""
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = base(inputs, training=False)  # frozen BatchNorm stays in inference mode
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def count_parameters(model):
    """Sum of the sizes of the trainable and of the non-trainable weights."""
    def size(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    return size(model.trainable_weights), size(model.non_trainable_weights)
