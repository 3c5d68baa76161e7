"""Pair heads for Siamese networks, serialisable (``keras.ops`` only, so they export).

- :class:`AbsoluteDifference`: ``|f(x1) - f(x2)|`` per component, Koch et al.'s (2015)
  weighted L1 head when followed by ``Dense(1, sigmoid)``.
- :class:`EuclideanDistance`: ``||f(x1) - f(x2)||_2`` for the contrastive loss (Hadsell
  et al. 2006): an unbounded distance, never squashed by a sigmoid.
- :class:`CosineClassifier`: cosines to learned class centres, the head of CosFace / ArcFace.
- :class:`WeightedChiSquare`: DeepFace's weighted chi-square distance (Taigman et al.
  2014, section 4.1) ``sum_i w_i (f1_i - f2_i)**2 / (f1_i + f2_i)`` with learned weights.
"""

from __future__ import annotations

import keras
from keras import ops

_PACKAGE = "kerascnn"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class AbsoluteDifference(keras.layers.Layer):
    """``[a, b] -> |a - b|`` (Koch et al. 2015's L1 component distance)."""

    def call(self, inputs):
        first, second = inputs
        return ops.abs(first - second)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EuclideanDistance(keras.layers.Layer):
    """``[a, b] -> ||a - b||_2`` of shape ``(batch, 1)``, with a finite gradient at 0."""

    def call(self, inputs):
        first, second = inputs
        squared = ops.sum(ops.square(first - second), axis=-1, keepdims=True)
        return ops.sqrt(ops.maximum(squared, 1e-12))

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], 1)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class WeightedChiSquare(keras.layers.Layer):
    """DeepFace's weighted chi-square distance between two non-negative feature vectors.

    Reference:
        Y. Taigman, M. Yang, M. Ranzato, L. Wolf. "DeepFace: Closing the Gap to
        Human-Level Performance in Face Verification." CVPR 2014, section 4.1.

    ``[f1, f2] -> sum_i w_i (f1_i - f2_i)**2 / (f1_i + f2_i + epsilon)``, shape
    ``(batch, 1)``; the weights ``w`` start at 1 and are learned (the paper fits them
    with an SVM; here by gradient descent with the rest of the network).
    """

    def __init__(self, epsilon: float = 1e-7, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.w = self.add_weight(name="weights", shape=(int(input_shape[0][-1]),), initializer="ones")

    def call(self, inputs):
        first, second = inputs
        terms = ops.square(first - second) / (first + second + self.epsilon)
        return ops.sum(terms * self.w, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (*input_shape[0][:-1], 1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class CosineClassifier(keras.layers.Layer):
    """``embeddings -> (batch, classes)`` cosines to learned class centres (NormFace, Wang et al. 2017).

    The head of the large-margin softmax losses (CosFace, ArcFace: :mod:`kerascnn.nn.losses`):
    a ``Dense`` layer without bias whose columns and inputs are L2-normalised, so each
    output is ``cos(theta_j)`` in ``[-1, 1]``. Used for training only; the embedding is its input.
    """

    def __init__(self, classes: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
            raise ValueError(f"`classes` must be an integer >= 2. Received: classes={classes!r}")
        self.classes = classes

    def build(self, input_shape):
        self.centres = self.add_weight(name="centres", shape=(int(input_shape[-1]), self.classes),
                                       initializer="glorot_uniform")

    def call(self, embeddings):
        unit = embeddings / ops.maximum(ops.norm(embeddings, axis=-1, keepdims=True), 1e-12)
        centres = self.centres / ops.maximum(ops.norm(self.centres, axis=0, keepdims=True), 1e-12)
        return ops.matmul(unit, centres)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.classes)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes}
