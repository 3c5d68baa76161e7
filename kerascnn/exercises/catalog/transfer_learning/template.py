"""Exercise 12: transfer learning: freeze a base, replace the head, keep frozen BatchNorm in inference mode.

Lecture idea: features learned on a large data set transfer; with little data, train only a
new classifier on top of a frozen base (then, perhaps, fine-tune with a small learning rate).

* Freezing: ``base.trainable = False`` makes every weight of the base non-trainable, the
  BatchNorm ``gamma``/``beta`` included (its moving mean and variance are never trainable).
* The new head: global average pooling of the base's feature map, dropout, and a softmax
  ``Dense(classes)``: ``C * classes + classes`` trainable parameters for ``C`` channels.
* BatchNorm in a frozen base must stay in *inference mode* (use the moving statistics and
  never update them), or training the head would silently change the base. Call the base
  with ``training=False`` when you build the new model (the Keras transfer-learning guide's
  idiom; Keras 3 also runs a non-trainable BatchNorm layer in inference mode).

Use Keras. The checks build a small conv/BatchNorm base (and a ``keras.applications``
MobileNetV2 without weights), call your functions, count parameters and run a training step.
"""

import keras
import numpy as np
from keras import layers


def freeze_and_replace_head(base, classes, dropout=0.2):
    """A new ``keras.Model``: the frozen ``base`` (a model ending in a feature map) with a new classifier.

    Args:
        base: a ``keras.Model`` from images ``(H, W, 3)`` to a feature map ``(h, w, C)``.
        classes: number of classes of the new task.
        dropout: dropout rate before the classifier.

    Returns:
        A model from the base's input to class probabilities ``(batch, classes)``.
    """
    # Hint: inputs = keras.Input(base.input_shape[1:]); x = base(inputs, training=False); ...
    raise NotImplementedError("TODO: freeze the base and put a new head on it")


def count_parameters(model):
    """``(trainable, non_trainable)``: how many numbers training updates, and how many it does not."""
    # Hint: model.trainable_weights, model.non_trainable_weights; each weight has a .shape
    raise NotImplementedError("TODO: count trainable and non-trainable parameters")


if __name__ == "__main__":
    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(96, 96, 3))
    model = freeze_and_replace_head(base, classes=5)
    print(count_parameters(model))
