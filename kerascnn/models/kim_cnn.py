"""Kim's CNN for sentence classification (2014): text as an image of width one.

Reference:
    Y. Kim. "Convolutional Neural Networks for Sentence Classification." EMNLP 2014.

A sentence of ``L`` token ids becomes an ``L x 300`` matrix of word vectors
(the embedding); parallel 1D convolutions of widths 3, 4 and 5 words with 100
feature maps each slide over it (ReLU), max-over-time pooling keeps each map's
strongest response wherever it occurs, and the 300 pooled features go through
dropout 0.5 to a softmax whose weight vectors are rescaled to an L2 norm of at
most 3. The models here take **token ids** (the numeric part that is exported);
:mod:`kerascnn.tasks.text` puts a ``keras.layers.TextVectorization`` in front so
the trained model reads raw sentences.

Variants (Kim's Table 2), chosen with ``variant``:

- ``"rand"``: word vectors initialised at random and trained;
- ``"static"``: pretrained vectors (``embeddings``), kept fixed;
- ``"non-static"``: pretrained vectors, fine-tuned;
- ``"multichannel"``: two channels of pretrained vectors, one fixed and one
  fine-tuned; every filter sees both (its weights span the two channels).

Two lecture variants: ``textcnn_2d`` treats the sentence as a one-channel
``L x 300`` image and convolves with ``h x 300`` kernels that span the whole
embedding width (Conv2D; the same numbers as the 1D model), and
``textcnn_dilated`` stacks width-3 convolutions with dilations 1, 2, 4 whose
receptive field grows to ``1 + 2 (1 + 2 + 4) = 15`` words
(:func:`receptive_fields`).
"""

from __future__ import annotations

#: The zoo names this module registers (read without importing it: fast did-you-mean).
NAMES = ("textcnn", "textcnn_2d", "textcnn_dilated")

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers

from kerascnn.core.errors import UsageError
from kerascnn.analysis.receptive_field import receptive_fields  # noqa: F401  (the lecture's formula)
from kerascnn.models import register
from kerascnn.models.common import check_choice, check_positive, check_rate
from kerascnn.tasks.text import VARIANTS
#: Kim's sentence length on MR is that of the longest sentence (56 tokens).
DEFAULT_SEQUENCE_LENGTH = 56
#: Vocabulary size of the zoo's default build (shapes only; training adapts it to the data).
DEFAULT_VOCABULARY_SIZE = 20_000
PAPER = "Kim, Convolutional Neural Networks for Sentence Classification"


def _check_args(vocabulary_size, sequence_length, embedding_dim, variant, embeddings, filter_widths, filters,
                dropout, max_norm, classes):
    check_positive("vocabulary_size", vocabulary_size, int)
    check_positive("embedding_dim", embedding_dim, int)
    check_positive("filters", filters, int)
    check_positive("classes", classes, int)
    check_rate("dropout", dropout)
    check_choice("variant", variant, VARIANTS)
    widths = tuple(filter_widths)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise UsageError(f"`filter_widths` must be positive integers. Received: filter_widths={filter_widths!r}")
    check_positive("sequence_length", sequence_length, int)
    if sequence_length < max(widths):
        raise UsageError(
            f"`sequence_length` must be at least the widest filter ({max(widths)}). "
            f"Received: sequence_length={sequence_length}"
        )
    if max_norm is not None:
        check_positive("max_norm", max_norm, float)
    if variant == "rand" and embeddings is not None:
        raise UsageError("variant 'rand' initialises word vectors at random: pass `embeddings` with "
                         "'static', 'non-static' or 'multichannel'.")
    if variant != "rand":
        if embeddings is None:
            raise UsageError(f"variant {variant!r} needs pretrained word vectors (`embeddings`, --vectors PATH).")
        shape = np.shape(embeddings)
        if shape != (vocabulary_size, embedding_dim):
            raise UsageError(
                f"`embeddings` must have shape (vocabulary_size, embedding_dim) = ({vocabulary_size}, "
                f"{embedding_dim}). Received: shape={shape}"
            )
    return widths


def _embedded(token_ids, variant, vocabulary_size, embedding_dim, embeddings):
    """The ``(L, d)`` word-vector matrix (``(L, 2d)`` for two channels, fixed first)."""
    def embedding(name, trainable):
        init = "uniform" if embeddings is None else keras.initializers.Constant(np.asarray(embeddings, "float32"))
        return layers.Embedding(vocabulary_size, embedding_dim, embeddings_initializer=init, trainable=trainable,
                                name=name)(token_ids)

    if variant == "multichannel":
        return layers.Concatenate(name="channels")(
            [embedding("embedding_static", False), embedding("embedding", True)]
        )
    return embedding("embedding", variant != "static")


def _head(features, *, include_top, dropout, max_norm, classes, classifier_activation):
    if not include_top:
        return features
    x = layers.Dropout(dropout, name="dropout")(features)
    constraint = keras.constraints.MaxNorm(max_norm, axis=0) if max_norm else None
    return layers.Dense(classes, activation=classifier_activation, kernel_constraint=constraint,
                        name="predictions")(x)


def textcnn(
    include_top: bool = True,
    input_shape=None,
    classes: int = 2,
    classifier_activation="softmax",
    vocabulary_size: int = DEFAULT_VOCABULARY_SIZE,
    embedding_dim: int = 300,
    variant: str = "rand",
    embeddings=None,
    filter_widths: Sequence[int] = (3, 4, 5),
    filters: int = 100,
    dropout: float = 0.5,
    max_norm: float | None = 3.0,
    conv: str = "1d",
    name: str | None = None,
) -> keras.Model:
    """Instantiates Kim's CNN on token ids (0 = padding, 1 = out of vocabulary).

    Reference:
        Kim, "Convolutional Neural Networks for Sentence Classification", EMNLP 2014.

    ``variant="rand"`` has ``embedding_dim * vocabulary_size`` embedding weights plus
    ``sum_h (h * embedding_dim * filters + filters)`` convolution weights plus the
    classifier's ``len(filter_widths) * filters * classes + classes``: with Kim's
    numbers ``300 V + 360,300 + 602`` trainable parameters.

    Args:
        include_top: whether to include dropout and the softmax classifier
            (otherwise the output is the pooled feature vector).
        input_shape: ``(sequence_length,)``, default ``(56,)``.
        classes: number of output classes.
        classifier_activation: activation of the output layer (``None`` for logits).
        vocabulary_size: rows of the embedding, padding and OOV included.
        embedding_dim: word-vector size (300 for word2vec).
        variant: ``"rand"``, ``"static"``, ``"non-static"`` or ``"multichannel"``.
        embeddings: ``(vocabulary_size, embedding_dim)`` initial vectors
            (:func:`kerascnn.data.vectors.embedding_matrix`); needed by all but ``"rand"``.
        filter_widths: convolution widths in words, one branch each.
        filters: feature maps per width.
        dropout: dropout rate before the classifier.
        max_norm: largest L2 norm of each class's weight vector (``None``: unconstrained).
        conv: ``"1d"`` (Conv1D over the word axis) or ``"2d"`` (the lecture's
            one-channel image with ``h x embedding_dim`` kernels).
        name: model name (default ``textcnn``, ``textcnn_2d`` for ``conv="2d"``).

    Returns:
        A ``keras.Model`` taking int32 token ids ``(batch, sequence_length)``.
    """
    check_choice("conv", conv, ("1d", "2d"))
    name = name or ("textcnn_2d" if conv == "2d" else "textcnn")
    sequence_length = _sequence_length(input_shape)
    widths = _check_args(vocabulary_size, sequence_length, embedding_dim, variant, embeddings, filter_widths,
                         filters, dropout, max_norm, classes)
    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    x = _embedded(token_ids, variant, vocabulary_size, embedding_dim, embeddings)
    pooled = []
    if conv == "2d":
        channels = 2 if variant == "multichannel" else 1
        x = layers.Reshape((sequence_length, channels, embedding_dim), name="as_image")(x)
        x = layers.Permute((1, 3, 2), name="channels_last")(x)  # (L, d, channels): a one/two-channel image
        for h in widths:
            y = layers.Conv2D(filters, (h, embedding_dim), activation="relu", name=f"conv{h}")(x)
            pooled.append(layers.GlobalMaxPooling2D(name=f"max_over_time{h}")(y))
    else:
        for h in widths:
            y = layers.Conv1D(filters, h, activation="relu", name=f"conv{h}")(x)
            pooled.append(layers.GlobalMaxPooling1D(name=f"max_over_time{h}")(y))
    features = pooled[0] if len(pooled) == 1 else layers.Concatenate(name="features")(pooled)
    outputs = _head(features, include_top=include_top, dropout=dropout, max_norm=max_norm, classes=classes,
                    classifier_activation=classifier_activation)
    return keras.Model(token_ids, outputs, name=name)


def textcnn_dilated(
    include_top: bool = True,
    input_shape=None,
    classes: int = 2,
    classifier_activation="softmax",
    vocabulary_size: int = DEFAULT_VOCABULARY_SIZE,
    embedding_dim: int = 300,
    variant: str = "rand",
    embeddings=None,
    kernel_size: int = 3,
    dilation_rates: Sequence[int] = (1, 2, 4),
    filters: int = 100,
    dropout: float = 0.5,
    max_norm: float | None = 3.0,
    name: str = "textcnn_dilated",
) -> keras.Model:
    """A stack of dilated 1D convolutions (``padding="same"``) + max-over-time pooling.

    Each layer ``i`` (kernel ``k``, dilation ``d_i``) widens the receptive field by
    ``(k - 1) d_i`` words: ``1 + (k - 1) sum(d_i)`` = 15 for ``k=3``, ``d=(1, 2, 4)``,
    the dilation formula of the lecture (Yu & Koltun 2016) on a sentence.
    """
    check_positive("kernel_size", kernel_size, int)
    rates = tuple(dilation_rates)
    if not rates or any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in rates):
        raise UsageError(f"`dilation_rates` must be positive integers. Received: dilation_rates={dilation_rates!r}")
    sequence_length = _sequence_length(input_shape)
    _check_args(vocabulary_size, sequence_length, embedding_dim, variant, embeddings, (kernel_size,), filters,
                dropout, max_norm, classes)
    token_ids = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    x = _embedded(token_ids, variant, vocabulary_size, embedding_dim, embeddings)
    for i, rate in enumerate(rates, start=1):
        x = layers.Conv1D(filters, kernel_size, dilation_rate=rate, padding="same", activation="relu",
                          name=f"conv{i}_dilation{rate}")(x)
    features = layers.GlobalMaxPooling1D(name="max_over_time")(x)
    outputs = _head(features, include_top=include_top, dropout=dropout, max_norm=max_norm, classes=classes,
                    classifier_activation=classifier_activation)
    return keras.Model(token_ids, outputs, name=name)


def _sequence_length(input_shape) -> int:
    if input_shape is None:
        return DEFAULT_SEQUENCE_LENGTH
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else (input_shape,)
    if len(shape) != 1 or isinstance(shape[0], bool) or not isinstance(shape[0], int) or shape[0] < 1:
        raise UsageError(f"`input_shape` must be (sequence_length,). Received: input_shape={input_shape!r}")
    return shape[0]


for _name, _builder, _description in (
    ("textcnn", textcnn, "Kim's sentence CNN: embedding 300, Conv1D widths 3/4/5 x 100, max-over-time, "
                         "dropout 0.5, max-norm 3 softmax; variant rand|static|non-static|multichannel"),
    ("textcnn_2d", textcnn, "Kim's CNN as the lecture draws it: the sentence as an L x 300 image, "
                            "h x 300 Conv2D kernels"),
    ("textcnn_dilated", textcnn_dilated, "Dilated Conv1D stack (dilations 1, 2, 4; receptive field 15 words), "
                                         "max-over-time"),
):
    register(_name, _builder, family="TextCNN", paper=PAPER, year=2014,
             default_input_shape=(DEFAULT_SEQUENCE_LENGTH,), task="text", description=_description,
             **({"conv": "2d"} if _name == "textcnn_2d" else {}))
