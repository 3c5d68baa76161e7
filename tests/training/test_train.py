"""Training: the run directory, raw-pixel models, determinism, resume after SIGKILL or Ctrl-C, longer runs,
the Task seam, transfer learning (frozen BatchNorm), weight penalties and the CLI's bad-input handling."""

from __future__ import annotations

import csv
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kerascnn import cli
from kerascnn.core.errors import UsageError
from kerascnn.training.config import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = ("model.keras", "config.json", "history.csv", "metrics.json", "curves.png", "lr.png", "best.keras")
METRIC_KEYS = ("test_accuracy", "test_loss", "epochs_completed", "replicas", "train_seconds", "diagnosis")


def _subprocess_env() -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERASCNN_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    env.pop("TF_CONFIG", None)
    return env


def _history_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """LeNet-5 on the embedded digits for 2 epochs, with augmentation in the pipeline."""
    from kerascnn.training.trainer import train

    run_dir = tmp_path_factory.mktemp("runs") / "lenet5-digits"
    result = train("lenet5", "digits", epochs=2, run_dir=run_dir, seed=0, quiet=True, augment="translate:0.1")
    return result


def test_run_dir_has_every_file_and_documented_keys(digits_run):
    run = digits_run.run_dir
    for name in RUN_FILES:
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    for key in METRIC_KEYS:
        assert key in metrics, key
    assert metrics["epochs_completed"] == 2 and metrics["replicas"] == 1
    assert metrics["diagnosis"]["verdict"] in ("healthy", "underfitting", "still_improving", "lr_too_low")
    assert metrics["task"] == "classification" and metrics["monitor"] == {"metric": "val_accuracy", "mode": "max"}
    assert metrics["best_val_accuracy"] == max(float(r["val_accuracy"]) for r in _history_rows(run / "history.csv"))
    assert 0.3 < metrics["test_accuracy"] <= 1.0  # 2 epochs on 1,293 images: far above chance (0.1)
    rows = _history_rows(run / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "classification"
    assert config["train"]["seed"] == 0 and config["train"]["augment"] == "translate:0.1"
    assert {"tensorflow", "keras", "kerascnn", "python"} <= set(config["versions"])
    assert config["command"].startswith("kerascnn train lenet5 --dataset digits")
    assert not (run / "backup").exists()  # BackupAndRestore cleans up after a finished run
    from kerascnn.training.callbacks import tensorboard_available

    assert (run / "logs").is_dir() == tensorboard_available()  # TensorBoard needs the tensorboard package


def test_config_command_reproduces_the_options(digits_run):
    """config.json's command line parses back to the same training options."""
    from kerascnn.commands.train import options_from_args

    config = json.loads((digits_run.run_dir / "config.json").read_text())
    argv = config["command"].split()[1:]
    args = cli.build_parser("train").parse_args(argv)
    options = options_from_args(args)  # a recipe option the command line leaves out: the config's default
    defaults = TrainConfig()
    for key in ("batch_size", "optimizer", "augment", "seed", "weight_decay"):
        assert options.get(key, getattr(defaults, key)) == config["train"][key], key
    assert (args.epochs or defaults.epochs) == config["train"]["epochs"]


def test_saved_model_takes_raw_pixels_without_augmentation(digits_run):
    import keras

    from kerascnn import data

    model = keras.saving.load_model(digits_run.run_dir / "model.keras")
    assert tuple(model.input_shape) == (None, 8, 8, 1)
    names = [layer.__class__.__name__ for layer in model._flatten_layers()]
    assert not any(n.startswith("Random") for n in names), names
    digits = data.load("digits")
    raw = digits.x_test.astype("float32")  # 0-255, exactly as loaded
    first, second = model.predict(raw, verbose=0), model.predict(raw, verbose=0)
    np.testing.assert_array_equal(first, second)  # no augmentation active at inference
    accuracy = float(np.mean(first.argmax(-1) == digits.y_test))
    assert accuracy == pytest.approx(digits_run.metrics["test_accuracy"], abs=1e-6)


def test_mnist_model_input_is_28x28x1(shared_data, tmp_path):
    from kerascnn.training.trainer import train

    result = train("lenet5", "mnist", data_dir=shared_data, epochs=1, steps_per_epoch=3, validation_split=0,
                   run_dir=tmp_path / "run", seed=0, quiet=True)
    assert tuple(result.model.input_shape) == (None, 28, 28, 1)
    assert result.metrics["input_shape"] == [28, 28, 1]


def _weights(result):
    return [np.asarray(w) for w in result.model.get_weights()]


def test_same_seed_gives_identical_weights(tmp_path):
    from kerascnn.training.seeding import set_global_seed
    from kerascnn.training.trainer import train
    from kerascnn.training.modeling import build_training_model

    options = dict(epochs=1, steps_per_epoch=6, validation_split=0, quiet=True, augment="rotate:10")
    first = train("lenet5", "digits", run_dir=tmp_path / "a", seed=7, **options)
    second = train("lenet5", "digits", run_dir=tmp_path / "b", seed=7, **options)
    for a, b in zip(_weights(first), _weights(second)):
        np.testing.assert_array_equal(a, b)
    set_global_seed(7)
    initial = build_training_model("lenet5", image_shape=(8, 8, 1), num_classes=10, mean=[0.0], variance=[1.0])
    trained = [w for w in _weights(first) if w.ndim > 1]  # kernels (the Normalization stats differ anyway)
    assert all(not np.array_equal(a, b) for a, b in zip(trained, [w for w in initial.get_weights() if w.ndim > 1]))


def test_existing_run_dir_is_not_clobbered(digits_run):
    from kerascnn.training.trainer import train

    before = {p.name: p.read_bytes() for p in digits_run.run_dir.iterdir() if p.is_file()}
    with pytest.raises(UsageError, match="not empty"):
        train("lenet5", "digits", epochs=2, run_dir=digits_run.run_dir, seed=0, quiet=True)
    with pytest.raises(UsageError, match="different configuration: epochs"):  # epochs may only grow
        train("lenet5", "digits", epochs=1, run_dir=digits_run.run_dir, seed=0, quiet=True,
              augment="translate:0.1", resume=True)
    with pytest.raises(UsageError, match="different configuration: batch_size"):
        train("lenet5", "digits", epochs=3, run_dir=digits_run.run_dir, seed=0, quiet=True, batch_size=32,
              augment="translate:0.1", resume=True)
    with pytest.raises(UsageError, match="different task"):
        train("lenet5", "digits", epochs=3, run_dir=digits_run.run_dir, seed=0, quiet=True,
              augment="translate:0.1", resume=True, task=_RenamedTask())
    with pytest.raises(UsageError, match="already finished"):
        train("lenet5", "digits", epochs=2, run_dir=digits_run.run_dir, seed=0, quiet=True,
              augment="translate:0.1", resume=True)
    after = {p.name: p.read_bytes() for p in digits_run.run_dir.iterdir() if p.is_file()}
    assert after == before


KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    from kerascnn.training.trainer import train

    class KillMidEpoch(keras.callbacks.Callback):
        # SIGKILL in the middle of the third epoch: two epochs are finished and backed up.
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    train("lenet5", "digits", epochs=4, run_dir=sys.argv[1], seed=0, quiet=True, callbacks=[KillMidEpoch()])
    """
)


def test_resume_after_sigkill_finishes_with_one_row_per_epoch(tmp_path):
    run = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(run)], env=_subprocess_env(),
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (run / "backup").is_dir() and not (run / "metrics.json").exists()
    assert [int(r["epoch"]) for r in _history_rows(run / "history.csv")] == [0, 1]

    resumed = subprocess.run(
        [sys.executable, "-m", "kerascnn", "train", "lenet5", "--dataset", "digits", "--epochs", "4", "--seed", "0",
         "--run-dir", str(run), "--resume", "--quiet"],
        env=_subprocess_env(), capture_output=True, text=True, timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "lenet5 on digits: test accuracy" in resumed.stdout
    rows = _history_rows(run / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]  # as many rows as an uninterrupted run
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 4 and metrics["resumed_at_epoch"] == 2
    assert not (run / "backup").exists()


def test_resume_trims_rows_written_after_the_last_backup(tmp_path):
    """A kill between the CSV row and the backup leaves an extra row; resume drops it."""
    from kerascnn.core.layout import RunLayout
    from kerascnn.training.rundir import completed_epochs, trim_history

    run = RunLayout(tmp_path)
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text('{"epoch": 2, "batch": 0}')
    run.history.write_text("epoch,loss\n0,1.0\n1,0.5\n2,0.4\n")
    assert completed_epochs(run) == 2
    assert trim_history(run, 2) == 2
    assert run.history.read_text() == "epoch,loss\n0,1.0\n1,0.5\n"


def _quick(*extra):
    """A few-step LeNet-5 run on the embedded digits, as command-line arguments."""
    return ["train", "lenet5", "--dataset", "digits", "--seed", "0", "--steps-per-epoch", "4", "--quiet", *extra]


def test_ctrl_c_prints_the_command_that_resumes(tmp_path, capsys, monkeypatch):
    """Issue 8: Ctrl-C said only "interrupted"; now it prints the exact --resume command, which finishes the run."""
    import keras

    from kerascnn.training import trainer

    class CtrlC(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 2:
                raise KeyboardInterrupt

    make_callbacks = trainer._callbacks
    monkeypatch.setattr(trainer, "_callbacks", lambda *a, **k: make_callbacks(*a, **k) + [CtrlC()])
    run = tmp_path / "run dir"
    assert cli.main([*_quick("--epochs", "3"), "--run-dir", str(run)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0], err
    command = err[0].split("with: ", 1)[1]
    assert command.startswith("kerascnn train lenet5") and command.endswith(f"--run-dir {shlex.quote(str(run))} --resume")
    assert not (run / "metrics.json").exists() and (run / "backup").is_dir()

    monkeypatch.setattr(trainer, "_callbacks", make_callbacks)
    assert cli.main(shlex.split(command)[1:]) == 0
    assert [int(r["epoch"]) for r in _history_rows(run / "history.csv")] == [0, 1, 2]
    assert json.loads((run / "metrics.json").read_text())["resumed_at_epoch"] == 1


def test_a_finished_run_trains_longer_with_more_epochs(tmp_path, capsys):
    """Issue 8: --resume --epochs N on a finished run was refused; now it continues from model.keras."""
    run = tmp_path / "run"
    assert cli.main([*_quick("--epochs", "2"), "--run-dir", str(run)]) == 0
    first = json.loads((run / "metrics.json").read_text())
    capsys.readouterr()
    assert cli.main([*_quick("--epochs", "3"), "--run-dir", str(run), "--resume"]) == 0
    out, err = capsys.readouterr()
    assert "after 3 epochs" in out
    assert "cosine schedule is recomputed for 3 epochs instead of 2" in err
    rows = _history_rows(run / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_completed"] == 3 and metrics["resumed_at_epoch"] == 2
    assert metrics["train_seconds"] > first["train_seconds"]
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["epochs"] == 3 and config["extended"] == [{"from_epochs": 2, "to_epochs": 3, "at_epoch": 2}]
    assert "--epochs 3" in config["command"]
    # The first epoch of the extension continued from the trained weights, not from scratch.
    assert float(rows[2]["loss"]) < float(rows[0]["loss"])


# --------------------------------------------------------------------------- the Task seam


from kerascnn.tasks.classification import Classification  # noqa: E402


class _RenamedTask(Classification):
    name = "renamed_classification"


class _LossMonitoredTask(Classification):
    """A user-defined Task: the best epoch by the lowest validation loss, its own headline."""

    name = "loss_monitored"
    monitor = ("loss", "min")

    def headline(self, metrics):
        return f"test loss only: {metrics['test_loss']:.3f}"


def test_a_user_defined_task_drives_the_trainer(tmp_path):
    from kerascnn.training import train

    result = train("lenet5", "digits", task=_LossMonitoredTask(), epochs=2, steps_per_epoch=3,
                   run_dir=tmp_path / "run", seed=0, quiet=True)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["task"] == "loss_monitored" and metrics["monitor"] == {"metric": "val_loss", "mode": "min"}
    assert metrics["best_val_loss"] == min(result.history["val_loss"])
    assert metrics["best_epoch"] == 1 + int(np.argmin(result.history["val_loss"]))
    assert "test_accuracy" in metrics and "test_loss" in metrics
    assert json.loads((tmp_path / "run" / "config.json").read_text())["task"] == "loss_monitored"
    assert result.summary().startswith("lenet5 on digits: test loss only: ")


def test_a_model_without_a_task_is_one_line(capsys, tmp_path):
    """facenet_nn1 is an embedding model: the 'embedding' Task trains it (a bad metric option is one line)."""
    from kerascnn import tasks

    assert tasks.for_model("facenet_nn1").name == "embedding"
    assert cli.main(["train", "facenet_nn1", "--model-arg", "loss=tripplet", "--run-dir", str(tmp_path / "run"),
                     "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Unknown loss 'tripplet'" in err, err
    assert not (tmp_path / "run").exists()
    from kerascnn.training import train

    with pytest.raises(UsageError, match="Unknown task 'regression'"):
        train("lenet5", "digits", task="regression", run_dir=tmp_path / "run")


def test_data_dir_without_dataset_is_refused(capsys, tmp_path):
    """Issue 8: --data-dir alone silently trained on the embedded digits."""
    assert cli.main(["train", "lenet5", "--data-dir", str(tmp_path), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data-dir" in err and "--dataset" in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("dataset, warned", [("digits", True), ("mnist", True), ("cifar10", False)])
def test_flipping_digits_or_letters_is_warned(dataset, warned, capsys, tmp_path, monkeypatch):
    from kerascnn.training import trainer

    def stop(*args, **kwargs):
        raise UsageError("stopped before training")

    monkeypatch.setattr(trainer, "train", stop)
    assert cli.main(["train", "lenet5", "--dataset", dataset, "--augment", "crop,flip",
                     "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    warnings = [line for line in err if "warning:" in line]
    assert len(warnings) == (1 if warned else 0), err
    if warned:
        assert "flip" in warnings[0] and "digits or letters" in warnings[0]


@pytest.fixture(scope="module")
def bn_model_path(tmp_path_factory):
    """An untrained ResNet-20 training model (raw pixels -> BN network) saved to disk."""
    from kerascnn.training.modeling import build_training_model

    model = build_training_model("resnet20", image_shape=(8, 8, 1), num_classes=10, mean=[100.0], variance=[900.0])
    path = tmp_path_factory.mktemp("pretrained") / "resnet20.keras"
    model.save(path)
    return path


def test_freeze_base_keeps_batchnorm_in_inference_mode(bn_model_path, tmp_path):
    import keras

    from kerascnn.training.trainer import train
    from kerascnn.training.modeling import find_backbone

    before = find_backbone(keras.saving.load_model(bn_model_path))
    result = train("resnet20", "digits", init_from=str(bn_model_path), freeze="base", new_head=True, epochs=1,
                   steps_per_epoch=4, validation_split=0, run_dir=tmp_path / "run", seed=0, quiet=True, lr=0.01)
    after = find_backbone(result.model)
    batchnorms = [layer for layer in after.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert batchnorms and all(not layer.trainable for layer in batchnorms)
    for layer in batchnorms:  # moving statistics untouched: the frozen BN ran in inference mode
        old = before.get_layer(layer.name)
        np.testing.assert_array_equal(np.asarray(layer.moving_mean), np.asarray(old.moving_mean))
        np.testing.assert_array_equal(np.asarray(layer.moving_variance), np.asarray(old.moving_variance))
    head = after.get_layer("predictions")
    assert head.trainable and not np.array_equal(np.asarray(head.kernel), np.asarray(before.get_layer("predictions").kernel))
    assert [w.name for w in result.model.trainable_weights] == ["kernel", "bias"]

    # Starting from that (frozen) model again without `freeze` trains every layer.
    from kerascnn.training.modeling import load_backbone

    unfrozen = load_backbone(str(result.run_dir / "model.keras"), num_classes=10)
    assert len(unfrozen.trainable_weights) == len(before.trainable_weights)


def test_freeze_up_to_a_named_layer(bn_model_path):
    import keras

    from kerascnn.training.modeling import find_backbone, freeze_layers

    backbone = find_backbone(keras.saving.load_model(bn_model_path))
    names = [layer.name for layer in backbone.layers]
    cut = next(n for n in names if n.endswith("_out"))
    frozen = freeze_layers(backbone, cut)
    assert frozen == names[: names.index(cut) + 1]
    assert all(layer.trainable for layer in backbone.layers[names.index(cut) + 1:])
    with pytest.raises(UsageError, match="no layer"):
        freeze_layers(backbone, "no_such_layer")


def test_weight_penalties_reach_the_loss():
    from kerascnn.training.modeling import build_training_model

    plain = build_training_model("lenet5", image_shape=(8, 8, 1), num_classes=10, mean=[0.0], variance=[1.0])
    assert not plain.losses
    decayed = build_training_model("lenet5", image_shape=(8, 8, 1), num_classes=10, mean=[0.0], variance=[1.0],
                                   weight_decay=1e-3, l1=1e-4)
    kernels = [layer for layer in decayed._flatten_layers() if getattr(layer, "kernel_regularizer", None)]
    assert len(kernels) == len(decayed.losses) == 5  # C1, C3, C5, F6, output
    expected = sum(1e-3 / 2 * np.sum(np.square(layer.kernel)) + 1e-4 * np.sum(np.abs(layer.kernel))
                   for layer in kernels)
    assert float(sum(decayed.losses)) == pytest.approx(float(expected), rel=1e-4)


def test_adamw_uses_decoupled_decay_not_a_penalty():
    from kerascnn.training.trainer import compile_model
    from kerascnn.data import load
    from kerascnn.training.config import TrainConfig

    digits = load("digits")
    config = TrainConfig.from_options("lenet5", "digits", optimizer="adamw", weight_decay=0.01)
    model = compile_model(config, digits, digits.x_train, 1e-3)
    assert not model.losses and model.optimizer.weight_decay == pytest.approx(0.01)


# --------------------------------------------------------------------------- CLI bad input


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "lenet6"], "Unknown model 'lenet6'. Did you mean: lenet5"),
        (["train", "lenet5", "--dataset", "mnits"], "Unknown dataset"),
        (["train", "lenet5", "--schedule", "cosinus"], "Unknown schedule"),
        (["train", "lenet5", "--freeze", "nope", "--epochs", "1"], "no layer of that name"),
        (["train", "lenet5", "--init-from", "missing.keras"], "not found"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(argv, message, capsys, tmp_path):
    assert cli.main([*argv, "--run-dir", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.parametrize(
    "flags",
    [["--epochs", "0"], ["--batch-size", "-4"], ["--lr", "0"], ["--optimizer", "adamax"], ["--cpu-devices", "0"]],
)
def test_cli_rejects_non_positive_numbers_and_unknown_choices(flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "lenet5", *flags])
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_missing_data_and_bad_run_dir(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.delenv("KERASCNN_DATA", raising=False)
    assert cli.main(["train", "lenet5", "--dataset", "mnist", "--data-dir", str(empty), "--quiet",
                     "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "mnist" in err and str(empty) in err
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    assert cli.main(["train", "lenet5", "--epochs", "1", "--quiet", "--run-dir", str(blocker / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Cannot write" in err
    assert blocker.read_text() == "not a folder"


def test_cli_resume_with_other_config_is_refused(digits_run, capsys):
    before = (digits_run.run_dir / "config.json").read_bytes()
    status = cli.main(["train", "lenet5", "--dataset", "digits", "--epochs", "5", "--seed", "0",
                       "--batch-size", "32", "--run-dir", str(digits_run.run_dir), "--resume", "--quiet"])
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "different configuration" in err
    assert (digits_run.run_dir / "config.json").read_bytes() == before


def test_lr_find_writes_plot_and_suggests_a_rate(tmp_path, capsys):
    out = tmp_path / "lr.png"
    assert cli.main(["lr-find", "lenet5", "--steps", "20", "--out", str(out), "--quiet"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("suggested learning rate: ") and out.is_file()
    suggested = float(line.split(": ")[1].split()[0])
    assert 1e-6 <= suggested <= 10
