"""kerascnn.training.callbacks: LR logging in fit, the loss-curve diagnosis, the LR range test."""

from __future__ import annotations

import csv
import json
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerascnn.training import callbacks

from kerascnn.training import schedules
from kerascnn.core.errors import UsageError

# --------------------------------------------------------------------------- tiny problem


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 3))).argmax(axis=1)
    return x, y


def tiny_model(optimizer, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3, activation="softmax")]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


# --------------------------------------------------------------------------- LR logger


def test_lr_logger_records_the_schedule_at_each_epoch_start(data, tmp_path):
    x, y = data
    steps_per_epoch, epochs = 4, 5
    learning_rate = schedules.build("cosine:warmup=1", initial_lr=0.05, steps_per_epoch=steps_per_epoch, epochs=epochs)
    model = tiny_model(keras.optimizers.SGD(learning_rate))
    csv_path = tmp_path / "history.csv"
    history = model.fit(x, y, batch_size=32, epochs=epochs, verbose=0,
                        callbacks=[callbacks.LearningRateLogger(), keras.callbacks.CSVLogger(csv_path)])
    expected = schedules.values(learning_rate, epochs * steps_per_epoch)[::steps_per_epoch]
    np.testing.assert_allclose(history.history["lr"], expected, rtol=1e-6)
    assert history.history["lr"][0] == 0.0 and history.history["lr"][1] == pytest.approx(0.05)
    with open(csv_path) as handle:
        rows = list(csv.DictReader(handle))
    np.testing.assert_allclose([float(r["lr"]) for r in rows], expected, rtol=1e-6)


def test_lr_logger_follows_reduce_on_plateau(data):
    x, y = data
    # An LR this small cannot improve the loss by min_delta: every epoch is a plateau.
    model = tiny_model(keras.optimizers.SGD(1e-9))
    plateau = schedules.plateau_callback("plateau:monitor=loss,patience=0,factor=0.5")
    history = model.fit(x, y, batch_size=64, epochs=4, verbose=0,
                        callbacks=[callbacks.LearningRateLogger(), plateau])
    np.testing.assert_allclose(history.history["lr"], [1e-9, 1e-9, 5e-10, 2.5e-10], rtol=1e-5)
    # ReduceLROnPlateau logs the same value (before its reduction) as learning_rate.
    np.testing.assert_allclose(history.history["learning_rate"], history.history["lr"], rtol=1e-6)


# --------------------------------------------------------------------------- diagnosis


def history(loss, val_loss=None, acc=None, val_acc=None):
    out = {"loss": loss}
    if val_loss is not None:
        out["val_loss"] = val_loss
    if acc is not None:
        out["accuracy"] = acc
    if val_acc is not None:
        out["val_accuracy"] = val_acc
    return out


@pytest.mark.parametrize(
    "curves, verdict",
    [
        (history([2.3, 1.2, float("nan")]), "lr_too_high"),
        (history([2.3, 2.0, float("inf")], [2.2, 2.1, 2.5]), "lr_too_high"),
        (history([2.3, 1.0, 4.0, 9.0], [2.0, 1.1, 3.9, 8.0]), "lr_too_high"),
        (history([1.0, 0.3, 0.1, 0.02], [0.9, 0.5, 0.5, 0.6], [0.6, 0.9, 0.97, 1.0], [0.6, 0.8, 0.85, 0.86]),
         "overfitting"),
        (history([1.0, 0.5, 0.3, 0.2, 0.1], [0.9, 0.6, 0.5, 0.65, 0.8]), "overfitting"),
        (history([1.0, 0.5, 0.2, 0.1], [1.0, 0.6, 0.5, 0.45]), "overfitting"),  # no accuracy: 4.5x the loss
        (history([2.0, 1.5, 1.3, 1.2], [2.0, 1.5, 1.3, 1.25], [0.3, 0.45, 0.5, 0.55], [0.3, 0.45, 0.5, 0.54]),
         "underfitting"),
        (history([2.30, 2.29, 2.28, 2.27], [2.30, 2.29, 2.28, 2.27], [0.1, 0.11, 0.12, 0.12], [0.1, 0.1, 0.12, 0.12]),
         "lr_too_low"),
        (history([2.30, 2.29, 2.28]), "lr_too_low"),  # no validation, no accuracy
        (history([0.5, 0.1, 0.05, 0.03], [0.3, 0.08, 0.05, 0.045], [0.85, 0.97, 0.985, 0.99], [0.9, 0.975, 0.98, 0.985]),
         "healthy"),
        (history([0.021, 0.020, 0.020], [0.03, 0.03, 0.03], [0.995, 0.996, 0.996], [0.99, 0.99, 0.99]),
         "healthy"),  # converged: flat but low
        (history([0.3, 0.05, 0.03, 0.02, 0.015], [0.1, 0.03, 0.021, 0.024, 0.026],
                 [0.9, 0.98, 0.99, 0.995, 0.997], [0.97, 0.99, 0.992, 0.991, 0.991]),
         "healthy"),  # a 99 % model's val loss wobbling 0.021 -> 0.026 is not overfitting
        (history([0.5]), "inconclusive"),
        (history([-1.0, -2.0, -2.5]), "healthy"),  # losses may be negative (e.g. cosine similarity)
    ],
)
def test_diagnose_history_verdicts(curves, verdict):
    result = callbacks.diagnose_history(curves)
    assert result["verdict"] == verdict, result
    assert result["advice"] == callbacks.ADVICE[verdict]
    assert result["evidence"]["epochs"] == len(curves["loss"])
    json.dumps(result, allow_nan=False)  # goes into metrics.json as strict JSON


def test_diagnose_history_evidence_and_errors():
    evidence = callbacks.diagnose_history(history([1.0, 0.5], [1.0, 0.6], [0.5, 0.9], [0.5, 0.8]))["evidence"]
    assert evidence["accuracy_gap"] == pytest.approx(0.1)
    assert evidence["loss_improvement"] == pytest.approx(0.5)
    assert callbacks.diagnose_history(history([1.0, float("nan")]))["evidence"]["first_non_finite_epoch"] == 2
    with pytest.raises(UsageError, match="no 'loss'"):
        callbacks.diagnose_history({"accuracy": [0.5]})


def test_loss_curve_diagnosis_callback(data, capsys):
    x, y = data
    model = tiny_model(keras.optimizers.Adam(1e-2))
    diagnosis = callbacks.LossCurveDiagnosis(verbose=1)
    model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=0, callbacks=[diagnosis])
    assert diagnosis.result is not None and diagnosis.result["verdict"] in callbacks.VERDICTS
    assert len(diagnosis.history["val_loss"]) == 3
    assert diagnosis.result == callbacks.diagnose_history(diagnosis.history)
    assert f"Loss-curve diagnosis: {diagnosis.result['verdict']}" in capsys.readouterr().out


# --------------------------------------------------------------------------- LR range test


def test_suggest_lr_on_a_synthetic_curve():
    log_lr = np.linspace(-5, 1, 121)
    # falls fastest at lr = 1e-2, bottoms out near lr = 1, then diverges
    loss = 2.0 - np.tanh(2 * (log_lr + 2)) + 5 * np.maximum(0.0, log_lr) ** 2
    lrs = 10.0**log_lr
    assert callbacks.suggest_lr(lrs, loss) == pytest.approx(1e-2, rel=0.15)
    lowest = lrs[np.argmin(loss)]
    assert callbacks.suggest_lr(lrs, loss, method="minimum") == pytest.approx(lowest / 10)
    # a curve that only rises has no steep descent: fall back to min / 10
    assert callbacks.suggest_lr(lrs, np.linspace(1.0, 2.0, 121)) == pytest.approx(lrs[0] / 10)
    with pytest.raises(UsageError, match="method"):
        callbacks.suggest_lr(lrs, loss, method="valley")


def test_lr_range_test_restores_the_model(data):
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = tiny_model(keras.optimizers.SGD(0.01, momentum=0.9))
    weights = [w.copy() for w in model.get_weights()]
    result = callbacks.lr_range_test(model, dataset, min_lr=1e-4, max_lr=1.0, steps=40, smoothing=0.9,
                                     divergence=1e9)
    lrs = np.asarray(result["lrs"])
    assert result["steps"] == len(lrs) == len(result["losses"]) == 40 and not result["diverged"]
    assert lrs[0] == pytest.approx(1e-4) and lrs[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], (1e4) ** (1 / 39), rtol=1e-9)  # exponential sweep
    assert 1e-4 <= result["suggestion"] <= 1.0 and math.isfinite(result["suggestion"])
    # smoothed losses go down over the sweep on this learnable problem
    assert result["smoothed_losses"][-1] < result["smoothed_losses"][0]
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert int(model.optimizer.iterations) == 0
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert all(not np.any(keras.ops.convert_to_numpy(v)) for v in model.optimizer.variables
               if "momentum" in v.path)


def test_lr_range_test_stops_when_the_loss_diverges(data):
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = tiny_model(keras.optimizers.SGD(0.01))
    result = callbacks.lr_range_test(model, dataset, min_lr=1e-3, max_lr=1e6, steps=60, smoothing=0.5)
    assert result["diverged"] and result["steps"] < 60
    assert result["suggestion"] < 1e6 and math.isfinite(result["suggestion"])


def test_lr_range_test_refuses_schedules_and_uncompiled_models(data):
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    scheduled = tiny_model(keras.optimizers.SGD(schedules.build("cosine", initial_lr=0.1, steps_per_epoch=4,
                                                                epochs=2)))
    with pytest.raises(UsageError, match="float learning rate"):
        callbacks.lr_range_test(scheduled, dataset, steps=5)
    bare = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    with pytest.raises(UsageError, match="Compile the model"):
        callbacks.lr_range_test(bare, dataset, steps=5)
    with pytest.raises(UsageError, match="min_lr < max_lr"):
        callbacks.LRRangeTest(min_lr=1.0, max_lr=0.1)
