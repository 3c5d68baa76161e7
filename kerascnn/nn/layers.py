"""Layers from the classic CNN papers that Keras does not ship.

All are serialisable (``@keras.saving.register_keras_serializable(package="kerascnn")``),
so a model using them saves to ``.keras`` and loads back without ``custom_objects``
once ``kerascnn.nn.layers`` is imported (every model family using them imports it).

- :class:`LocalResponseNormalization`: AlexNet's cross-channel "brightness
  normalisation" (Krizhevsky et al., 2012), also ZFNet, GoogLeNet, FaceNet.
- :class:`Maxout`: max over groups of linear pieces (Goodfellow et al., 2013),
  FaceNet NN1's fully connected layers.
- :class:`L2Normalize`: project embeddings onto the unit sphere (FaceNet).
- :class:`DropConnectDense`: a ``Dense`` layer whose *weights* are randomly
  dropped while training (Wan et al., 2013).
- :class:`ZeroPadShortcut`: the CIFAR ResNets' parameter-free "option A" shortcut
  (He et al., 2015).

They are written with ``keras.ops`` only, so they convert to plain TFLite builtin
and ONNX operators.
"""

from __future__ import annotations

import keras
from keras import ops

from kerascnn.core.errors import UsageError
from kerascnn.core.checks import check_positive, check_rate

_PACKAGE = "kerascnn"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al., 2012).

    For the activity ``a[..., i]`` of channel ``i`` among ``N`` channels::

        b[..., i] = a[..., i] / (bias + alpha * sum_{j=max(0, i-size//2)}^{min(N-1, i+size//2)} a[..., j]**2) ** beta

    This is the paper's formula (section 3.3), the same as
    ``tf.nn.local_response_normalization(depth_radius=size // 2)``. Note that
    ``alpha`` is *not* divided by ``size`` (Caffe and PyTorch's
    ``LocalResponseNorm`` do divide it: use ``alpha = their_alpha / size``).

    Reference:
        A. Krizhevsky, I. Sutskever, G. E. Hinton. "ImageNet Classification with
        Deep Convolutional Neural Networks." NeurIPS 2012.

    Args:
        size: number of adjacent channels summed over (odd; the paper's ``n``).
        bias: additive constant (the paper's ``k``).
        alpha: scale of the sum of squares.
        beta: exponent.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``...).

    Input shape: any rank, channels last. Output shape: same as input.
    """

    def __init__(self, size: int = 5, bias: float = 2.0, alpha: float = 1e-4, beta: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        check_positive("size", size, int)
        if size % 2 == 0:
            raise UsageError(f"The `size` argument must be an odd window width. Received: size={size!r}")
        for arg, value in (("bias", bias), ("alpha", alpha), ("beta", beta)):
            check_positive(arg, value, float)
        self.size = int(size)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        channels = inputs.shape[-1]
        radius = self.size // 2
        squares = ops.square(inputs)
        pad = [[0, 0]] * (len(inputs.shape) - 1) + [[radius, radius]]
        padded = ops.pad(squares, pad)
        window_sum = padded[..., 0:channels]
        for offset in range(1, self.size):
            window_sum = window_sum + padded[..., offset : offset + channels]
        return inputs / ops.power(self.bias + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "bias": self.bias, "alpha": self.alpha, "beta": self.beta})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Maxout(keras.layers.Layer):
    """Maxout: the maximum over ``pieces`` consecutive features (Goodfellow et al., 2013).

    Put it after a linear layer with ``units * pieces`` outputs to get ``units``
    maxout units: ``Dense(8192)`` then ``Maxout(pieces=2)`` gives 4096 units, each
    the max of two linear functions (FaceNet NN1's "maxout p=2"). Unit ``u``
    takes features ``u * pieces ... u * pieces + pieces - 1``.

    Reference:
        I. J. Goodfellow, D. Warde-Farley, M. Mirza, A. Courville, Y. Bengio.
        "Maxout Networks." ICML 2013.

    Args:
        pieces: linear pieces per unit (the paper's ``k``), at least 1.
        axis: the feature axis to reduce (default last; channels for NHWC maps).
        **kwargs: base ``Layer`` arguments.

    Input shape: ``(..., units * pieces, ...)``. Output shape: ``(..., units, ...)``.
    """

    def __init__(self, pieces: int = 2, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        check_positive("pieces", pieces, int)
        self.pieces = int(pieces)
        self.axis = int(axis)

    def _split_shape(self, input_shape):
        axis = self.axis % len(input_shape)
        features = input_shape[axis]
        if features is None or features % self.pieces:
            raise ValueError(
                f"Maxout with pieces={self.pieces} needs a known feature count divisible by {self.pieces} "
                f"on axis {self.axis}. Received: input_shape={tuple(input_shape)}"
            )
        return axis, features // self.pieces

    def build(self, input_shape):
        self._split_shape(input_shape)

    def call(self, inputs):
        # Piece i of every unit is the strided slice i::pieces along `axis`.
        axis, _ = self._split_shape(inputs.shape)
        index = [slice(None)] * len(inputs.shape)
        result = None
        for piece in range(self.pieces):
            index[axis] = slice(piece, None, self.pieces)
            values = inputs[tuple(index)]
            result = values if result is None else ops.maximum(result, values)
        return result

    def compute_output_shape(self, input_shape):
        axis, units = self._split_shape(input_shape)
        return tuple(input_shape[:axis]) + (units,) + tuple(input_shape[axis + 1 :])

    def get_config(self):
        config = super().get_config()
        config.update({"pieces": self.pieces, "axis": self.axis})
        return config


@keras.saving.register_keras_serializable(package=_PACKAGE)
class L2Normalize(keras.layers.UnitNormalization):
    """Scale each vector to unit L2 norm: ``x / max(||x||_2, 1e-12)``.

    FaceNet's last layer: embeddings live on the unit hypersphere, so squared
    distances lie in ``[0, 4]`` and the triplet margin has a fixed scale. This is
    ``keras.layers.UnitNormalization`` under the name the lecture uses.

    Reference:
        F. Schroff, D. Kalenichenko, J. Philbin. "FaceNet: A Unified Embedding for
        Face Recognition and Clustering." CVPR 2015.

    Args:
        axis: axis or axes normalised together (default last).
        **kwargs: base ``Layer`` arguments.
    """


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DropConnectDense(keras.layers.Dense):
    """A ``Dense`` layer that drops random *weights* while training (DropConnect).

    Dropout zeroes activations; DropConnect zeroes each entry of the kernel and
    bias with probability ``rate`` (Wan et al., 2013). Kept weights are scaled
    by ``1 / (1 - rate)`` in training, so at inference the layer is the plain
    ``Dense`` layer with its full weights (the common "inverted" form; the
    paper's Gaussian moment-matching inference is not used). One mask is drawn
    per training step and shared by the batch (the paper draws one per example,
    at ``batch`` times the memory).

    Reference:
        L. Wan, M. Zeiler, S. Zhang, Y. LeCun, R. Fergus. "Regularization of
        Neural Networks using DropConnect." ICML 2013.

    Args:
        units: output features.
        rate: probability of dropping each weight, in ``[0, 1)``.
        seed: seed of the masks (``None``: random).
        **kwargs: every other ``keras.layers.Dense`` argument (``activation``, ...).
    """

    def __init__(self, units: int, rate: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(units, **kwargs)
        check_rate("rate", rate)
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        kernel, bias = self.kernel, self.bias
        if training and self.rate > 0:
            kernel = keras.random.dropout(kernel, self.rate, seed=self.seed_generator)
            if bias is not None:
                bias = keras.random.dropout(bias, self.rate, seed=self.seed_generator)
        x = ops.matmul(inputs, kernel)
        if bias is not None:
            x = ops.add(x, bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config




@keras.saving.register_keras_serializable(package="kerascnn")
class ZeroPadShortcut(keras.layers.Layer):
    """The parameter-free "option A" shortcut of He et al. (2015), Section 3.3.

    Subsamples the input by ``strides`` (keeps every ``strides``-th row and column,
    like a 1x1 convolution with that stride would) and appends zero channels up to
    ``filters``, so the shortcut matches a residual branch that doubled its channels
    and halved its resolution without adding any weights.

    Args:
        filters: number of output channels (at least the input's).
        strides: subsampling factor.
    """

    def __init__(self, filters: int, strides: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)

    def call(self, inputs):
        x = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]])

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        height = None if height is None else -(-height // self.strides)
        width = None if width is None else -(-width // self.strides)
        return (batch, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


__all__ = ["LocalResponseNormalization", "Maxout", "L2Normalize", "DropConnectDense", "ZeroPadShortcut"]
