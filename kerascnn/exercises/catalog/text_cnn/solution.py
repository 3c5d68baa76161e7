"""Exercise 11, reference solution: Kim's text CNN and max-over-time pooling."""

import keras
import numpy as np
from keras import layers


def conv1d_output_length(sequence_length, width):
    """``L - h + 1``: positions where a width-``h`` filter fits in ``L`` words."""
    return sequence_length - width + 1


def max_over_time(feature_maps):
    """The strongest response of each feature map over the sentence."""
    return np.max(np.asarray(feature_maps), axis=1)


def build_text_cnn(vocabulary_size, sequence_length, embedding_dim=300, filter_widths=(3, 4, 5), filters=100,
                   dropout=0.5, classes=2):
    """Kim (2014): embedding, parallel Conv1D widths, max-over-time, dropout, softmax."""
    token_ids = keras.Input(shape=(sequence_length,), dtype="int32")
    x = layers.Embedding(vocabulary_size, embedding_dim)(token_ids)
    pooled = [layers.GlobalMaxPooling1D()(layers.Conv1D(filters, h, activation="relu")(x)) for h in filter_widths]
    features = pooled[0] if len(pooled) == 1 else layers.Concatenate()(pooled)
    outputs = layers.Dense(classes, activation="softmax")(layers.Dropout(dropout)(features))
    return keras.Model(token_ids, outputs)
