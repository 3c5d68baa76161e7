"""Training callbacks from the lectures: LR logging, loss-curve diagnosis, LR range test.

- :class:`LearningRateLogger` adds the epoch's learning rate (``lr``) to the logs,
  so ``History``, ``CSVLogger`` (history.csv) and ``lr.png`` have it.
- :func:`diagnose_history` reads loss curves the way the lecture does
  (NaN -> LR too high, train/val gap -> overfitting, no gap but high loss ->
  underfitting, flat loss -> LR too low); :class:`LossCurveDiagnosis` runs it
  at the end of ``fit``.
- :class:`LRRangeTest`, :func:`suggest_lr` and :func:`lr_range_test`: the LR
  range test (Smith 2017, popularised by fastai's ``lr_find``): raise the LR
  exponentially batch by batch, record the smoothed loss, stop when it diverges,
  and pick the LR where the loss falls fastest.

Reference:
    Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017, section 3.3.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from kerascnn.core.errors import UsageError

# --------------------------------------------------------------------------- LR logging


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer's next step will use (schedules evaluated at ``iterations``)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Add the learning rate of each epoch to the epoch logs under ``key`` (``"lr"``).

    The value is the LR used by the epoch's first step, read from the optimizer
    when the epoch begins, so it is right for a constant LR, any
    ``LearningRateSchedule`` (per-step decay: the LR at step ``epoch * steps_per_epoch``)
    and ``ReduceLROnPlateau`` (which changes the LR at epoch end; it logs the same
    value as ``learning_rate``), whatever the callback order.

    Place it before ``CSVLogger`` in the callback list, though: ``CSVLogger``
    fixes its columns at the end of the first epoch.
    """

    def __init__(self, key: str = "lr"):
        super().__init__()
        self.key = key
        self._epoch_lr = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_lr = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and self._epoch_lr is not None:
            logs[self.key] = self._epoch_lr


# --------------------------------------------------------------------------- loss-curve diagnosis

VERDICTS = ("lr_too_high", "overfitting", "underfitting", "lr_too_low", "healthy", "inconclusive")

#: Training loss ending above ``EXPLODE_RATIO`` x its minimum: the run diverged.
EXPLODE_RATIO = 1.5
#: Training accuracy minus validation accuracy above this (5 points): overfitting.
OVERFIT_ACCURACY_GAP = 0.05
#: Without an accuracy metric: validation loss above this multiple of the training loss
#: (and at least ``OVERFIT_LOSS_MARGIN`` above it) is an overfitting gap.
OVERFIT_LOSS_RATIO = 1.5
OVERFIT_LOSS_MARGIN = 0.1
#: Validation loss ending more than 20 % (and ``VAL_RISE_MARGIN`` nats) above its best,
#: reached at least ``VAL_RISE_EPOCHS`` epochs before the end while the training loss kept
#: falling: overfitting. The margin keeps a 0.02 -> 0.025 wobble of a 99 % model out.
VAL_RISE = 0.2
VAL_RISE_MARGIN = 0.05
VAL_RISE_EPOCHS = 2
#: Training loss falling by less than 5 % of its first-epoch value over the run: flat.
FLAT_IMPROVEMENT = 0.05
#: "High loss": final training accuracy below 90 %, or, without an accuracy metric,
#: a final training loss above half the first epoch's (the loss did not even halve).
HIGH_LOSS_ACCURACY = 0.90
HIGH_LOSS_FRACTION = 0.5

ADVICE = {
    "lr_too_high": "The loss became NaN/inf or blew up: lower the learning rate 3-10x, add warm-up "
    "or gradient clipping (kerascnn lr-find suggests a value).",
    "overfitting": "Validation is much worse than training: add augmentation, weight decay or dropout, "
    "get more data, or stop earlier (keep the best checkpoint).",
    "underfitting": "Training and validation agree but the loss is still high: train longer, use a bigger "
    "model or less regularisation, and check the learning rate.",
    "lr_too_low": "The loss barely moved: raise the learning rate 3-10x (kerascnn lr-find suggests a value).",
    "healthy": "The loss went down and training and validation agree.",
    "inconclusive": "Fewer than two finished epochs: nothing to compare yet.",
}

_ACCURACY_KEYS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "acc")


def _finite_or_none(value):
    return float(value) if value is not None and math.isfinite(value) else None


def diagnose_history(history: dict) -> dict:
    """Diagnose a run from its per-epoch curves, as in the lecture's "reading loss curves".

    The checks run in this order; the first that fires is the verdict:

    1. ``lr_too_high``: a non-finite training or validation loss, or a training
       loss ending above ``EXPLODE_RATIO`` (1.5) x its minimum.
    2. ``overfitting``: train minus validation accuracy > ``OVERFIT_ACCURACY_GAP``
       (0.05), or (no accuracy) validation loss > 1.5 x training loss and more than
       0.1 above it; or the validation loss ends > ``VAL_RISE`` (20 %) above its
       best, reached 2+ epochs earlier, while the training loss kept falling.
    3. With a *high* loss (final train accuracy < 90 %, or without accuracy a
       final loss above half the first epoch's): ``lr_too_low`` when the training
       loss fell by less than ``FLAT_IMPROVEMENT`` (5 %) of its first value,
       otherwise ``underfitting``.
    4. ``healthy`` otherwise; ``inconclusive`` with fewer than two epochs
       (unless the loss is already NaN).

    Args:
        history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}``
            as in ``keras.callbacks.History.history`` or history.csv.

    Returns:
        ``{"verdict": one of VERDICTS, "advice": str, "evidence": {...}}``; the
        evidence holds the numbers the verdict rests on (JSON-serialisable, non-finite
        values as ``None``).
    """
    if "loss" not in history:
        raise UsageError(f"The history has no 'loss' curve. Received keys: {', '.join(history) or 'none'}.")
    loss = np.asarray(history["loss"], dtype=np.float64)
    val_loss = np.asarray(history["val_loss"], dtype=np.float64) if history.get("val_loss") is not None else None
    acc_key = next((k for k in _ACCURACY_KEYS if k in history), None)
    acc = np.asarray(history[acc_key], dtype=np.float64) if acc_key else None
    val_acc = (
        np.asarray(history[f"val_{acc_key}"], dtype=np.float64) if acc_key and f"val_{acc_key}" in history else None
    )

    evidence: dict = {"epochs": int(loss.size)}

    def result(verdict: str) -> dict:
        return {"verdict": verdict, "advice": ADVICE[verdict], "evidence": evidence}

    non_finite = [i for i, v in enumerate(loss) if not math.isfinite(v)]
    if val_loss is not None:
        non_finite += [i for i, v in enumerate(val_loss) if not math.isfinite(v)]
    if non_finite:
        evidence["first_non_finite_epoch"] = min(non_finite) + 1
        return result("lr_too_high")
    if loss.size < 2:
        return result("inconclusive")

    first, last, lowest = float(loss[0]), float(loss[-1]), float(loss.min())
    evidence.update(
        first_loss=first,
        last_loss=last,
        min_loss=lowest,
        loss_improvement=(first - last) / abs(first) if first else 0.0,
    )
    if lowest > 0 and last > EXPLODE_RATIO * lowest:
        evidence["loss_rise"] = last / lowest
        return result("lr_too_high")

    overfit = False
    if acc is not None and val_acc is not None and len(val_acc) == len(acc):
        gap = float(acc[-1] - val_acc[-1])
        evidence.update(accuracy=float(acc[-1]), val_accuracy=float(val_acc[-1]), accuracy_gap=gap)
        overfit |= gap > OVERFIT_ACCURACY_GAP
    if val_loss is not None and val_loss.size == loss.size:
        evidence["val_loss"] = float(val_loss[-1])
        if acc is None or val_acc is None:
            overfit |= val_loss[-1] > OVERFIT_LOSS_RATIO * last and val_loss[-1] - last > OVERFIT_LOSS_MARGIN
        best = int(np.argmin(val_loss))
        evidence.update(best_val_epoch=best + 1, val_loss_rise=float(val_loss[-1] / val_loss[best] - 1.0)
                        if val_loss[best] > 0 else None)
        if (
            best <= loss.size - 1 - VAL_RISE_EPOCHS
            and val_loss[-1] > (1.0 + VAL_RISE) * val_loss[best]
            and val_loss[-1] - val_loss[best] > VAL_RISE_MARGIN
            and loss[-1] < loss[best]
        ):
            overfit = True
    if overfit:
        return result("overfitting")

    if acc is not None:
        evidence.setdefault("accuracy", float(acc[-1]))
        high = acc[-1] < HIGH_LOSS_ACCURACY
    else:
        high = last > HIGH_LOSS_FRACTION * first
    if high:
        flat = evidence["loss_improvement"] < FLAT_IMPROVEMENT
        return result("lr_too_low" if flat else "underfitting")
    return result("healthy")


class LossCurveDiagnosis(keras.callbacks.Callback):
    """Run :func:`diagnose_history` on the epochs of this ``fit`` when training ends.

    The result is stored in ``self.result`` (``None`` before training ends); with
    ``verbose=1`` it is also printed as one line.
    """

    def __init__(self, verbose: int = 0):
        super().__init__()
        self.verbose = verbose
        self.history: dict[str, list[float]] = {}
        self.result: dict | None = None

    def on_train_begin(self, logs=None):
        self.history = {}
        self.result = None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))

    def on_train_end(self, logs=None):
        self.result = diagnose_history(self.history) if "loss" in self.history else None
        if self.verbose and self.result:
            print(f"Loss-curve diagnosis: {self.result['verdict']}. {self.result['advice']}")


# --------------------------------------------------------------------------- LR range test


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


__all__ = [
    "current_learning_rate",
    "LearningRateLogger",
    "VERDICTS",
    "ADVICE",
    "diagnose_history",
    "LossCurveDiagnosis",
    "suggest_lr",
    "LRRangeTest",
    "lr_range_test",
]
