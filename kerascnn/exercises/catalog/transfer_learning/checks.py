"""Checks of exercise 12: parameter counts against Keras, and frozen BatchNorm unchanged by a training step."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, expect_equal, function_of

NUMBER = 12
TITLE = "Transfer learning: freeze a base, replace the head, frozen BatchNorm"
LECTURE = "Transfer learning and fine-tuning: frozen features, a new classifier, BatchNorm in inference mode"

_HEAD_HINT = ("Revisit the new head: base output -> GlobalAveragePooling2D -> Dropout -> Dense(classes, softmax), "
              "a model from the base's input to (batch, classes).")
_FREEZE_HINT = ("Revisit freezing: base.trainable = False freezes every layer of the base, BatchNorm's gamma and "
                "beta too; only the new classifier trains (C * classes + classes parameters for C channels).")
_COUNT_HINT = ("Revisit parameter counting: the trainable count is the sum of the sizes (product of the shape) "
               "of model.trainable_weights, the non-trainable count that of model.non_trainable_weights "
               "(BatchNorm's moving mean and variance are always non-trainable).")
_BN_HINT = ("Revisit frozen BatchNorm: a frozen base must run BatchNorm in inference mode (moving statistics, "
            "never updated): freeze the whole base (base.trainable = False) and call it with training=False.")


def small_base(input_shape=(16, 16, 3), seed=0, name="base"):
    """A small pretrained-looking base: two conv -> BatchNorm -> ReLU stages ending in a feature map."""
    import keras
    from keras import layers

    def initializer(k):
        return keras.initializers.HeNormal(seed=seed + k)

    inputs = keras.Input(input_shape)
    x = layers.Conv2D(8, 3, padding="same", use_bias=False, kernel_initializer=initializer(0))(inputs)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    x = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False, kernel_initializer=initializer(1))(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    model = keras.Model(inputs, x, name=name)
    rng = np.random.default_rng(seed)
    for layer in model.layers:  # "pretrained" moving statistics, not the fresh 0 / 1
        if isinstance(layer, layers.BatchNormalization):
            channels = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(scale=0.1, size=channels).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, channels).astype("float32"))
    return model


def _sizes(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def _new_model(student, base, classes):
    model = function_of(student, "freeze_and_replace_head")(base, classes)
    if not hasattr(model, "trainable_weights") or not hasattr(model, "predict"):
        raise CheckFailed(f"freeze_and_replace_head returned {type(model).__name__}; return a keras.Model.")
    return model


@check(points=1)
def head_outputs_class_probabilities(student):
    """The new model maps the base's images to (batch, classes) probabilities summing to 1."""
    for classes, seed in ((3, 0), (7, 1)):
        model = _new_model(student, small_base(seed=seed), classes)
        expect_equal(tuple(model.output_shape), (None, classes), f"output shape with {classes} classes", _HEAD_HINT)
        images = np.random.default_rng(seed).normal(size=(4, 16, 16, 3)).astype("float32")
        expect_close(np.asarray(model.predict(images, verbose=0)).sum(axis=1), np.ones(4),
                     f"row sums of the predictions ({classes} classes)", _HEAD_HINT, atol=1e-4)


def _check_frozen_counts(student, base, classes):
    frozen = base.count_params()
    model = _new_model(student, base, classes)
    channels = base.output_shape[-1]
    expect_equal(_sizes(model.trainable_weights), channels * classes + classes,
                 f"trainable parameters ({channels} channels, {classes} classes: only the new Dense layer)",
                 _FREEZE_HINT)
    expect_equal(_sizes(model.non_trainable_weights), frozen, "non-trainable parameters (the whole base)",
                 _FREEZE_HINT)
    return model


@check(points=2)
def only_the_head_is_trainable(student):
    """Trainable parameters are the new classifier's; the whole base is non-trainable."""
    for classes, seed in ((3, 2), (10, 3)):
        _check_frozen_counts(student, small_base(seed=seed), classes)


@check(points=1)
def count_parameters_matches_keras(student):
    """count_parameters equals Keras's sizes of trainable and non-trainable weights, frozen or not."""
    import keras
    from keras import layers

    count = function_of(student, "count_parameters")
    base = small_base(seed=4)
    partly = small_base(seed=5, name="partly_frozen")
    partly.layers[1].trainable = False  # only the first convolution frozen
    frozen = small_base(seed=6, name="frozen")
    frozen.trainable = False
    inputs = keras.Input((16, 16, 3))
    head = keras.Model(inputs, layers.Dense(4)(layers.GlobalAveragePooling2D()(frozen(inputs))))
    for what, model in (("an unfrozen base", base), ("a base with its first conv frozen", partly),
                        ("a frozen base with a Dense head", head)):
        got = count(model)
        expected = (_sizes(model.trainable_weights), _sizes(model.non_trainable_weights))
        got = tuple(int(v) for v in got) if isinstance(got, (tuple, list)) and len(got) == 2 else got
        expect_equal(got, expected, f"count_parameters of {what}", _COUNT_HINT)


@check(points=2, hidden=True)
def frozen_batchnorm_stays_in_inference_mode(student):
    """A training step changes the head only: BatchNorm moving statistics and base weights stay the same."""
    import keras

    base = small_base(seed=7)
    model = _new_model(student, base, 4)
    watched = sorted(base.weights, key=lambda w: "moving" not in w.path)  # moving statistics first
    before = [np.array(w) for w in watched]
    head_before = [np.array(w) for w in model.trainable_weights]
    rng = np.random.default_rng(8)
    images = rng.normal(1.0, 2.0, size=(16, 16, 16, 3)).astype("float32")
    labels = rng.integers(0, 4, 16)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    model.train_on_batch(images, labels)
    for weight, old in zip(watched, before):
        if not np.allclose(np.array(weight), old):
            kind = "moving statistic" if "moving" in weight.path else "weight"
            raise CheckFailed(f"the base's {kind} {weight.path} changed in a training step of the new model. "
                              f"{_BN_HINT}")
    if all(np.allclose(np.array(w), old) for w, old in zip(model.trainable_weights, head_before)):
        raise CheckFailed("a training step did not change the new head: its Dense layer must be trainable. "
                          f"{_FREEZE_HINT}")
    expect_close(np.asarray(base(images, training=True)), np.asarray(base(images, training=False)),
                 "the frozen base's output in a training call vs an inference call", _BN_HINT, rtol=1e-4, atol=1e-5)


@check(points=1, hidden=True)
def keras_applications_base(student):
    """The same on keras.applications' MobileNetV2 (no weights, 32x32): only the head is trainable."""
    import keras

    base = keras.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    _check_frozen_counts(student, base, 5)
