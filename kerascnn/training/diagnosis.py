"""Reading loss curves the way the lecture does: from their shapes, with the epochs and numbers that decide.

:func:`diagnose_history` looks at the per-epoch curves of a run and answers one
of :data:`VERDICTS`, with a ``reason`` naming the epochs and values behind it:

=================  ==============================================================================
verdict            shape of the curves
=================  ==============================================================================
lr_too_high        a NaN/inf loss, or the training loss blew up (ended 1.5x above its minimum)
inconclusive       fewer than two finished epochs
overfitting        the validation loss reached a minimum, then rose by a clear margin (10 % and
                   0.05) over 2+ epochs while the training loss kept falling
lr_too_low         the training loss barely moved (< 5 %) and training is poor
underfitting       the training metric itself is low (accuracy < 90 %), or without a bounded
                   metric the training loss did not even halve
still_improving    the validation loss was still falling clearly in the last epoch (train longer)
healthy            otherwise: the curves went down and levelled off
=================  ==============================================================================

A gap between training and validation accuracy is *not* overfitting by itself:
early in training BatchNorm's moving statistics lag the weights, so validation
trails training while both improve. Overfitting shows as the validation loss
turning up. (Goodfellow et al., *Deep Learning*, 2016, sec. 7.8; cs231n, "Babysitting
the learning process".)

Pure NumPy: no TensorFlow, so it runs on any ``history.csv``.
"""

from __future__ import annotations

import math

import numpy as np

from kerascnn.core.errors import UsageError

VERDICTS = ("lr_too_high", "overfitting", "underfitting", "lr_too_low", "still_improving", "healthy", "inconclusive")

#: Training loss ending above ``EXPLODE_RATIO`` x its minimum, and by more than ``EXPLODE_MARGIN`` of
#: the first epoch's loss: the run diverged. The margin keeps a metric loss that reached ~0 (a
#: triplet loss going 4e-7 -> 2e-4 once every triplet is satisfied) from reading as a blow-up.
EXPLODE_RATIO = 1.5
EXPLODE_MARGIN = 0.05
#: Overfitting: the validation loss ends more than ``VAL_RISE`` (10 %) *and* ``VAL_RISE_MARGIN``
#: above its minimum, reached ``VAL_RISE_EPOCHS`` or more epochs before the end. The absolute
#: margin keeps a 0.021 -> 0.026 wobble of a 99 % model out.
VAL_RISE = 0.10
VAL_RISE_MARGIN = 0.05
VAL_RISE_EPOCHS = 2
#: Still improving: the last epoch has the lowest validation loss, below the earlier best by
#: more than ``STILL_FALLING`` (2 %) and ``STILL_FALLING_MARGIN``.
STILL_FALLING = 0.02
STILL_FALLING_MARGIN = 0.01
#: Training loss falling by less than 5 % of its first-epoch value over the run: flat.
FLAT_IMPROVEMENT = 0.05
#: A bounded "higher is better" training metric (accuracy) below this at the end: low.
LOW_METRIC = 0.90
#: Without such a metric: a final training loss above this fraction of the first epoch's is high.
HIGH_LOSS_FRACTION = 0.5
#: Validation loss this many times the training loss (and ``GAP_MARGIN`` above): a gap worth naming.
GAP_RATIO = 1.5
GAP_MARGIN = 0.1

ADVICE = {
    "lr_too_high": "Lower the learning rate 3-10x, add warm-up or gradient clipping "
    "(kerascnn lr-find suggests a value).",
    "overfitting": "Use best.keras (the best epoch), stop earlier (--early-stopping) or regularise: "
    "augmentation, weight decay, dropout, more data.",
    "underfitting": "The model does not fit even the training data yet: train longer (more --epochs), check "
    "the learning rate (kerascnn lr-find), use a bigger model or less regularisation.",
    "lr_too_low": "Raise the learning rate 3-10x (kerascnn lr-find suggests a value).",
    "still_improving": "Train longer: more --epochs (a finished run grows with --resume --epochs N).",
    "healthy": "The loss went down and levelled off.",
    "inconclusive": "Train for at least two epochs to read a trend.",
}

_ACCURACY_KEYS = ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "acc")


def _curve(history: dict, key: str):
    values = history.get(key)
    return np.asarray(values, dtype=np.float64) if values is not None and len(values) else None


def _monitored_metric(history: dict, monitor) -> tuple[str | None, str]:
    """``(metric, mode)`` to judge training by: the task's monitor, else an accuracy column."""
    if monitor is not None:
        metric, mode = monitor
        return (metric if metric != "loss" and metric in history else None), mode
    return next((k for k in _ACCURACY_KEYS if k in history), None), "max"


def best_epoch(history: dict, monitor=("accuracy", "max")) -> tuple[int, float] | None:
    """``(epoch index, value)`` of the best ``val_<metric>`` by ``monitor = (metric, mode)``; ``None`` without it."""
    metric, mode = monitor
    values = _curve(history, f"val_{metric}")
    if values is None or not np.isfinite(values).any():
        return None
    index = int(np.nanargmax(values) if mode == "max" else np.nanargmin(values))
    return index, float(values[index])


def diagnose_history(history: dict, monitor: tuple[str, str] | None = None) -> dict:
    """Diagnose a run from the shapes of its per-epoch curves (see the module docstring).

    Args:
        history: ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`` as in
            ``keras.callbacks.History.history`` or history.csv.
        monitor: the task's ``(metric, mode)`` (``("accuracy", "max")`` for
            classification); ``None`` looks for an accuracy column.

    Returns:
        ``{"verdict": one of VERDICTS, "reason": str, "advice": str, "evidence": {...}}``.
        ``reason`` names the epochs (1-based) and values the verdict rests on;
        ``evidence`` holds those numbers (JSON-serialisable, non-finite values as ``None``).
    """
    if "loss" not in history:
        raise UsageError(f"The history has no 'loss' curve. Received keys: {', '.join(history) or 'none'}.")
    loss = np.asarray(history["loss"], dtype=np.float64)
    val_loss = _curve(history, "val_loss")
    if val_loss is not None and val_loss.size != loss.size:
        val_loss = None
    metric, mode = _monitored_metric(history, monitor)
    train_metric = _curve(history, metric) if metric else None
    val_metric = _curve(history, f"val_{metric}") if metric else None
    epochs = int(loss.size)
    evidence: dict = {"epochs": epochs}

    def result(verdict: str, reason: str) -> dict:
        return {"verdict": verdict, "reason": reason, "advice": ADVICE[verdict], "evidence": evidence}

    first_bad = None  # (epoch index, curve name, value)
    for name, curve in (("training", loss), ("validation", val_loss)):
        bad = np.flatnonzero(~np.isfinite(curve)) if curve is not None else ()
        if len(bad) and (first_bad is None or bad[0] < first_bad[0]):
            first_bad = (int(bad[0]), name, float(curve[bad[0]]))
    if first_bad is not None:
        index, name, value = first_bad
        evidence["first_non_finite_epoch"] = index + 1
        return result("lr_too_high", f"the {name} loss became {value} at epoch {index + 1}: the run diverged")
    if epochs < 2:
        return result("inconclusive", f"only {epochs} finished epoch: too few to read a trend")

    first, last, lowest = float(loss[0]), float(loss[-1]), float(loss.min())
    improvement = (first - last) / abs(first) if first else 0.0
    evidence.update(first_loss=first, last_loss=last, min_loss=lowest, loss_improvement=improvement)
    if lowest > 0 and last > EXPLODE_RATIO * lowest and last - lowest > EXPLODE_MARGIN * abs(first):
        low_at = int(np.argmin(loss))
        evidence["loss_rise"] = last / lowest
        return result("lr_too_high", f"the training loss fell to {lowest:.4g} at epoch {low_at + 1}, then blew up "
                                     f"to {last:.4g} at epoch {epochs}: the run diverged")

    if train_metric is not None and train_metric.size == epochs:
        evidence[metric] = float(train_metric[-1])
        if val_metric is not None and val_metric.size == epochs:
            evidence[f"val_{metric}"] = float(val_metric[-1])
            evidence[f"{metric}_gap"] = float(train_metric[-1] - val_metric[-1])
    best = best_epoch(history, (metric, mode)) if metric else None
    if best is not None:
        evidence.update(best_epoch=best[0] + 1, **{f"best_val_{metric}": best[1]})

    gap_note = ""
    if val_loss is not None:
        best_val = int(np.argmin(val_loss))
        rise = float(val_loss[-1] / val_loss[best_val] - 1.0) if val_loss[best_val] > 0 else None
        evidence.update(val_loss=float(val_loss[-1]), best_val_epoch=best_val + 1, val_loss_rise=rise)
        if (
            best_val <= epochs - 1 - VAL_RISE_EPOCHS
            and val_loss[-1] - val_loss[best_val] > VAL_RISE_MARGIN
            and val_loss[-1] > (1.0 + VAL_RISE) * val_loss[best_val]
            and loss[-1] < loss[best_val]
        ):
            kept = f"; best.keras keeps epoch {best[0] + 1}" if best is not None else ""
            return result(
                "overfitting",
                f"since epoch {best_val + 1}, the validation loss rose from {val_loss[best_val]:.4g} (epoch "
                f"{best_val + 1}) to {val_loss[-1]:.4g} (epoch {epochs}) while the training loss fell from "
                f"{loss[best_val]:.4g} to {last:.4g}{kept}",
            )
        if val_loss[-1] > GAP_RATIO * last and val_loss[-1] - last > GAP_MARGIN:
            gap_note = (f"; mind the gap: validation loss {val_loss[-1]:.4g} vs training loss {last:.4g} "
                        f"at epoch {epochs}")

    falling = None  # "the validation loss is still falling: ..." when the last epoch is clearly its best
    if val_loss is not None and int(np.argmin(val_loss)) == epochs - 1:
        before = float(val_loss[:-1].min())
        drop = before - float(val_loss[-1])
        if drop > STILL_FALLING_MARGIN and drop > STILL_FALLING * abs(before):
            falling = (f"the validation loss is still falling: {val_loss[-2]:.4g} at epoch {epochs - 1} -> "
                       f"{val_loss[-1]:.4g} at epoch {epochs} (its lowest, from {val_loss[0]:.4g} at epoch 1)")

    bounded = train_metric is not None and mode == "max" and np.nanmin(train_metric) >= 0 and np.nanmax(train_metric) <= 1
    if bounded:
        poor = train_metric[-1] < LOW_METRIC
        poorly = f"training {metric} is only {train_metric[-1]:.1%} at epoch {epochs}"
    else:
        poor = last > HIGH_LOSS_FRACTION * first
        poorly = f"the training loss only fell from {first:.4g} to {last:.4g} ({improvement:.0%}) in {epochs} epochs"
    if poor and improvement < FLAT_IMPROVEMENT:
        return result("lr_too_low", f"the training loss barely moved: {first:.4g} at epoch 1, {last:.4g} at epoch "
                                    f"{epochs} ({improvement:.1%})")
    if poor:
        trend = f"; {falling}" if falling else ""
        return result("underfitting", f"{poorly} (training loss {first:.4g} -> {last:.4g}){trend}")
    if falling:
        return result("still_improving", falling + gap_note)
    if val_loss is not None:
        reason = (f"the validation loss levelled off at {val_loss[-1]:.4g} (lowest {val_loss.min():.4g} at epoch "
                  f"{int(np.argmin(val_loss)) + 1} of {epochs}){gap_note}")
    else:
        reason = f"the training loss fell from {first:.4g} to {last:.4g}; no validation split to judge overfitting"
    return result("healthy", reason)


def describe(diagnosis: dict) -> str:
    """One line for people: ``"still improving: the validation loss is still falling: ..."``."""
    return f"{diagnosis['verdict'].replace('_', ' ')}: {diagnosis['reason']}"


__all__ = ["VERDICTS", "ADVICE", "best_epoch", "diagnose_history", "describe"]
