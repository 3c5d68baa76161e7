"""The LR range test (Smith 2017, popularised by fastai's ``lr_find``).

Raise the learning rate exponentially batch by batch, record the smoothed loss,
stop when it diverges, and pick the LR where the loss falls fastest:

- :class:`LRRangeTest`: the Keras callback that drives the sweep;
- :func:`lr_range_test`: run it on any compiled model and put the weights back;
- :func:`suggest_lr`: pick a rate from the curve;
- :func:`lr_find`: the whole test for the model, data and optimizer a
  :func:`~kerascnn.training.trainer.train` call would use (``kerascnn lr-find``).

(The module is not called ``lr_find``: ``from kerascnn.training import lr_find``
is the function.)

Reference:
    Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017, section 3.3.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import keras
import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.training.callbacks import current_learning_rate


def suggest_lr(lrs, losses, *, method: str = "steepest") -> float:
    """Pick a learning rate from an LR range test curve.

    ``"steepest"`` (default; Smith 2017, fastai): the LR where the loss falls
    fastest, i.e. the most negative slope of ``losses`` against ``log10(lrs)``,
    looking only at the part before the loss minimum (after it the loss diverges).
    ``"minimum"``: the LR at the loss minimum divided by 10. ``"steepest"``
    falls back to ``"minimum"`` when the curve has fewer than 3 points before its
    minimum or never goes down.

    Args:
        lrs: increasing learning rates, one per recorded batch.
        losses: the *smoothed* losses at those rates (:attr:`LRRangeTest.smoothed_losses`).
        method: ``"steepest"`` or ``"minimum"``.
    """
    if method not in ("steepest", "minimum"):
        raise UsageError(f"`method` must be 'steepest' or 'minimum'. Received: method={method!r}.")
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise UsageError(f"`lrs` and `losses` must be 1-D and the same length. Received: {lrs.shape}, {losses.shape}.")
    keep = np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0)
    lrs, losses = lrs[keep], losses[keep]
    if lrs.size == 0:
        raise UsageError("The LR range test recorded no finite loss; lower `min_lr`.")
    lowest = int(np.argmin(losses))
    fallback = float(lrs[lowest] / 10.0)
    if method == "minimum" or lowest < 2:
        return fallback
    slopes = np.gradient(losses[: lowest + 1], np.log10(lrs[: lowest + 1]))
    steepest = int(np.argmin(slopes))
    return float(lrs[steepest]) if slopes[steepest] < 0 else fallback


def _check_settable_learning_rate(optimizer) -> None:
    try:
        optimizer.learning_rate = current_learning_rate(optimizer)
    except TypeError:  # Keras refuses to overwrite a LearningRateSchedule
        raise UsageError(
            "The LR range test needs an optimizer compiled with a float learning rate, not a schedule."
        ) from None


class LRRangeTest(keras.callbacks.Callback):
    """LR range test: the LR grows exponentially from ``min_lr`` to ``max_lr`` over ``steps`` batches.

    After each batch it records the learning rate, the batch loss and the
    bias-corrected exponential moving average of the loss (``smoothing``, as in
    fastai); training stops when the smoothed loss exceeds ``divergence`` x its
    best value or becomes NaN/inf. The optimizer needs a float (settable) learning
    rate, and the metrics are reset before every batch so ``logs["loss"]`` is that
    batch's loss (Keras 3 otherwise reports the running epoch mean).

    Attributes:
        lrs, losses, smoothed_losses: one entry per recorded batch.
        diverged: True when the test stopped on divergence.
    """

    def __init__(self, min_lr: float = 1e-7, max_lr: float = 10.0, steps: int = 100,
                 smoothing: float = 0.98, divergence: float = 4.0):
        super().__init__()
        if not 0 < min_lr < max_lr < math.inf:
            raise UsageError(f"Expected 0 < min_lr < max_lr. Received: min_lr={min_lr}, max_lr={max_lr}.")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise UsageError(f"`steps` must be an integer >= 2. Received: steps={steps!r}.")
        if not 0 <= smoothing < 1:
            raise UsageError(f"`smoothing` must be in [0, 1). Received: smoothing={smoothing}.")
        if not divergence > 1:
            raise UsageError(f"`divergence` must be > 1. Received: divergence={divergence}.")
        self.min_lr, self.max_lr, self.steps = float(min_lr), float(max_lr), steps
        self.smoothing, self.divergence = smoothing, divergence
        self._reset()

    def _reset(self):
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed_losses: list[float] = []
        self.diverged = False
        self._average = 0.0
        self._best = math.inf

    def learning_rate_at(self, step: int) -> float:
        """``min_lr * (max_lr / min_lr) ** (step / (steps - 1))``."""
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.steps - 1))

    def on_train_begin(self, logs=None):
        _check_settable_learning_rate(self.model.optimizer)
        self._reset()

    def on_train_batch_begin(self, batch, logs=None):
        step = len(self.lrs)
        if step >= self.steps:
            self.model.stop_training = True
            return
        self.model.optimizer.learning_rate = self.learning_rate_at(step)
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        if len(self.lrs) >= self.steps:
            return
        loss = float(keras.ops.convert_to_numpy((logs or {})["loss"]))
        self.lrs.append(self.learning_rate_at(len(self.lrs)))
        self.losses.append(loss)
        if not math.isfinite(loss):
            self.smoothed_losses.append(math.nan)
            self.diverged = True
            self.model.stop_training = True
            return
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** len(self.losses))
        self.smoothed_losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if smoothed > self.divergence * self._best:
            self.diverged = True
            self.model.stop_training = True
        elif len(self.lrs) >= self.steps:
            self.model.stop_training = True


def lr_range_test(model, dataset, *, min_lr: float = 1e-7, max_lr: float = 10.0, steps: int = 100,
                  smoothing: float = 0.98, divergence: float = 4.0, method: str = "steepest",
                  verbose: int = 0) -> dict:
    """Run an LR range test on a compiled model and put its weights back afterwards.

    Args:
        model: a compiled Keras model whose optimizer has a float learning rate.
        dataset: a batched ``tf.data.Dataset`` of ``(x, y)`` (repeated as needed).
        min_lr, max_lr, steps: the exponential LR sweep (one batch per LR).
        smoothing, divergence: see :class:`LRRangeTest`.
        method: how to pick the suggestion, see :func:`suggest_lr`.
        verbose: passed to ``fit``.

    Returns:
        ``{"lrs", "losses", "smoothed_losses", "suggestion", "min_loss_lr", "steps",
        "diverged", "method"}``. The model's weights, the optimizer's state and
        its learning rate are restored, so training can start from the same point.
    """
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise UsageError("Compile the model (optimizer and loss) before the LR range test.")
    callback = LRRangeTest(min_lr=min_lr, max_lr=max_lr, steps=steps, smoothing=smoothing, divergence=divergence)
    if not hasattr(dataset, "repeat"):
        raise UsageError(f"Expected a batched tf.data.Dataset. Received: {type(dataset).__name__}.")
    optimizer = model.optimizer
    _check_settable_learning_rate(optimizer)
    if not optimizer.built:
        optimizer.build(model.trainable_variables)  # so its fresh state can be put back
    weights = model.get_weights()
    optimizer_state = [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
    learning_rate = current_learning_rate(optimizer)
    try:
        model.fit(dataset.repeat(), epochs=1, steps_per_epoch=steps, callbacks=[callback], shuffle=False,
                  verbose=verbose)
    finally:
        model.set_weights(weights)
        for variable, value in zip(optimizer.variables, optimizer_state):
            variable.assign(value)
        optimizer.learning_rate = learning_rate
        model.reset_metrics()
    if not callback.lrs:
        raise UsageError("The LR range test ran no batch; is the dataset empty?")
    smoothed = np.asarray(callback.smoothed_losses)
    finite = np.isfinite(smoothed)
    return {
        "lrs": list(callback.lrs),
        "losses": list(callback.losses),
        "smoothed_losses": [float(v) if math.isfinite(v) else None for v in callback.smoothed_losses],
        "suggestion": suggest_lr(callback.lrs, callback.smoothed_losses, method=method),
        "min_loss_lr": float(np.asarray(callback.lrs)[finite][np.argmin(smoothed[finite])]) if finite.any() else None,
        "steps": len(callback.lrs),
        "diverged": callback.diverged,
        "method": method,
    }


def lr_find(
    model_name: str,
    dataset="digits",
    *,
    out=None,
    min_lr: float = 1e-6,
    max_lr: float = 10.0,
    steps: int = 100,
    method: str = "steepest",
    task=None,
    **options,
) -> dict:
    """LR range test for the model and data a :func:`~kerascnn.training.trainer.train` call would use.

    Builds the same model (through its Task), optimizer and input pipeline as
    ``train(model_name, dataset, **options)``: the Task's ``training_examples`` (e.g. rotated
    classes), its ``pipeline`` (e.g. P x K batches for metric learning; augmentation included)
    and its ``build_model`` / ``loss`` (e.g. the CosFace head of an embedding), then raises the
    learning rate exponentially from ``min_lr`` to ``max_lr`` over ``steps``
    batches with :func:`lr_range_test`, and plots loss against LR to ``out``
    (a PNG; optional).

    Returns:
        The range-test record: ``lrs``, ``losses``, ``smoothed_losses``,
        ``suggestion`` (the LR to pass as ``lr``), ``min_loss_lr``, ``diverged`` ...
    """
    from kerascnn import data
    from kerascnn.analysis import plots
    from kerascnn.training.seeding import set_global_seed
    from kerascnn.training.trainer import compile_model, resolve_run, split_validation

    loaded = dataset if not isinstance(dataset, str) else None
    task, config = resolve_run(model_name, loaded.name if loaded else dataset, task, options)  # as train() does
    if out is not None:
        _check_output_file(out)
    set_global_seed(config.seed, deterministic=config.deterministic)
    if loaded is None:
        loaded = data.load(config.dataset, config.data_dir, download=config.download)
    (x_train, y_train), _ = split_validation(loaded, config.validation_split, config.seed)
    # The trainer's order and hooks: what only training sees, the Task's batches, then its model and loss.
    x_train, y_train = task.training_examples(config, loaded, x_train, y_train)
    pipeline = task.pipeline(
        x_train, y_train, batch_size=config.batch_size, shuffle=True, seed=config.seed, augment=config.augment
    )
    model = compile_model(config, loaded, x_train, min_lr, task=task)
    record = lr_range_test(
        model, pipeline, min_lr=min_lr, max_lr=max_lr, steps=steps, method=method, verbose=0 if config.quiet else 1
    )
    if out is not None:
        plots.plot_lr_find(
            record["lrs"],
            [math.nan if v is None else v for v in record["smoothed_losses"]],
            record["suggestion"],
            out,
            raw_losses=record["losses"],
            title=f"LR range test: {config.model} on {config.dataset}, {config.optimizer}",
        )
    return record


def _check_output_file(path) -> None:
    """Refuse an output file whose folder cannot be written, before any work."""
    folder = Path(path).expanduser().resolve().parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"Cannot write {path}: {existing} is not a writable folder.")


__all__ = ["suggest_lr", "LRRangeTest", "lr_range_test", "lr_find"]
