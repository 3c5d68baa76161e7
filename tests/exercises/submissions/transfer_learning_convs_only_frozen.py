"""A realistic wrong exercise-12 submission: freezes the convolutions but leaves BatchNorm trainable."""

import keras
import numpy as np
from keras import layers


def freeze_and_replace_head(base, classes, dropout=0.2):
    for layer in base.layers:
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D)):
            layer.trainable = False  # BatchNorm layers left trainable (and in training mode)
    inputs = keras.Input(base.input_shape[1:])
    x = base(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def count_parameters(model):
    def size(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    return size(model.trainable_weights), size(model.non_trainable_weights)
