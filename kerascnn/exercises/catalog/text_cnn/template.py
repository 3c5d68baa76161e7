"""Exercise 11: Kim's CNN for sentence classification, and max-over-time pooling.

Lecture idea: a sentence is an image of width one. Its ``L`` token ids become an ``L x d``
matrix of word vectors (an Embedding); 1D convolutions of widths 3, 4 and 5 words with 100
feature maps each slide along the sentence (ReLU, no padding); *max-over-time* pooling keeps
each feature map's strongest response wherever it occurs, so sentences of any length give a
fixed-size vector (3 x 100 = 300 features); dropout 0.5 and a softmax classifier follow.

Reference: Y. Kim, "Convolutional Neural Networks for Sentence Classification", EMNLP 2014.

Parameters with vocabulary ``V``, embedding size ``d``, widths ``h``, ``F`` maps per width and
``K`` classes: ``V*d + sum_h (h*d*F + F) + len(widths)*F*K + K`` (Kim: ``300 V + 360,300 + 602``).

Use Keras (``keras.layers``) for the model and NumPy for ``max_over_time``. The checks compare
with ``keras.layers.Conv1D``/``GlobalMaxPooling1D`` and with the closed form above.
"""

import keras
import numpy as np
from keras import layers


def conv1d_output_length(sequence_length, width):
    """Length of a Conv1D's output (stride 1, no padding) on a sentence of ``sequence_length`` words."""
    raise NotImplementedError("TODO: output length of a 'valid' 1D convolution")


def max_over_time(feature_maps):
    """Max-over-time pooling in NumPy: ``(batch, time, channels)`` -> ``(batch, channels)``."""
    raise NotImplementedError("TODO: max over the time axis")


def build_text_cnn(vocabulary_size, sequence_length, embedding_dim=300, filter_widths=(3, 4, 5), filters=100,
                   dropout=0.5, classes=2):
    """Kim's CNN on int token ids of shape ``(batch, sequence_length)``; outputs class probabilities.

    Embedding(vocabulary_size, embedding_dim) -> for each width h: Conv1D(filters, h, ReLU)
    -> max-over-time (layers.GlobalMaxPooling1D) -> concatenate -> Dropout -> Dense(classes, softmax).
    """
    # Hint: token_ids = keras.Input(shape=(sequence_length,), dtype="int32")
    raise NotImplementedError("TODO: Kim's text CNN with the functional API")


if __name__ == "__main__":
    model = build_text_cnn(20_000, 56)
    model.summary()
