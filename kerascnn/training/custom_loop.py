"""A tf.distribute custom training loop, for ``MultiWorkerMirroredStrategy``.

``model.fit`` does not run under ``MultiWorkerMirroredStrategy`` with Keras 3.15 /
TF 2.21 (keras-team/keras#20585), so multi-worker training uses the loop from the
TensorFlow "Custom training with tf.distribute.Strategy" guide:

* the model and optimizer are created inside ``strategy.scope()`` (the caller's job),
* ``strategy.experimental_distribute_dataset`` splits each *global* batch across
  every replica of every worker (data sharding by element),
* ``strategy.run`` computes the per-replica loss with ``tf.nn.compute_average_loss``
  (divided by the global batch, so the all-reduced gradient is the global mean),
* the Keras optimizer all-reduces the gradients and applies the same update on
  every replica, so all workers hold identical weights after each step.

It is equally correct (just slower than ``fit``) for the one-device and mirrored
strategies, which the tests use to compare it with ``fit``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def _distribute(strategy, dataset):
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def make_steps(strategy, model, optimizer):
    """``(train_step, eval_step)`` tf.functions over a distributed batch.

    Both return global sums ``(loss_sum, correct, count)`` reduced over replicas.
    """
    import keras
    import tensorflow as tf

    def per_example_loss(labels, probabilities):
        return keras.losses.sparse_categorical_crossentropy(labels, probabilities)

    def counts(labels, probabilities):
        predicted = tf.argmax(probabilities, axis=-1, output_type=labels.dtype)
        correct = tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float32))
        return correct, tf.cast(tf.shape(labels)[0], tf.float32)

    def train_replica(images, labels):
        labels = tf.cast(labels, tf.int64)
        with tf.GradientTape() as tape:
            probabilities = model(images, training=True)
            losses = per_example_loss(labels, probabilities)
            loss = tf.nn.compute_average_loss(losses)
            if model.losses:  # weight penalties, scaled once per global step
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        correct, count = counts(labels, probabilities)
        return tf.reduce_sum(losses), correct, count

    def eval_replica(images, labels):
        labels = tf.cast(labels, tf.int64)
        probabilities = model(images, training=False)
        correct, count = counts(labels, probabilities)
        return tf.reduce_sum(per_example_loss(labels, probabilities)), correct, count

    def reduced(fn):
        @tf.function(reduce_retracing=True)  # the last batch of an epoch is smaller
        def step(batch):
            results = strategy.run(fn, args=batch)
            return [strategy.reduce(tf.distribute.ReduceOp.SUM, r, axis=None) for r in results]

        return step

    return reduced(train_replica), reduced(eval_replica)


def evaluate(strategy, eval_step, dataset) -> dict:
    """Mean loss and accuracy over ``dataset`` (every worker must call this)."""
    loss_sum = correct = count = 0.0
    for batch in _distribute(strategy, dataset):
        batch_loss, batch_correct, batch_count = eval_step(batch)
        loss_sum += float(batch_loss)
        correct += float(batch_correct)
        count += float(batch_count)
    return {"loss": loss_sum / max(count, 1.0), "accuracy": correct / max(count, 1.0)}


def fit(
    strategy,
    model,
    optimizer,
    train_dataset,
    *,
    epochs: int,
    validation_dataset=None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` epochs; returns a Keras-style history dict.

    Each epoch's logs hold ``loss``, ``accuracy``, ``val_loss``/``val_accuracy``
    (with a validation set), ``lr`` (at the epoch's first step, as :class:`kerascnn.training.callbacks.LearningRateLogger`) and
    ``epoch_seconds``. ``on_epoch_end(epoch, logs)`` is called on every worker.
    """
    from kerascnn.training.callbacks import current_learning_rate

    train_step, eval_step = make_steps(strategy, model, optimizer)
    distributed = _distribute(strategy, train_dataset)
    history: dict[str, list[float]] = {}
    for epoch in range(epochs):
        start = time.perf_counter()
        epoch_lr = current_learning_rate(optimizer)
        loss_sum = correct = count = 0.0
        for batch in distributed:
            batch_loss, batch_correct, batch_count = train_step(batch)
            loss_sum += float(batch_loss)
            correct += float(batch_correct)
            count += float(batch_count)
        logs = {"loss": loss_sum / max(count, 1.0), "accuracy": correct / max(count, 1.0)}
        if not math.isfinite(logs["loss"]):
            raise FloatingPointError(f"Loss became {logs['loss']} in epoch {epoch + 1}: the learning rate is too high.")
        if validation_dataset is not None:
            val = evaluate(strategy, eval_step, validation_dataset)
            logs.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        logs["lr"] = epoch_lr
        logs["epoch_seconds"] = time.perf_counter() - start
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
        if verbose:
            shown = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if k != "epoch_seconds")
            print(f"Epoch {epoch + 1}/{epochs} - {logs['epoch_seconds']:.1f}s - {shown}", flush=True)
        if on_epoch_end is not None:
            on_epoch_end(epoch, logs)
    return history
