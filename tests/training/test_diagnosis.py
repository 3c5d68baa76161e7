"""kerascnn.training.diagnosis: verdicts from the shapes of the curves, with the epochs and numbers behind them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kerascnn.core.errors import UsageError
from kerascnn.training import diagnosis



def history(loss, val_loss=None, acc=None, val_acc=None):
    out = {"loss": loss}
    if val_loss is not None:
        out["val_loss"] = val_loss
    if acc is not None:
        out["accuracy"] = acc
    if val_acc is not None:
        out["val_accuracy"] = val_acc
    return out


@pytest.mark.parametrize(
    "curves, verdict",
    [
        (history([2.3, 1.2, float("nan")]), "lr_too_high"),
        (history([2.3, 2.0, float("inf")], [2.2, 2.1, 2.5]), "lr_too_high"),
        (history([2.3, 1.0, 4.0, 9.0], [2.0, 1.1, 3.9, 8.0]), "lr_too_high"),
        (history([1.0, 0.3, 0.1, 0.02], [0.9, 0.5, 0.5, 0.6], [0.6, 0.9, 0.97, 1.0], [0.6, 0.8, 0.85, 0.86]),
         "overfitting"),
        (history([1.0, 0.5, 0.3, 0.2, 0.1], [0.9, 0.6, 0.5, 0.65, 0.8]), "overfitting"),
        # Issue 8: a gap alone is not overfitting while the validation loss still falls (was "overfitting").
        (history([1.0, 0.5, 0.2, 0.1], [1.0, 0.6, 0.5, 0.45]), "still_improving"),
        (history([2.0, 1.5, 1.3, 1.2], [2.0, 1.5, 1.3, 1.25], [0.3, 0.45, 0.5, 0.55], [0.3, 0.45, 0.5, 0.54]),
         "underfitting"),
        (history([2.30, 2.29, 2.28, 2.27], [2.30, 2.29, 2.28, 2.27], [0.1, 0.11, 0.12, 0.12], [0.1, 0.1, 0.12, 0.12]),
         "lr_too_low"),
        (history([2.30, 2.29, 2.28]), "lr_too_low"),  # no validation, no accuracy
        (history([0.5, 0.1, 0.05, 0.03], [0.3, 0.08, 0.05, 0.045], [0.85, 0.97, 0.985, 0.99], [0.9, 0.975, 0.98, 0.985]),
         "healthy"),
        (history([0.021, 0.020, 0.020], [0.03, 0.03, 0.03], [0.995, 0.996, 0.996], [0.99, 0.99, 0.99]),
         "healthy"),  # converged: flat but low
        (history([0.3, 0.05, 0.03, 0.02, 0.015], [0.1, 0.03, 0.021, 0.024, 0.026],
                 [0.9, 0.98, 0.99, 0.995, 0.997], [0.97, 0.99, 0.992, 0.991, 0.991]),
         "healthy"),  # a 99 % model's val loss wobbling 0.021 -> 0.026 is not overfitting
        (history([0.5]), "inconclusive"),
        (history([-1.0, -2.0, -2.5]), "healthy"),  # losses may be negative (e.g. cosine similarity)
    ],
)
def test_diagnose_history_verdicts(curves, verdict):
    result = diagnosis.diagnose_history(curves)
    assert result["verdict"] == verdict, result
    assert result["advice"] == diagnosis.ADVICE[verdict]
    assert result["reason"] and "\n" not in result["reason"]
    assert result["evidence"]["epochs"] == len(curves["loss"])
    json.dumps(result, allow_nan=False)  # goes into metrics.json as strict JSON


def test_diagnose_history_evidence_and_errors():
    evidence = diagnosis.diagnose_history(history([1.0, 0.5], [1.0, 0.6], [0.5, 0.9], [0.5, 0.8]))["evidence"]
    assert evidence["accuracy_gap"] == pytest.approx(0.1)
    assert evidence["loss_improvement"] == pytest.approx(0.5)
    assert diagnosis.diagnose_history(history([1.0, float("nan")]))["evidence"]["first_non_finite_epoch"] == 2
    with pytest.raises(UsageError, match="no 'loss'"):
        diagnosis.diagnose_history({"accuracy": [0.5]})


# --------------------------------------------------------------------------- reasons name epochs and values


def test_still_improving_when_the_validation_loss_falls_to_the_last_epoch():
    """resnet20 on digits, 10 epochs (issue 8): val loss 2.05 -> 0.37, best epoch the last; was "overfitting"."""
    val_loss = [2.053, 1.810, 1.617, 1.470, 1.270, 1.080, 0.886, 0.691, 0.511, 0.369]
    curves = history([0.78, 0.079, 0.016, 0.0084, 0.0042, 0.0027, 0.0025, 0.0019, 0.0021, 0.0019], val_loss,
                     [0.76, 0.98, 0.998, 0.998, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                     [0.59, 0.62, 0.56, 0.55, 0.56, 0.64, 0.69, 0.74, 0.83, 0.88])
    result = diagnosis.diagnose_history(curves, ("accuracy", "max"))
    assert result["verdict"] == "still_improving", result
    assert "epoch 9" in result["reason"] and "0.369 at epoch 10" in result["reason"]
    assert result["evidence"]["best_epoch"] == 10 and "train longer" in result["advice"].lower()


def test_underfitting_when_training_accuracy_itself_is_low():
    """lenet5 on omniglot, 3 epochs (issue 8): training accuracy 17 %; was "overfitting" (a 7-point gap)."""
    curves = history([5.474, 4.937, 3.990], [5.348, 4.823, 4.635], [0.0098, 0.053, 0.170], [0.030, 0.052, 0.096])
    result = diagnosis.diagnose_history(curves, ("accuracy", "max"))
    assert result["verdict"] == "underfitting", result
    assert "17.0% at epoch 3" in result["reason"]


def test_overfitting_names_the_turning_epoch_and_both_losses():
    curves = history([1.0, 0.5, 0.3, 0.2, 0.1], [0.9, 0.6, 0.5, 0.65, 0.8], [0.6, 0.8, 0.9, 0.95, 0.99],
                     [0.6, 0.75, 0.82, 0.81, 0.80])
    result = diagnosis.diagnose_history(curves, ("accuracy", "max"))
    assert result["verdict"] == "overfitting"
    assert "since epoch 3" in result["reason"] and "0.5 (epoch 3) to 0.8 (epoch 5)" in result["reason"]
    assert "best.keras keeps epoch 3" in result["reason"] and "best.keras" in result["advice"]
    assert diagnosis.describe(result).startswith("overfitting: since epoch 3")


def test_diverged_and_too_few_epochs_say_where():
    nan = diagnosis.diagnose_history(history([2.3, 1.2, float("nan")]))
    assert nan["verdict"] == "lr_too_high" and "epoch 3" in nan["reason"]
    blown = diagnosis.diagnose_history(history([2.3, 1.0, 4.0, 9.0]))
    assert "1 at epoch 2" in blown["reason"] and "9 at epoch 4" in blown["reason"]
    assert "1 finished epoch" in diagnosis.diagnose_history(history([0.5]))["reason"]


def test_monitor_decides_the_metric_and_the_best_epoch():
    """A task monitoring a "lower is better" metric: no accuracy rule, the best epoch is the minimum."""
    curves = {"loss": [1.0, 0.4, 0.2], "val_loss": [1.0, 0.5, 0.45], "mae": [0.9, 0.5, 0.3],
              "val_mae": [0.8, 0.4, 0.5], "accuracy": [0.1, 0.1, 0.1]}
    result = diagnosis.diagnose_history(curves, ("mae", "min"))
    assert result["verdict"] != "underfitting"  # the accuracy column is not what this task monitors
    assert result["evidence"]["best_epoch"] == 2 and result["evidence"]["best_val_mae"] == pytest.approx(0.4)
    assert diagnosis.best_epoch(curves, ("mae", "min")) == (1, 0.4)
    assert diagnosis.best_epoch(curves, ("accuracy", "max")) is None  # no val_accuracy


def test_diagnosis_imports_no_tensorflow():
    code = ("import sys\nfrom kerascnn.training.diagnosis import diagnose_history\n"
            "diagnose_history({'loss': [1.0, 0.5]})\nassert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- real short runs


def _train(*args, **options):
    from kerascnn.training import train

    return train(*args, seed=0, quiet=True, **options)


def test_real_lenet5_digits_run_has_a_reasoned_verdict(tmp_path):
    result = _train("lenet5", "digits", epochs=3, run_dir=tmp_path / "run")
    verdict = result.metrics["diagnosis"]
    assert verdict["verdict"] in ("underfitting", "still_improving", "healthy"), verdict
    assert "epoch 3" in verdict["reason"]
    assert verdict["reason"] in result.summary()


@pytest.mark.slow
def test_real_resnet20_digits_run_is_still_improving(tmp_path):
    result = _train("resnet20", "digits", epochs=5, run_dir=tmp_path / "run")
    val_loss = result.history["val_loss"]
    assert min(val_loss) == val_loss[-1]  # the shape the verdict must read
    assert result.metrics["diagnosis"]["verdict"] == "still_improving", result.metrics["diagnosis"]


@pytest.mark.slow
def test_real_lenet5_omniglot_run_is_underfitting(tmp_path, shared_data):
    result = _train("lenet5", "omniglot", data_dir=shared_data, epochs=3, run_dir=tmp_path / "run")
    assert result.history["accuracy"][-1] < 0.5
    assert result.metrics["diagnosis"]["verdict"] == "underfitting", result.metrics["diagnosis"]


def test_a_metric_loss_settling_near_zero_is_not_a_blow_up():
    """A triplet loss that reached ~0 and wobbles (4e-7 -> 2e-4) has not diverged (absolute margin)."""
    from kerascnn.training.diagnosis import diagnose_history

    history = {"loss": [0.2, 0.01, 4e-7, 2e-4], "val_loss": [0.25, 0.05, 0.04, 0.04]}
    assert diagnose_history(history)["verdict"] != "lr_too_high"
    exploded = {"loss": [2.3, 0.9, 0.6, 1.5], "val_loss": [2.3, 1.0, 0.8, 1.6]}
    assert diagnose_history(exploded)["verdict"] == "lr_too_high"
