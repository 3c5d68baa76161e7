"""Accuracy-aware int8: top-1 accuracy on labelled held-out data, and layers kept in float until the drop fits.

``kerascnn export --quantize int8 --max-accuracy-drop 0.5`` measures each
artifact's top-1 accuracy on the verification inputs (held out: the test split)
against their labels. When an int8 artifact loses more than the allowed points
against the float32 model, the export keeps the layers int8 hurts most in float32
— ranked by :mod:`kerascnn.export.quant_debug` (lowest per-channel SQNR first) —
and quantises again: onnxruntime's ``nodes_to_exclude``, TFLite's selective
quantisation (``QuantizationDebugOptions(denylisted_nodes=...)``). It tries the
1, 2, 4, 8 ... most harmful layers, then bisects down to the fewest that fit,
and reports them. Keeping a layer in float keeps its output tensor in float, so
the layers that read it (through ReLU/pooling/reshape) run in float too: one
outlier channel in a tensor spoils the int8 scale of every other channel in it.

If the drop does not fit even with every quantised layer in float (what stays
int8 then is the input/output quantisation), the export stops and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kerascnn.core.errors import UsageError

#: The command-line spelling, for messages.
OPTION = "--max-accuracy-drop"


def verify_labels(inputs: dict, count: int, task_name: str = "") -> np.ndarray:
    """The labels of the ``count`` verification inputs the Task gave (``inputs["verify_labels"]``).

    Raises:
        UsageError: the inputs have no labels (``--calibration random``, or a Task that gives none).
    """
    labels = inputs.get("verify_labels")
    if labels is None:
        raise UsageError(
            f"{OPTION} needs labelled held-out data, but task {task_name or '?'!r} gave no labels with its "
            f"verification inputs ({inputs.get('description', 'no description')}): pass --calibration with a "
            "labelled data set (e.g. the one the model was trained on)."
        )
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != count:
        raise UsageError(f"{OPTION}: {len(labels)} labels for {count} verification inputs.")
    return labels


def top1_accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows of ``outputs`` whose largest entry is at the row's label."""
    outputs = np.asarray(outputs).reshape(len(outputs), -1)
    return float(np.mean(outputs.argmax(axis=1) == np.asarray(labels).reshape(-1)))


def drop_points(float_accuracy: float, accuracy: float) -> float:
    """Accuracy lost, in percentage points (positive: worse than float)."""
    return 100.0 * (float_accuracy - accuracy)


def check_max_drop(value) -> float | None:
    """``None`` or a finite number of points >= 0; ``UsageError`` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise UsageError(f"{OPTION} takes accuracy points >= 0 (e.g. 0.5). Received: {value!r}")
    return float(value)


@dataclass
class Fit:
    """What :func:`fit_drop` found: the artifact's accuracy and the layers it keeps in float."""

    float_accuracy: float
    accuracy: float
    max_drop: float
    float_layers: list[str] = field(default_factory=list)  #: the harmful layers, as the table names them
    excluded: list[str] = field(default_factory=list)  #: every node/tensor the quantiser left in float
    tried: list[dict] = field(default_factory=list)  #: {"float_layers": n, "accuracy": a} per quantisation

    @property
    def drop(self) -> float:
        return drop_points(self.float_accuracy, self.accuracy)

    def to_manifest(self) -> dict:
        return {
            "float_accuracy": self.float_accuracy,
            "accuracy": self.accuracy,
            "drop_points": round(self.drop, 4),
            "max_drop_points": self.max_drop,
            "float_layers": self.float_layers,
            "tried": self.tried,
        }


def fit_drop(
    quantise: Callable[[Sequence[str]], None],
    accuracy: Callable[[], float],
    ranked: Callable[[], Sequence[dict]],
    *,
    float_accuracy: float,
    max_drop: float,
    label: str,
    say: Callable[[str], None] = lambda line: None,
) -> Fit:
    """Quantise, and keep the most harmful layers in float until the drop is within ``max_drop`` points.

    Args:
        quantise: writes the artifact with the given nodes (ONNX) / tensors (TFLite) kept in float.
        accuracy: the written artifact's top-1 accuracy on the labelled held-out data.
        ranked: the per-layer error rows (:mod:`~kerascnn.export.quant_debug`) of the fully quantised
            artifact, each with ``exclude`` (what to keep in float for it); asked only if needed.
        label: ``"onnx int8"``, for messages.

    Raises:
        UsageError: even with every quantised layer in float the drop is too large.
    """
    fit = Fit(float_accuracy, accuracy(), max_drop)
    fit.tried.append({"float_layers": 0, "accuracy": fit.accuracy})
    if fit.drop <= max_drop:
        return fit
    rows = sorted(ranked(), key=lambda row: row["channel_sqnr_db"])
    say(f"{label}: top-1 {fit.accuracy:.2%} vs float {float_accuracy:.2%} ({fit.drop:.2f} points > {max_drop:g}); "
        f"keeping the most harmful of {len(rows)} layers in float")  # fmt: skip

    def attempt(count: int) -> float:
        excluded = list(dict.fromkeys(name for row in rows[:count] for name in row["exclude"]))
        quantise(excluded)
        value = accuracy()
        fit.tried.append({"float_layers": count, "accuracy": value})
        lost = drop_points(float_accuracy, value)
        say(f"{label}: {count} layer(s) in float -> top-1 {value:.2%} ({lost:.2f} points)")
        return value

    counts = sorted({min(2**i, len(rows)) for i in range(len(rows).bit_length() + 1)})
    failed, fitted = 0, None
    for count in counts:
        if drop_points(float_accuracy, attempt(count)) <= max_drop:
            fitted = count
            break
        failed = count
    if fitted is None:
        raise UsageError(
            f"{OPTION} {max_drop:g} cannot be met for {label}: with all {len(rows)} quantised layers kept in float "
            f"it still loses {drop_points(float_accuracy, fit.tried[-1]['accuracy']):.2f} points "
            f"({fit.tried[-1]['accuracy']:.2%} vs {float_accuracy:.2%}); nothing was written."
        )
    while fitted - failed > 1:  # the fewest layers that fit, assuming more float layers never hurt
        middle = (failed + fitted) // 2
        if drop_points(float_accuracy, attempt(middle)) <= max_drop:
            fitted = middle
        else:
            failed = middle
    excluded = list(dict.fromkeys(name for row in rows[:fitted] for name in row["exclude"]))
    if fit.tried[-1]["float_layers"] != fitted:
        quantise(excluded)  # the artifact on disk is the one that fits
    fit.accuracy = next(t["accuracy"] for t in reversed(fit.tried) if t["float_layers"] == fitted)
    fit.float_layers = [row["layer"] for row in rows[:fitted]]
    fit.excluded = excluded
    return fit


__all__ = ["OPTION", "Fit", "verify_labels", "top1_accuracy", "drop_points", "check_max_drop", "fit_drop"]
