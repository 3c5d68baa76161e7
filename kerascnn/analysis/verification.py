"""Verification (1:1, "same person / character or not?") measured the way the papers do.

Input: one distance per pair (smaller = more alike) and ``same`` (1 = same class,
0 = different). Reported:

- the ROC curve and its AUC (scikit-learn ``roc_curve`` / ``auc`` on ``-distance``);
- the equal error rate (EER): where the false accept rate equals the false reject rate;
- accuracy at a threshold *chosen on validation pairs* (:func:`best_threshold`), never
  a fixed 0.5 (the pitfall of Keras Siamese examples);
- VAL@FAR (Schroff et al. 2015, section 4.1): the fraction of same pairs accepted
  at the largest threshold whose false accept rate is at most ``far`` (FaceNet: 1e-3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError


def _check(distances, same) -> tuple[np.ndarray, np.ndarray]:
    distances = np.asarray(distances, dtype=np.float64).reshape(-1)
    same = np.asarray(same).reshape(-1).astype(bool)
    if len(distances) != len(same):
        raise UsageError(f"distances and same differ in length: {len(distances)} != {len(same)}")
    if same.all() or not same.any():
        raise UsageError("Verification needs both same and different pairs.")
    if not np.isfinite(distances).all():
        raise UsageError("Verification distances contain NaN or infinity.")
    return distances, same


def roc(distances, same) -> dict:
    """``{"far", "tar", "thresholds", "auc"}``: accept a pair when ``distance <= threshold``."""
    from sklearn.metrics import auc, roc_curve

    distances, same = _check(distances, same)
    far, tar, thresholds = roc_curve(same, -distances, drop_intermediate=False)
    return {"far": far, "tar": tar, "thresholds": -thresholds, "auc": float(auc(far, tar))}


def equal_error_rate(distances, same) -> float:
    """The EER: false accept rate = false reject rate, interpolated between ROC points."""
    curve = roc(distances, same)
    far, frr = curve["far"], 1.0 - curve["tar"]
    k = int(np.flatnonzero(far >= frr)[0])  # far rises, frr falls along the curve
    if k == 0:
        return float(far[0])
    # Linear interpolation between points k-1 (far < frr) and k (far >= frr).
    gap_before, gap_after = frr[k - 1] - far[k - 1], far[k] - frr[k]
    t = gap_before / (gap_before + gap_after) if gap_before + gap_after > 0 else 0.0
    return float(far[k - 1] + t * (far[k] - far[k - 1]))


def accuracy_at(distances, same, threshold: float) -> float:
    """Fraction of pairs classified right when ``distance <= threshold`` means same."""
    distances, same = _check(distances, same)
    return float(np.mean((distances <= threshold) == same))


def best_threshold(distances, same) -> float:
    """The threshold with the best accuracy on these (validation) pairs: a midpoint between distances."""
    distances, same = _check(distances, same)
    values = np.unique(distances)
    candidates = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    order = np.argsort(distances)
    # accepted(t) = pairs with distance <= t; correct = same accepted + different rejected.
    sorted_d, sorted_same = distances[order], same[order]
    same_below = np.concatenate([[0], np.cumsum(sorted_same)])
    counts = np.searchsorted(sorted_d, candidates, side="right")
    correct = same_below[counts] + ((~same).sum() - (counts - same_below[counts]))
    return float(candidates[int(np.argmax(correct))])


def val_at_far(distances, same, far: float = 1e-3) -> float:
    """FaceNet's VAL@FAR: same pairs accepted at the most lenient threshold with FAR <= ``far``."""
    distances, same = _check(distances, same)
    different = np.sort(distances[~same])
    allowed = int(np.floor(far * len(different) + 1e-9))  # different pairs that may be accepted
    # Accept d < the (allowed+1)-th smallest different distance: exactly `allowed` false accepts (no ties).
    limit = different[allowed] if allowed < len(different) else np.inf
    return float(np.mean(distances[same] < limit))


def report(distances, same, *, validation=None, far: float = 1e-3) -> dict:
    """The verification report: AUC, EER, threshold (from ``validation=(distances, same)`` if given), accuracy, VAL@FAR."""
    threshold = best_threshold(*(validation if validation is not None else (distances, same)))
    curve = roc(distances, same)
    return {
        "pairs": int(len(np.asarray(distances).reshape(-1))),
        "auc": curve["auc"],
        "eer": equal_error_rate(distances, same),
        "threshold": threshold,
        "threshold_from": "validation pairs" if validation is not None else "these pairs (optimistic)",
        "accuracy": accuracy_at(distances, same, threshold),
        "far": far,
        "val_at_far": val_at_far(distances, same, far),
    }


def plot_roc(distances, same, path: str | Path, *, title: str = "verification ROC") -> Path:
    """Write the ROC curve (log FAR axis, the EER point marked) to ``path`` atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kerascnn.core.files import atomic_save_path

    curve = roc(distances, same)
    eer = equal_error_rate(distances, same)
    figure, axis = plt.subplots(figsize=(5, 4))
    axis.plot(np.maximum(curve["far"], 1e-5), curve["tar"], label=f"AUC {curve['auc']:.3f}")
    axis.plot([max(eer, 1e-5)], [1 - eer], "o", label=f"EER {eer:.1%}")
    axis.set(xscale="log", xlabel="false accept rate", ylabel="true accept rate", title=title, ylim=(0, 1.01))
    axis.legend(loc="lower right")
    figure.tight_layout()
    with atomic_save_path(path) as tmp:
        figure.savefig(tmp, format=Path(path).suffix.lstrip(".") or "png")
    plt.close(figure)
    return Path(path)
