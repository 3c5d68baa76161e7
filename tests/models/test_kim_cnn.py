"""Kim's text CNN (2014): shapes, closed-form parameter counts, variants, receptive fields."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerascnn import models
from kerascnn.core.errors import UsageError
from kerascnn.models.kim_cnn import receptive_fields
from kerascnn.runtime.text import Tokenizer

CONV = 300 * 100 * (3 + 4 + 5) + 3 * 100  # Conv1D weights + biases for widths 3, 4, 5 x 100 maps
HEAD = 300 * 2 + 2  # softmax over the 300 pooled features


def trainable(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_rand_on_mr_vocabulary_is_closed_form(shared_data):
    from kerascnn import data

    texts = data.load_text("mr", shared_data).texts
    vocabulary = 2 + len({token for text in texts for token in Tokenizer.tokens(text)})  # + padding, [UNK]
    model = models.build("textcnn", vocabulary_size=vocabulary)
    assert vocabulary == 21_417  # MR as shipped (raw tokens; Kim cleaned them to 18,765 words)
    assert trainable(model) == 6_786_002
    assert trainable(model) == 300 * vocabulary + 360_902 == 300 * vocabulary + CONV + HEAD
    assert model.input_shape == (None, 56) and model.output_shape == (None, 2)


@pytest.mark.parametrize(
    "variant, expected_trainable, expected_total",
    [
        ("static", CONV + HEAD, 300 * 1000 + CONV + HEAD),
        ("non-static", 300 * 1000 + CONV + HEAD, 300 * 1000 + CONV + HEAD),
        # two channels: every filter spans 600 inputs per word; only the non-static table trains
        ("multichannel", 300 * 1000 + 600 * 100 * 12 + 300 + HEAD, 600 * 1000 + 600 * 100 * 12 + 300 + HEAD),
    ],
)
def test_pretrained_variants(variant, expected_trainable, expected_total):
    vectors = np.random.default_rng(0).normal(size=(1000, 300)).astype("float32")
    model = models.build("textcnn", vocabulary_size=1000, variant=variant, embeddings=vectors)
    assert trainable(model) == expected_trainable and model.count_params() == expected_total
    table = model.get_layer("embedding").embeddings.numpy()
    np.testing.assert_array_equal(table, vectors)  # initialised from the vectors


def test_2d_variant_is_the_same_network_as_an_image():
    """h x 300 Conv2D kernels over the L x 300 "image" compute exactly the Conv1D model."""
    one = models.build("textcnn", vocabulary_size=50, input_shape=(12,), embedding_dim=8, filters=4)
    two = models.build("textcnn_2d", vocabulary_size=50, input_shape=(12,), embedding_dim=8, filters=4)
    assert two.count_params() == one.count_params() and two.name == "textcnn_2d"
    weights = [w.reshape(two_w.shape) for w, two_w in zip(one.get_weights(), two.get_weights())]
    two.set_weights(weights)
    ids = np.random.default_rng(1).integers(0, 50, (6, 12)).astype("int32")
    np.testing.assert_allclose(two.predict(ids, verbose=0), one.predict(ids, verbose=0), atol=1e-6)


def test_receptive_fields_follow_the_dilation_formula():
    dilated = models.build("textcnn_dilated", vocabulary_size=100)
    assert receptive_fields(dilated) == {"conv1_dilation1": 3, "conv2_dilation2": 7, "conv3_dilation4": 15,
                                         "max_over_time": 15}
    assert receptive_fields(models.build("textcnn", vocabulary_size=100))["conv5"] == 5
    wider = models.build("textcnn_dilated", vocabulary_size=100, kernel_size=5, dilation_rates=(1, 3))
    assert receptive_fields(wider)["max_over_time"] == 1 + 4 * (1 + 3)


def test_max_norm_caps_the_classifier_weights():
    model = models.build("textcnn", vocabulary_size=30, input_shape=(8,), embedding_dim=4, filters=3)
    model.compile(optimizer=keras.optimizers.SGD(1000.0), loss="sparse_categorical_crossentropy")
    ids = np.random.default_rng(2).integers(0, 30, (16, 8)).astype("int32")
    model.fit(ids, np.arange(16) % 2, epochs=2, verbose=0)
    norms = np.linalg.norm(model.get_layer("predictions").kernel.numpy(), axis=0)
    assert np.all(norms <= 3.0 + 1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"variant": "static"}, "needs pretrained word vectors"),
        ({"variant": "rand", "embeddings": np.zeros((10, 300))}, "initialises word vectors at random"),
        ({"variant": "static", "embeddings": np.zeros((10, 50))}, "must have shape"),
        ({"variant": "wild"}, "`variant` argument"),
        ({"input_shape": (4,)}, "at least the widest filter"),
        ({"filter_widths": (3, 0)}, "filter_widths"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        models.build("textcnn", vocabulary_size=10, **kwargs)


def test_text_models_register_the_text_task():
    assert models.names(task="text") == ["textcnn", "textcnn_2d", "textcnn_dilated"]
