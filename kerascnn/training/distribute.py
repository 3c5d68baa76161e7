"""Choosing a ``tf.distribute`` strategy for training.

Three ways to train, one flag (``--strategy``):

* ``default``: one device (the first GPU, else the CPU); ``model.fit`` as usual.
* ``mirrored``: :class:`tf.distribute.MirroredStrategy`, synchronous data
  parallelism over every local device (several GPUs, or with ``cpu_devices=N``
  the CPU split into N logical devices so the mechanics can be studied on a
  laptop). Each step the global batch is split across the replicas and their
  gradients are all-reduced. Works with ``model.fit``.
* ``multiworker``: :class:`tf.distribute.MultiWorkerMirroredStrategy` over
  several machines described by the ``TF_CONFIG`` environment variable. With
  Keras 3.15 / TF 2.21 it does not work with ``model.fit``
  (keras-team/keras#20585), so :mod:`kerascnn.training.custom_loop` drives it
  with a tf.distribute custom training loop.

``TF_CONFIG`` for worker ``i`` of two (run the same command on each machine)::

    {"cluster": {"worker": ["host0:12345", "host1:12345"]},
     "task": {"type": "worker", "index": i}}

Worker 0 is the chief: only it writes the run directory.
"""

from __future__ import annotations

import json
import os

from kerascnn.core.errors import UsageError

STRATEGIES = ("default", "mirrored", "multiworker")


def configure_cpu_devices(count: int) -> None:
    """Split the physical CPU into ``count`` logical devices.

    Must run before anything initialises TensorFlow's devices (building a
    model, creating a tensor); ``kerascnn train`` calls it first thing.
    """
    import tensorflow as tf

    if count < 1:
        raise UsageError(f"`cpu_devices` must be a positive integer. Received: cpu_devices={count!r}")
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError:
        # Devices are already initialised: fine if they already match.
        current = len(tf.config.list_logical_devices("CPU"))
        if current != count:
            raise UsageError(
                f"Cannot split the CPU into {count} devices: TensorFlow already initialised "
                f"{current} CPU device(s) in this process. Set cpu_devices before building any model "
                "(from the command line this always works)."
            ) from None


def read_tf_config() -> dict:
    """The parsed ``TF_CONFIG`` cluster description (``{}`` when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return {}
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"TF_CONFIG is not valid JSON ({err.msg}). Received: TF_CONFIG={text!r}") from None
    if not isinstance(config, dict) or "cluster" not in config or "task" not in config:
        raise UsageError(
            "TF_CONFIG must hold 'cluster' and 'task', e.g. "
            '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}. '
            f"Received: TF_CONFIG={text!r}"
        )
    return config


def is_chief(tf_config: dict | None = None) -> bool:
    """Whether this process writes the run directory (worker 0, or a 'chief' task)."""
    config = read_tf_config() if tf_config is None else tf_config
    if not config:
        return True
    task = config.get("task", {})
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    if kind == "chief":
        return True
    has_chief = bool(config.get("cluster", {}).get("chief"))
    return kind == "worker" and index == 0 and not has_chief


def task_label(tf_config: dict | None = None) -> str:
    """``worker-1`` style name of this process in the cluster (``local`` without TF_CONFIG)."""
    config = read_tf_config() if tf_config is None else tf_config
    if not config:
        return "local"
    task = config["task"]
    return f"{task.get('type', 'worker')}-{int(task.get('index', 0))}"


def make_strategy(name: str = "default", cpu_devices: int | None = None):
    """Return the ``tf.distribute.Strategy`` called ``name`` (see the module docstring).

    Args:
        name: ``"default"``, ``"mirrored"`` or ``"multiworker"``.
        cpu_devices: split the CPU into this many logical devices first (useful
            with ``"mirrored"`` on a machine without GPUs).
    """
    if name not in STRATEGIES:
        raise UsageError(f"Unknown strategy {name!r}. Valid strategies: {', '.join(STRATEGIES)}.")
    if cpu_devices:
        configure_cpu_devices(cpu_devices)
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus and not cpu_devices:
            return tf.distribute.MirroredStrategy()
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        # Several CPU replicas have no NCCL: reduce on the host.
        return tf.distribute.MirroredStrategy(
            devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice()
        )
    config = read_tf_config()
    if not config:
        raise UsageError(
            "--strategy multiworker needs TF_CONFIG describing the cluster, e.g. "
            '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}.'
        )
    communication = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING
    )
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication)


def num_replicas(strategy) -> int:
    """Replicas that share each global batch (1 for the default strategy)."""
    return int(strategy.num_replicas_in_sync)


__all__ = [
    "STRATEGIES",
    "configure_cpu_devices",
    "read_tf_config",
    "is_chief",
    "task_label",
    "make_strategy",
    "num_replicas",
]
