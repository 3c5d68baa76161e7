"""Matplotlib figures written to PNG files (Agg backend, no display needed).

Every plot goes through :func:`save_figure`, which writes atomically. Legends
sit below the axes (:func:`legend_below`), never on top of the curves.

- :func:`plot_curves`: loss and the task's monitored metric, train vs validation (``curves.png``).
- :func:`plot_lr`: the learning rate per epoch of a run (``lr.png``) or per step.
- :func:`plot_schedule`: several LR schedules on one axis (``kerascnn schedule plot``).
- :func:`plot_lr_find`: an LR range test, loss against LR with the suggestion.
- :func:`plot_bars`, :func:`plot_xy`: generic bar and scatter/line charts (benchmarks).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_save_path

# Above this max/min ratio an LR axis is drawn on a log scale (step decay spans 100x).
_LOG_SCALE_RATIO = 20.0


def new_figure(*args, **kwargs):
    """``plt.subplots`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(*args, **kwargs)


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> str:
    """Save ``fig`` as PNG to ``path`` atomically and close it. Returns the path."""
    import matplotlib.pyplot as plt

    with atomic_save_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return os.fspath(path)


# --------------------------------------------------------------------------- helpers


def _floats(values, what: str) -> list[float]:
    """A list of floats (inf -> NaN so matplotlib leaves a gap); refuses empty input."""
    try:
        out = [float(v) if v is not None else math.nan for v in values]
    except (TypeError, ValueError):
        raise UsageError(f"`{what}` must be a sequence of numbers.") from None
    if not out:
        raise UsageError(f"`{what}` is empty: nothing to plot.")
    return [v if math.isfinite(v) else math.nan for v in out]


def _history_dict(history) -> dict:
    """A ``keras.callbacks.History`` or a plain ``{name: [per-epoch values]}`` dict."""
    history = getattr(history, "history", history)
    if not isinstance(history, Mapping):
        raise UsageError(f"Expected a history dict or keras History. Received: {type(history).__name__}.")
    return history


def _use_log_scale(values: Sequence[float]) -> bool:
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    return bool(positive) and max(positive) / min(positive) > _LOG_SCALE_RATIO


def _accuracy_key(history: Mapping) -> str | None:
    for key in ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy", "acc"):
        if key in history:
            return key
    return None


def legend_below(fig, axes) -> None:
    """One legend for the whole figure, centred under the axes, so it never covers data.

    Entries with the same label in several panels (``training``, ``validation``)
    appear once. ``save_figure``'s tight bounding box keeps it in the PNG.
    """
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(labels), 3),
                   frameon=False, fontsize=9)


# --------------------------------------------------------------------------- training


def plot_curves(history, path: str | os.PathLike, *, title: str | None = None,
                monitor: tuple[str, str] | None = None) -> str:
    """Loss (left) and the monitored metric (right) per epoch, training vs validation.

    Args:
        history: a ``keras.callbacks.History`` or ``{name: [per-epoch values]}``.
        path: the PNG to write.
        title: figure title.
        monitor: the task's ``(metric, mode)`` that picks the best epoch, e.g.
            ``("accuracy", "max")``; ``None`` uses an accuracy column if there is one.

    The epoch ``best.keras`` keeps is marked: the best ``val_<metric>`` by ``mode``
    (the lowest validation loss without it). Without the metric only the loss
    panel is drawn. Returns the path written.
    """
    history = _history_dict(history)
    if "loss" not in history:
        raise UsageError(f"The history has no 'loss' curve. Received keys: {', '.join(history) or 'none'}.")
    metric, mode = monitor if monitor is not None else (_accuracy_key(history), "max")
    if metric not in history:
        metric = None
    panels = ["loss"] + ([metric] if metric and metric != "loss" else [])
    marked, marked_mode = (metric, mode) if metric and f"val_{metric}" in history else ("loss", "min")
    fig, axes = new_figure(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, key in zip(axes[0], panels):
        train = _floats(history[key], key)
        epochs = range(1, len(train) + 1)
        ax.plot(epochs, train, marker="o", markersize=3, label="training")
        if f"val_{key}" in history:
            val = _floats(history[f"val_{key}"], f"val_{key}")
            ax.plot(range(1, len(val) + 1), val, marker="o", markersize=3, label="validation")
            if key == marked and not all(math.isnan(v) for v in val):
                sign = -1 if marked_mode == "max" else 1
                best = min(range(len(val)), key=lambda i: math.inf if math.isnan(val[i]) else sign * val[i])
                ax.scatter([best + 1], [val[best]], s=80, facecolors="none", edgecolors="black", zorder=3,
                           label=f"best validation {key} (epoch {best + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(True, alpha=0.3)
    legend_below(fig, axes[0])
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_lr(history_or_lrs, path: str | os.PathLike, *, xlabel: str | None = None,
            title: str | None = None) -> str:
    """The learning rate of a run: a history with ``lr`` (or ``learning_rate``) per epoch,
    or a plain sequence of LRs (per step unless ``xlabel`` says otherwise).

    A log scale is used when the LR spans more than 20x.
    """
    if isinstance(getattr(history_or_lrs, "history", history_or_lrs), Mapping):
        history = _history_dict(history_or_lrs)
        key = next((k for k in ("lr", "learning_rate") if k in history), None)
        if key is None:
            raise UsageError("The history has no 'lr' column; add kerascnn.training.callbacks.LearningRateLogger.")
        lrs = _floats(history[key], key)
        xs, xlabel = range(1, len(lrs) + 1), xlabel or "epoch"
    else:
        lrs = _floats(history_or_lrs, "lrs")
        xs, xlabel = range(len(lrs)), xlabel or "step"
    fig, ax = new_figure(figsize=(6, 3.5))
    ax.plot(xs, lrs, marker="o" if len(lrs) <= 50 else None, markersize=3)
    if _use_log_scale(lrs):
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "learning rate")
    return save_figure(fig, path)


def plot_schedule(curves: Mapping[str, Sequence[float]], path: str | os.PathLike, *,
                  steps_per_epoch: int | None = None, log: bool = False,
                  title: str | None = None) -> str:
    """Several LR schedules on one axis: ``{label: lr per step}``.

    With ``steps_per_epoch`` the x axis is in epochs, else in steps. ``log``
    draws the LR on a log axis (clearer for step decay, less so for cosine to 0).
    """
    if not curves:
        raise UsageError("No schedule to plot.")
    curves = {label: _floats(lrs, f"learning rates of {label}") for label, lrs in curves.items()}
    fig, ax = new_figure(figsize=(7, 4))
    for label, lrs in curves.items():
        xs = [i / steps_per_epoch for i in range(len(lrs))] if steps_per_epoch else range(len(lrs))
        ax.plot(xs, lrs, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch" if steps_per_epoch else "step")
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.3)
    legend_below(fig, [ax])
    ax.set_title(title or "learning-rate schedule" + ("s" if len(curves) > 1 else ""))
    return save_figure(fig, path)


def plot_lr_find(lrs, losses, suggestion: float | None, path: str | os.PathLike, *,
                 raw_losses=None, title: str | None = None) -> str:
    """An LR range test: (smoothed) loss against LR on a log axis, the suggestion marked.

    Args:
        lrs, losses: the tested learning rates and their smoothed losses.
        suggestion: the suggested LR (a vertical line), or None.
        raw_losses: the per-batch losses, drawn faintly behind.
    """
    lrs, losses = _floats(lrs, "lrs"), _floats(losses, "losses")
    if len(lrs) != len(losses):
        raise UsageError(f"`lrs` and `losses` differ in length. Received: {len(lrs)} and {len(losses)}.")
    fig, ax = new_figure(figsize=(6.5, 4))
    if raw_losses is not None:
        ax.plot(lrs, _floats(raw_losses, "raw_losses")[: len(lrs)], color="0.75", linewidth=0.8,
                label="batch loss")
    ax.plot(lrs, losses, label="smoothed loss")
    if suggestion is not None and math.isfinite(suggestion):
        ax.axvline(suggestion, color="tab:red", linestyle="--", label=f"suggested LR {suggestion:.2g}")
    ax.set_xscale("log")
    finite = [v for v in losses if not math.isnan(v)]
    if finite:  # diverging tail would squash the interesting part
        low, first = min(finite), finite[0]
        ax.set_ylim(low - 0.05 * abs(low), max(first, low) + 0.5 * (abs(first - low) or abs(low) or 1.0))
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.grid(True, which="both", alpha=0.3)
    legend_below(fig, [ax])
    ax.set_title(title or "LR range test")
    return save_figure(fig, path)


# --------------------------------------------------------------------------- generic charts


def plot_bars(labels: Sequence[str], values: Sequence[float], path: str | os.PathLike, *,
              xlabel: str = "", title: str = "", value_format: str = "{:.3g}") -> str:
    """Horizontal bars, first label on top, each bar annotated with its value."""
    labels = [str(label) for label in labels]
    values = _floats(values, "values")
    if len(labels) != len(values):
        raise UsageError(f"`labels` and `values` differ in length. Received: {len(labels)} and {len(values)}.")
    fig, ax = new_figure(figsize=(7, 0.45 * len(labels) + 1.2))
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, [0.0 if math.isnan(v) else v for v in values], color="tab:blue")
    ax.set_yticks(positions, labels)
    for y, value in zip(positions, values):
        if not math.isnan(value):
            ax.annotate(value_format.format(value), (value, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=8)
    ax.margins(x=0.15)
    ax.set_xlabel(xlabel)
    ax.grid(True, axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_xy(x: Sequence[float], y: Sequence[float] | Mapping[str, Sequence[float]], path: str | os.PathLike, *,
            labels: Sequence[str] | None = None, xlabel: str = "", ylabel: str = "", title: str = "",
            logx: bool = False, logy: bool = False, line: bool = False) -> str:
    """Scatter (or ``line``) plot of ``y`` against ``x``, e.g. latency against MACs.

    Args:
        x: the shared x values.
        y: one sequence, or ``{series name: values}`` for several series (a legend).
        labels: a name per point, written beside it (e.g. model names).
        logx, logy: log axes.
        line: join the points with lines (sorted by x).
    """
    xs = _floats(x, "x")
    series = dict(y) if isinstance(y, Mapping) else {"": y}
    if labels is not None and len(labels) != len(xs):
        raise UsageError(f"`labels` and `x` differ in length. Received: {len(labels)} and {len(xs)}.")
    for name, values in series.items():
        series[name] = ys = _floats(values, f"y{' of ' + name if name else ''}")
        if len(ys) != len(xs):
            raise UsageError(f"`x` and `y` differ in length. Received: {len(xs)} and {len(ys)}.")
    fig, ax = new_figure(figsize=(6.5, 4.5))
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    for name, ys in series.items():
        if line:
            ax.plot([xs[i] for i in order], [ys[i] for i in order], marker="o", markersize=4, label=name or None)
        else:
            ax.scatter(xs, ys, s=25, label=name or None)
        for i, text in enumerate(labels or ()):
            if not math.isnan(ys[i]):
                ax.annotate(str(text), (xs[i], ys[i]), xytext=(4, 3), textcoords="offset points", fontsize=7)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if any(series):
        legend_below(fig, [ax])
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


__all__ = ["new_figure", "save_figure", "legend_below", "plot_curves", "plot_lr", "plot_schedule", "plot_lr_find",
           "plot_bars", "plot_xy"]
