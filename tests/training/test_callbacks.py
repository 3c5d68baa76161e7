"""kerascnn.training.callbacks: LR logging in fit, the diagnosis callback."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest

from kerascnn.training import callbacks, schedules
from kerascnn.training import diagnosis as diagnosis_module
from training_helpers import tiny_model

# --------------------------------------------------------------------------- tiny problem




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


def test_loss_curve_diagnosis_callback(data, capsys):
    x, y = data
    model = tiny_model(keras.optimizers.Adam(1e-2))
    diagnosis = callbacks.LossCurveDiagnosis(monitor=("accuracy", "max"), verbose=1)
    model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=0, callbacks=[diagnosis])
    assert diagnosis.result is not None and diagnosis.result["verdict"] in diagnosis_module.VERDICTS
    assert len(diagnosis.history["val_loss"]) == 3
    assert diagnosis.result == diagnosis_module.diagnose_history(diagnosis.history)
    out = capsys.readouterr().out
    assert f"Loss-curve diagnosis: {diagnosis.result['verdict'].replace('_', ' ')}: {diagnosis.result['reason']}" in out
