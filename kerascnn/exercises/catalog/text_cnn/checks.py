"""Checks of exercise 11: Conv1D lengths and max-over-time against Keras, the model against kerascnn's textcnn."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, expect_equal, function_of

NUMBER = 11
TITLE = "Kim's text CNN and max-over-time pooling"
LECTURE = "CNNs for text: 1D convolutions over word vectors, max-over-time pooling (Kim 2014)"

_LENGTH_HINT = "Revisit 1D convolution arithmetic: without padding a width-h filter fits L - h + 1 times."
_POOL_HINT = ("Revisit max-over-time pooling: the maximum of each feature map (channel) over the time axis "
              "(axis 1 of (batch, time, channels)), negative values included.")
_MODEL_HINT = ("Revisit Kim's CNN: Embedding(V, d) -> per width h Conv1D(F, h, ReLU, no padding) -> "
               "GlobalMaxPooling1D -> Concatenate -> Dropout -> Dense(K, softmax); parameters V*d + "
               "sum_h (h*d*F + F) + len(widths)*F*K + K (max-over-time keeps len(widths)*F features whatever L is).")


def closed_form_parameters(vocabulary_size, embedding_dim, filter_widths, filters, classes):
    """Kim's CNN parameter count: embedding + convolutions + classifier."""
    convolutions = sum(h * embedding_dim * filters + filters for h in filter_widths)
    return vocabulary_size * embedding_dim + convolutions + len(filter_widths) * filters * classes + classes


@check(points=1)
def conv1d_output_lengths(student):
    """Conv1D output lengths equal keras.layers.Conv1D's for several sentence lengths and widths."""
    import keras

    length = function_of(student, "conv1d_output_length")
    for sequence_length, width in ((56, 3), (56, 5), (10, 4), (7, 7), (100, 2)):
        layer = keras.layers.Conv1D(2, width)
        expected = layer.compute_output_shape((None, sequence_length, 8))[1]
        expect_equal(length(sequence_length, width), expected,
                     f"conv1d_output_length({sequence_length}, {width})", _LENGTH_HINT)


@check(points=1)
def max_over_time_matches_keras(student):
    """NumPy max-over-time equals keras.layers.GlobalMaxPooling1D on seeded feature maps."""
    import keras

    pool = function_of(student, "max_over_time")
    rng = np.random.default_rng(110)
    for shape in ((3, 10, 4), (2, 54, 100), (1, 1, 5)):
        maps = rng.normal(size=shape).astype("float32") - 1.0  # mostly negative: a max that starts at 0 fails
        expected = np.asarray(keras.layers.GlobalMaxPooling1D()(maps))
        expect_close(pool(maps.copy()), expected, f"max_over_time of feature maps {shape}", _POOL_HINT)


def _build(student, **kwargs):
    model = function_of(student, "build_text_cnn")(**kwargs)
    if not hasattr(model, "count_params") or not hasattr(model, "predict"):
        raise CheckFailed(f"build_text_cnn returned {type(model).__name__}; return a keras.Model.")
    return model


def _reference_parameters(vocabulary_size, sequence_length, embedding_dim, filter_widths, filters, dropout, classes):
    from kerascnn.models.kim_cnn import textcnn

    return textcnn(input_shape=(sequence_length,), classes=classes, vocabulary_size=vocabulary_size,
                   embedding_dim=embedding_dim, filter_widths=filter_widths, filters=filters,
                   dropout=dropout).count_params()


def _compare_parameters(student, settings):
    model = _build(student, **settings)
    args = {k: settings.get(k, d) for k, d in (("embedding_dim", 300), ("filter_widths", (3, 4, 5)),
                                                ("filters", 100), ("dropout", 0.5), ("classes", 2))}
    expected = _reference_parameters(settings["vocabulary_size"], settings["sequence_length"], **args)
    expect_equal(int(model.count_params()), expected, f"parameters of build_text_cnn({settings})", _MODEL_HINT)
    return model


@check(points=1)
def text_cnn_outputs_probabilities(student):
    """The model maps token ids (batch, L) to class probabilities (batch, K) that sum to 1."""
    for settings in ({"vocabulary_size": 500, "sequence_length": 20, "embedding_dim": 16, "filters": 8},
                     {"vocabulary_size": 300, "sequence_length": 12, "embedding_dim": 8, "filters": 4,
                      "classes": 5}):
        model = _build(student, **settings)
        classes = settings.get("classes", 2)
        expect_equal(tuple(model.output_shape), (None, classes), f"output shape of build_text_cnn({settings})",
                     _MODEL_HINT)
        ids = np.random.default_rng(111).integers(0, settings["vocabulary_size"], (4, settings["sequence_length"]))
        probabilities = np.asarray(model.predict(ids.astype("int32"), verbose=0))
        expect_close(probabilities.sum(axis=1), np.ones(4), f"row sums of the predictions ({settings})",
                     "End with a softmax over the classes. " + _MODEL_HINT, atol=1e-4)


@check(points=2)
def text_cnn_parameters_kim(student):
    """Kim's configuration (d=300, widths 3/4/5 x 100, 2 classes): 300 V + 360,300 + 602 parameters."""
    _compare_parameters(student, {"vocabulary_size": 5000, "sequence_length": 56})


@check(points=1, hidden=True)
def text_cnn_other_settings(student):
    """Other widths, map counts, classes and lengths; the model pools with a max over time."""
    for settings in ({"vocabulary_size": 300, "sequence_length": 20, "embedding_dim": 32, "filter_widths": (2, 3),
                      "filters": 16, "classes": 5},
                     {"vocabulary_size": 1000, "sequence_length": 9, "embedding_dim": 10, "filter_widths": (1, 4, 6, 9),
                      "filters": 7, "classes": 3}):
        model = _compare_parameters(student, settings)
        if not any("MaxPooling" in type(layer).__name__ for layer in model.layers):
            raise CheckFailed("the model has no max pooling layer: pool each feature map over time with "
                              "layers.GlobalMaxPooling1D. " + _MODEL_HINT)
