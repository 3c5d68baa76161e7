"""kerascnn.training.lr_range: the LR range test (Smith 2017) and its suggestion."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerascnn.core.errors import UsageError
from kerascnn.training import lr_range, schedules
from training_helpers import tiny_model




# --------------------------------------------------------------------------- LR range test


def test_suggest_lr_on_a_synthetic_curve():
    log_lr = np.linspace(-5, 1, 121)
    # falls fastest at lr = 1e-2, bottoms out near lr = 1, then diverges
    loss = 2.0 - np.tanh(2 * (log_lr + 2)) + 5 * np.maximum(0.0, log_lr) ** 2
    lrs = 10.0**log_lr
    assert lr_range.suggest_lr(lrs, loss) == pytest.approx(1e-2, rel=0.15)
    lowest = lrs[np.argmin(loss)]
    assert lr_range.suggest_lr(lrs, loss, method="minimum") == pytest.approx(lowest / 10)
    # a curve that only rises has no steep descent: fall back to min / 10
    assert lr_range.suggest_lr(lrs, np.linspace(1.0, 2.0, 121)) == pytest.approx(lrs[0] / 10)
    with pytest.raises(UsageError, match="method"):
        lr_range.suggest_lr(lrs, loss, method="valley")


def test_lr_range_test_restores_the_model(data):
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    model = tiny_model(keras.optimizers.SGD(0.01, momentum=0.9))
    weights = [w.copy() for w in model.get_weights()]
    result = lr_range.lr_range_test(model, dataset, min_lr=1e-4, max_lr=1.0, steps=40, smoothing=0.9,
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
    result = lr_range.lr_range_test(model, dataset, min_lr=1e-3, max_lr=1e6, steps=60, smoothing=0.5)
    assert result["diverged"] and result["steps"] < 60
    assert result["suggestion"] < 1e6 and math.isfinite(result["suggestion"])


def test_lr_range_test_refuses_schedules_and_uncompiled_models(data):
    x, y = data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    scheduled = tiny_model(keras.optimizers.SGD(schedules.build("cosine", initial_lr=0.1, steps_per_epoch=4,
                                                                epochs=2)))
    with pytest.raises(UsageError, match="float learning rate"):
        lr_range.lr_range_test(scheduled, dataset, steps=5)
    bare = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    with pytest.raises(UsageError, match="Compile the model"):
        lr_range.lr_range_test(bare, dataset, steps=5)
    with pytest.raises(UsageError, match="min_lr < max_lr"):
        lr_range.LRRangeTest(min_lr=1.0, max_lr=0.1)


def test_lr_find_on_an_embedding_uses_the_tasks_examples_batches_and_head(tmp_path, monkeypatch, capsys):
    from kerascnn import cli

    seen = {}
    real = lr_range.lr_range_test

    def spy(model, dataset, **kwargs):
        seen["model"], seen["labels"] = model, [labels.numpy() for _, labels in dataset.take(3)]
        return real(model, dataset, **kwargs)

    monkeypatch.setattr(lr_range, "lr_range_test", spy)
    out = tmp_path / "lr.png"
    assert cli.main(["lr-find", "siamese", "--loss", "cosface", "--tower", "small", "--rotations", "2",
                     "--batch-size", "32", "--steps", "4", "--min-lr", "1e-5", "--max-lr", "1e-2", "--seed", "0",
                     "--out", str(out), "--quiet"]) == 0
    assert "suggested learning rate" in capsys.readouterr().out and out.read_bytes()[:4] == b"\x89PNG"
    model = seen["model"]
    assert type(model).__name__ == "ClassifierTrainedEmbedding" and model.head.classes == 20  # 10 digits x 2 turns
    for labels in seen["labels"]:  # the Task's CosFace batches: shuffled (not 8 classes x 4), rotated classes too
        assert len(labels) == 32 and len(np.unique(labels)) > 8
    assert max(labels.max() for labels in seen["labels"]) >= 10
    assert type(model.loss).__name__ == "CosFaceLoss"
