"""Custom layers of kerascnn.nn.layers: closed-form behaviour, configs, save/load."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerascnn.nn.layers import DropConnectDense, L2Normalize, LocalResponseNormalization, Maxout

RNG = np.random.default_rng(0)


def lrn_reference(a, size, bias, alpha, beta):
    """Krizhevsky et al. 2012, section 3.3, written as loops over channels."""
    channels = a.shape[-1]
    out = np.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - size // 2), min(channels - 1, i + size // 2)
        out[..., i] = a[..., i] / (bias + alpha * np.sum(a[..., lo : hi + 1] ** 2, axis=-1)) ** beta
    return out


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"size": 3, "bias": 1.0, "alpha": 0.5, "beta": 0.5}, {"size": 7, "bias": 2.0, "alpha": 1e-2, "beta": 0.75}],
)
def test_lrn_matches_the_paper_formula(kwargs):
    layer = LocalResponseNormalization(**kwargs)
    x = RNG.normal(scale=3.0, size=(2, 5, 4, 9)).astype("float32")
    expected = lrn_reference(x, layer.size, layer.bias, layer.alpha, layer.beta)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-5, atol=1e-6)


def test_lrn_defaults_are_krizhevsky_and_equal_tensorflow_lrn():
    import tensorflow as tf

    layer = LocalResponseNormalization()
    assert (layer.size, layer.bias, layer.alpha, layer.beta) == (5, 2.0, 1e-4, 0.75)
    x = RNG.normal(scale=20.0, size=(1, 3, 3, 16)).astype("float32")
    expected = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected.numpy(), rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{"size": 4}, {"size": 0}, {"alpha": -1.0}, {"beta": "x"}])
def test_lrn_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        LocalResponseNormalization(**kwargs)


def test_maxout_takes_the_max_of_consecutive_pieces():
    x = RNG.normal(size=(3, 12)).astype("float32")
    for pieces in (1, 2, 3, 4):
        out = keras.ops.convert_to_numpy(Maxout(pieces)(x))
        np.testing.assert_array_equal(out, x.reshape(3, 12 // pieces, pieces).max(axis=-1))


def test_maxout_on_feature_maps_and_symbolic_shapes():
    x = RNG.normal(size=(2, 4, 5, 6)).astype("float32")
    np.testing.assert_array_equal(Maxout(3)(x), x.reshape(2, 4, 5, 2, 3).max(axis=-1))  # channels
    np.testing.assert_array_equal(Maxout(2, axis=1)(x), x.reshape(2, 2, 2, 5, 6).max(axis=2))  # rows
    inputs = keras.Input(shape=(None, None, 8))
    assert Maxout(2)(inputs).shape == (None, None, None, 4)


def test_maxout_rejects_indivisible_features():
    with pytest.raises(ValueError, match="divisible by 3"):
        Maxout(3)(np.zeros((1, 8), "float32"))
    with pytest.raises(ValueError, match="pieces"):
        Maxout(0)


def test_l2_normalize_gives_unit_vectors_and_keeps_zero_finite():
    x = RNG.normal(scale=50.0, size=(4, 128)).astype("float32")
    x[0] = 0.0
    out = keras.ops.convert_to_numpy(L2Normalize()(x))
    np.testing.assert_allclose(np.linalg.norm(out[1:], axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out[1:], x[1:] / np.linalg.norm(x[1:], axis=-1, keepdims=True), rtol=1e-5)
    assert np.all(out[0] == 0.0)


def test_dropconnect_is_a_plain_dense_layer_at_inference():
    layer = DropConnectDense(7, rate=0.5, activation="relu", seed=1)
    x = RNG.normal(size=(5, 11)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (layer.kernel, layer.bias))
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0.0), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out, keras.ops.convert_to_numpy(layer(x, training=False)))


def test_dropconnect_drops_weights_in_training():
    rate = 0.25
    layer = DropConnectDense(4000, rate=rate, use_bias=False, kernel_initializer="ones", seed=3)
    # A one-hot input reads out one row of the (masked, rescaled) kernel.
    row = keras.ops.convert_to_numpy(layer(np.eye(3, dtype="float32")[:1], training=True))[0]
    assert set(np.unique(row)) <= {0.0, np.float32(1 / (1 - rate))}
    assert abs(np.mean(row == 0.0) - rate) < 0.03
    # The same mask for the whole batch: two identical inputs give the same output.
    pair = keras.ops.convert_to_numpy(layer(np.ones((2, 3), "float32"), training=True))
    np.testing.assert_array_equal(pair[0], pair[1])
    # rate=0 is a no-op even in training.
    plain = DropConnectDense(3, rate=0.0)
    x = RNG.normal(size=(2, 5)).astype("float32")
    np.testing.assert_array_equal(plain(x, training=True), plain(x))


def test_dropconnect_masked_weights_get_no_gradient():
    import tensorflow as tf

    layer = DropConnectDense(50, rate=0.5, use_bias=False, seed=0)
    x = tf.ones((1, 20))
    with tf.GradientTape() as tape:
        y = layer(x, training=True)
    grad = tape.gradient(y, layer.kernel).numpy()
    assert 0.3 < np.mean(grad == 0.0) < 0.7  # about half the weights were dropped
    assert set(np.unique(grad)) <= {0.0, 2.0}


@pytest.mark.parametrize("rate", [1.0, -0.1, "0.5", True])
def test_dropconnect_rejects_bad_rates(rate):
    with pytest.raises(ValueError, match="rate"):
        DropConnectDense(3, rate=rate)


@pytest.mark.parametrize(
    "layer",
    [
        LocalResponseNormalization(size=3, bias=1.5, alpha=0.01, beta=0.6, name="lrn"),
        Maxout(4, axis=-1, name="maxout"),
        L2Normalize(axis=-1, name="l2"),
        DropConnectDense(6, rate=0.3, seed=5, activation="tanh", name="dc"),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    config = keras.saving.serialize_keras_object(layer)
    assert config["registered_name"] == f"kerascnn>{type(layer).__name__}"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


def test_model_with_every_custom_layer_saves_and_loads(tmp_path):
    inputs = keras.Input(shape=(6, 6, 8))
    x = LocalResponseNormalization(name="lrn")(inputs)
    x = Maxout(2, name="maxout")(x)
    x = keras.layers.Flatten()(x)
    x = DropConnectDense(16, rate=0.5, seed=0, name="dropconnect")(x)
    x = L2Normalize(name="l2")(x)
    model = keras.Model(inputs, x)
    images = RNG.normal(scale=10.0, size=(3, 6, 6, 8)).astype("float32")
    path = tmp_path / "custom.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects: the layers are registered
    assert [type(layer).__name__ for layer in loaded.layers] == [type(layer).__name__ for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), model.predict(images, verbose=0))
    assert loaded.get_layer("dropconnect").rate == 0.5


@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")  # inside keras' tf2onnx shim
def test_custom_layers_convert_to_tflite_builtins_and_onnx(tmp_path):
    """The export stage ships no Flex/custom ops: every layer lowers to builtin operators."""
    import onnxruntime
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    inputs = keras.Input(shape=(6, 6, 8))
    x = LocalResponseNormalization()(inputs)
    x = Maxout(2)(x)
    x = keras.layers.Flatten()(x)
    x = DropConnectDense(16, rate=0.5, seed=0)(x)
    x = L2Normalize()(x)
    model = keras.Model(inputs, x)
    images = RNG.uniform(0, 255, size=(1, 6, 6, 8)).astype("float32")
    expected = keras.ops.convert_to_numpy(model(images))

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # fails on anything else
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], images)
    interpreter.invoke()
    tflite_output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(tflite_output, expected, atol=1e-6)

    path = str(tmp_path / "layers.onnx")
    model.export(path, format="onnx", input_signature=[keras.InputSpec(shape=(None, 6, 6, 8), dtype="float32")])
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: images})[0], expected, atol=1e-6)
