"""A tf.distribute custom training loop, for ``MultiWorkerMirroredStrategy``.

``model.fit`` does not run under ``MultiWorkerMirroredStrategy`` with Keras 3.15 /
TF 2.21 (keras-team/keras#20585), so multi-worker training uses the loop from the
TensorFlow "Custom training with tf.distribute.Strategy" guide:

* the model and optimizer are created inside ``strategy.scope()`` (the caller's job),
* ``strategy.experimental_distribute_dataset`` splits each *global* batch across
  every replica of every worker (data sharding by element),
* ``strategy.run`` computes the per-replica loss with ``tf.nn.compute_average_loss``
  (divided by the global batch, so the all-reduced gradient is the global mean);
  the per-example loss and metrics come from the Task
  (:meth:`kerascnn.tasks.Task.per_example`), the same objective ``compile`` uses,
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


def make_steps(strategy, model, optimizer, task):
    """``(train_step, eval_step)`` tf.functions over a distributed batch.

    Both return ``{name: global sum}`` over every replica for each entry of
    ``task.per_example(labels, outputs)`` (``"loss"`` and the metrics), plus
    ``"count"``, the number of examples.
    """
    import tensorflow as tf

    def sums(per_example, labels):
        out = {name: tf.reduce_sum(tf.cast(values, tf.float32)) for name, values in per_example.items()}
        out["count"] = tf.cast(tf.shape(labels)[0], tf.float32)
        return out

    def train_replica(inputs, labels):
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            per_example = task.per_example(labels, outputs)
            loss = tf.nn.compute_average_loss(per_example["loss"])
            if model.losses:  # weight penalties, scaled once per global step
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return sums(per_example, labels)

    def eval_replica(inputs, labels):
        return sums(task.per_example(labels, model(inputs, training=False)), labels)

    def reduced(fn):
        @tf.function(reduce_retracing=True)  # the last batch of an epoch is smaller
        def step(batch):
            results = strategy.run(fn, args=batch)
            return {name: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                    for name, value in results.items()}

        return step

    return reduced(train_replica), reduced(eval_replica)


def _means(step, batches) -> dict:
    """Run ``step`` over ``batches``; each summed quantity divided by the number of examples."""
    totals: dict[str, float] = {}
    for batch in batches:
        for name, value in step(batch).items():
            totals[name] = totals.get(name, 0.0) + float(value)
    count = max(totals.pop("count", 0.0), 1.0)
    return {name: value / count for name, value in totals.items()}


def evaluate(strategy, eval_step, dataset) -> dict:
    """The task's mean loss and metrics over ``dataset`` (every worker must call this)."""
    return _means(eval_step, _distribute(strategy, dataset))


def fit(
    strategy,
    model,
    optimizer,
    train_dataset,
    *,
    task,
    epochs: int,
    validation_dataset=None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    verbose: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` epochs on ``task``'s objective; returns a Keras-style history dict.

    Each epoch's logs hold ``loss`` and the task's metrics, their ``val_*``
    (with a validation set), ``lr`` (at the epoch's first step, as
    :class:`kerascnn.training.callbacks.LearningRateLogger`) and
    ``epoch_seconds``. ``on_epoch_end(epoch, logs)`` is called on every worker.
    """
    from kerascnn.training.callbacks import current_learning_rate

    train_step, eval_step = make_steps(strategy, model, optimizer, task)
    distributed = _distribute(strategy, train_dataset)
    history: dict[str, list[float]] = {}
    for epoch in range(epochs):
        start = time.perf_counter()
        epoch_lr = current_learning_rate(optimizer)
        logs = _means(train_step, distributed)
        if not math.isfinite(logs["loss"]):
            raise FloatingPointError(f"Loss became {logs['loss']} in epoch {epoch + 1}: the learning rate is too high.")
        if validation_dataset is not None:
            val = evaluate(strategy, eval_step, validation_dataset)
            logs.update({f"val_{name}": value for name, value in val.items()})
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
