"""kerascnn.nn.saving: any .keras file kerascnn wrote loads in a fresh process; broken files fail in one line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kerascnn.core.errors import DataNotFoundError, UsageError
from kerascnn.nn.saving import load_model, resolve_model_path


@pytest.fixture(scope="module")
def saved_resnet20(tmp_path_factory):
    """CIFAR ResNet-20 (custom ZeroPadShortcut layer) compiled with a cyclical LR schedule."""
    import keras

    from kerascnn import models

    from kerascnn.training import schedules

    model = models.build("resnet20", input_shape=(16, 16, 3), classes=4)
    lr = schedules.build("cyclical", initial_lr=0.01, steps_per_epoch=5, epochs=4)
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    x = np.random.default_rng(0).uniform(0, 1, (3, 16, 16, 3)).astype("float32")
    np.save(path.with_suffix(".npy"), x)
    return path, model.predict(x, verbose=0)


def test_fresh_process_loads_custom_layers_and_schedules(saved_resnet20):
    path, expected = saved_resnet20
    code = (
        "import sys, numpy as np\n"
        "from kerascnn.nn.saving import load_model\n"
        f"model = load_model({str(path)!r}, compile=True)\n"
        f"x = np.load({str(path.with_suffix('.npy'))!r})\n"
        "np.save(sys.argv[1], model.predict(x, verbose=0))\n"
    )
    out = path.with_name("out.npy")
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, capture_output=True)
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)


def test_run_folder_means_its_model(saved_resnet20):
    path, _ = saved_resnet20
    assert resolve_model_path(path.parent) == path


def test_missing_and_broken_files_fail_in_one_line(tmp_path, saved_resnet20):
    with pytest.raises(DataNotFoundError, match="not found"):
        load_model(tmp_path / "nope.keras")
    with pytest.raises(DataNotFoundError, match="no model.keras"):
        load_model(tmp_path)
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(saved_resnet20[0].read_bytes()[:4000])
    with pytest.raises(UsageError, match="not a .keras zip archive") as err:
        load_model(truncated)
    assert "\n" not in str(err.value)
    other = tmp_path / "model.h5"
    other.write_bytes(b"x")
    with pytest.raises(UsageError, match="ending in .keras"):
        load_model(other)


def test_unfinished_run_folder_says_how_to_resume_or_export(tmp_path, saved_resnet20):
    run = tmp_path / "run"
    run.mkdir()
    command = "kerascnn train lenet5 --dataset digits --epochs 9"
    (run / "config.json").write_text(json.dumps({"task": "classification", "command": command}))
    with pytest.raises(DataNotFoundError, match="saved no model yet") as err:
        resolve_model_path(run)  # killed during the first epoch
    assert f"`{command} --resume --run-dir {run}`" in str(err.value)

    # Killed after epoch 3 of 9; val_accuracy peaked at epoch 2, so best.keras holds epoch 2.
    (run / "history.csv").write_text(
        "epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.0,0.6,1.0\n1,0.7,0.8,0.9,0.5\n2,0.8,0.6,0.85,0.6\n"
    )
    shutil.copyfile(saved_resnet20[0], run / "best.keras")
    with pytest.raises(DataNotFoundError) as err:
        load_model(run)
    message = str(err.value)
    assert "\n" not in message
    assert f"{run} is an unfinished training run (best.keras from epoch 2, no model.keras)" in message
    assert f"resume it with `{command} --resume --run-dir {run}`" in message
    assert message.endswith(f"or export {run / 'best.keras'}.")
    assert resolve_model_path(run / "best.keras") == run / "best.keras"
