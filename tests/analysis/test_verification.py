"""kerascnn.analysis.verification on synthetic distances with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.analysis import verification
from kerascnn.core.errors import UsageError

# Same pairs at 0.1..0.4, different at 0.35..0.7: one (same, different) ordering of 16 is wrong.
SAME_D = [0.1, 0.2, 0.3, 0.4]
DIFF_D = [0.35, 0.5, 0.6, 0.7]
DISTANCES = np.array(SAME_D + DIFF_D)
SAME = np.array([1] * 4 + [0] * 4)


def test_separable_scores():
    d = np.array([0.1, 0.2, 0.8, 0.9])
    s = np.array([1, 1, 0, 0])
    report = verification.report(d, s)
    assert report["auc"] == 1.0 and report["eer"] == 0.0 and report["accuracy"] == 1.0
    assert 0.2 < report["threshold"] < 0.8 and report["val_at_far"] == 1.0


def test_auc_eer_threshold_accuracy_val_on_an_overlap():
    assert verification.roc(DISTANCES, SAME)["auc"] == pytest.approx(15 / 16)
    # Accepting d <= 0.35: FAR 1/4 (0.35 is different), FRR 1/4 (0.4 is same): the EER is 1/4; no threshold
    # does better on both (d <= 0.3: FAR 0, FRR 1/4; d <= 0.4: FAR 1/4, FRR 0).
    assert verification.equal_error_rate(DISTANCES, SAME) == pytest.approx(0.25)
    threshold = verification.best_threshold(DISTANCES, SAME)
    assert verification.accuracy_at(DISTANCES, SAME, threshold) == pytest.approx(7 / 8)
    # FAR 0 allowed: accept only below the smallest different distance 0.35 -> 3 of 4 same pairs.
    assert verification.val_at_far(DISTANCES, SAME, far=1e-3) == pytest.approx(0.75)
    assert verification.val_at_far(DISTANCES, SAME, far=0.25) == pytest.approx(1.0)


def test_threshold_comes_from_validation_pairs_not_a_fixed_half():
    # Everything is scaled by 10: a fixed 0.5 would accept nothing; the validation threshold works.
    validation = (DISTANCES * 10, SAME)
    report = verification.report(DISTANCES * 10, SAME, validation=validation)
    assert report["threshold"] > 3 and report["accuracy"] == pytest.approx(7 / 8)
    assert report["threshold_from"] == "validation pairs"
    assert verification.accuracy_at(DISTANCES * 10, SAME, 0.5) == 0.5


def test_random_scores_have_auc_near_half():
    rng = np.random.default_rng(0)
    same = rng.integers(0, 2, 4000)
    auc = verification.roc(rng.uniform(size=4000), same)["auc"]
    assert abs(auc - 0.5) < 0.03
    assert abs(verification.equal_error_rate(rng.uniform(size=4000), same) - 0.5) < 0.05


def test_plot_is_written(tmp_path):
    path = verification.plot_roc(DISTANCES, SAME, tmp_path / "roc.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_one_class_of_pairs_is_an_error():
    with pytest.raises(UsageError, match="both same and different"):
        verification.report([0.1, 0.2], [1, 1])
