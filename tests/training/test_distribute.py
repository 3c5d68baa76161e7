"""tf.distribute: MirroredStrategy over 2 logical CPU devices with model.fit, and two
MultiWorkerMirroredStrategy workers on 127.0.0.1 running the custom training loop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kerascnn.training import distribute
from kerascnn.core.errors import UsageError

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERASCNN_OFFLINE="1", PYTHONPATH=str(REPO_ROOT))
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_tf_config_roles(monkeypatch):
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    assert distribute.is_chief({}) and distribute.task_label({}) == "local"
    assert distribute.is_chief({"cluster": cluster, "task": {"type": "worker", "index": 0}})
    assert not distribute.is_chief({"cluster": cluster, "task": {"type": "worker", "index": 1}})
    with_chief = {"cluster": {**cluster, "chief": ["127.0.0.1:3"]}, "task": {"type": "worker", "index": 0}}
    assert not distribute.is_chief(with_chief)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(UsageError, match="TF_CONFIG is not valid JSON"):
        distribute.read_tf_config()
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(UsageError, match="'cluster' and 'task'"):
        distribute.read_tf_config()
    monkeypatch.delenv("TF_CONFIG")
    with pytest.raises(UsageError, match="needs TF_CONFIG"):
        distribute.make_strategy("multiworker")
    with pytest.raises(UsageError, match="Unknown strategy"):
        distribute.make_strategy("tpu")


def test_mirrored_on_two_cpu_devices(tmp_path):
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "kerascnn", "train", "lenet5", "--dataset", "digits", "--epochs", "1", "--seed", "0",
         "--strategy", "mirrored", "--cpu-devices", "2", "--run-dir", str(run), "--quiet"],
        env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert ", 2 replicas" in done.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "mirrored"
    assert metrics["epochs_completed"] == 1 and metrics["test_accuracy"] > 0.3
    assert (run / "model.keras").is_file()


WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from kerascnn.training.trainer import train

    result = train("lenet5", "digits", epochs=1, run_dir=sys.argv[1], seed=0, quiet=True, strategy="multiworker")
    weights = np.concatenate([np.ravel(w) for w in result.model.get_weights()])
    print("RESULT " + json.dumps({
        "loss": result.history["loss"], "val_loss": result.history["val_loss"],
        "test_accuracy": result.metrics["test_accuracy"], "replicas": result.metrics["replicas"],
        "weights": [float(np.sum(weights)), float(np.sum(np.abs(weights)))],
        "run_dir": None if result.run_dir is None else str(result.run_dir),
    }))
    """
)


def test_two_workers_on_loopback_stay_in_sync(tmp_path):
    workers = [f"127.0.0.1:{_free_port()}" for _ in range(2)]
    run = tmp_path / "run"
    processes = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, str(run)], env=_env(TF_CONFIG=tf_config),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, err[-2000:]
            line = next(x for x in out.splitlines() if x.startswith("RESULT "))
            results.append(json.loads(line[len("RESULT "):]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    chief, other = results
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["loss"] == other["loss"] and chief["val_loss"] == other["val_loss"]
    assert chief["weights"] == other["weights"]  # identical, synchronised weights on both workers
    assert chief["test_accuracy"] == other["test_accuracy"] > 0.2
    assert chief["run_dir"] == str(run) and other["run_dir"] is None  # only the chief writes
    for name in ("model.keras", "config.json", "history.csv", "metrics.json"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["replicas"] == 2 and metrics["strategy"] == "multiworker" and metrics["epochs_completed"] == 1


def test_custom_loop_trains_on_the_tasks_per_example_objective():
    """The multi-worker loop has no objective of its own: loss and metrics come from task.per_example."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kerascnn.tasks.classification import Classification
    from kerascnn.training import custom_loop

    class WithErrorRate(Classification):
        name = "with_error_rate"

        def per_example(self, labels, outputs):
            out = super().per_example(labels, outputs)
            out["error_rate"] = 1.0 - out["accuracy"]
            return out

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    task = WithErrorRate()
    history = custom_loop.fit(tf.distribute.get_strategy(), model, optimizer, data, task=task, epochs=2,
                              validation_dataset=data, verbose=False)
    assert {"loss", "accuracy", "error_rate", "val_loss", "val_accuracy", "val_error_rate", "lr"} <= set(history)
    np.testing.assert_allclose(np.add(history["accuracy"], history["error_rate"]), 1.0, rtol=1e-6)
    model.compile(loss=task.loss(), metrics=task.metrics())  # the same objective, through Keras
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert history["val_loss"][-1] == pytest.approx(scores["loss"], rel=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx(scores["accuracy"], rel=1e-6)
