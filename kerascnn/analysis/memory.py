"""Training memory, planned before training: does this model and batch fit?

    >>> from kerascnn.analysis import memory
    >>> plan = memory.plan(models.build("r3d_18"), batch_size=8, optimizer="adam")
    >>> plan.total_bytes, plan.largest_batch(memory.available_bytes())

``model.summary()`` counts parameters and the lecture table (:mod:`kerascnn.analysis.summary`)
counts each forward tensor once. Training needs more: the backward pass keeps, for
every layer, the tensors its gradient is computed from, and a tensor the forward
pass could overwrite in place must survive until then. Measured on a GPU, the naive
forward count under-estimates training memory by 1.8-1.9x for ResNet-50 and VGG-16
(DESIGN.md); a conv -> BatchNorm -> ReLU triple keeps two full tensors, not one.

What each layer kind keeps for its gradient (values per example; a tensor kept by
two layers is counted once):

=====================================  =============================================
conv, dense (any rank)                 its input (for the kernel gradient); its output
                                       too when it applies a non-linear activation
BatchNormalization                     its input (the conv output)
ReLU, sigmoid, tanh, softmax, ELU      its output
leaky ReLU, GELU, swish                its input (swish: input and output)
max pooling (also global)              its input and output
Dropout                                a mask the size of its output
Multiply                               its inputs
average pooling, Add, Concatenate,     nothing (linear in the input; Flatten and Reshape
Flatten, Reshape, padding, rescaling   are the same buffer as their input)
=====================================  =============================================

plus the input batch, and while the backward pass runs two gradient buffers the
size of the largest tensor (the incoming and the outgoing gradient). Parameters
cost weights + gradients + optimizer slots (``SLOTS``) at 4 bytes each.
:func:`measure_step` checks the estimate against the peak RSS growth of a real
training step on the CPU (see the README's memory section for the error).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from kerascnn.core.errors import UsageError

BYTES_PER_VALUE = 4
#: Optimizer state per trainable parameter (``--optimizer`` names).
SLOTS = {"sgd": 0, "momentum": 1, "nesterov": 1, "adagrad": 1, "rmsprop": 1, "adam": 2, "amsgrad": 3, "adamw": 2}
#: Activations whose gradient is computed from their output / from their input.
FROM_OUTPUT = ("relu", "relu6", "sigmoid", "tanh", "softmax", "elu", "selu", "hard_sigmoid", "exponential")
FROM_INPUT = ("leaky_relu", "gelu", "softplus", "softsign", "mish", "log_softmax")
FROM_BOTH = ("swish", "silu", "hard_swish", "hard_silu")


@dataclass(frozen=True)
class LayerMemory:
    """What one layer call keeps for the backward pass (values per example)."""

    name: str
    type: str
    kept: int  #: values this layer adds to the kept set (tensors already kept by others not repeated)
    why: str  #: which tensors, in words ("input", "input + output", "mask")


@dataclass(frozen=True)
class MemoryPlan:
    """Training memory of one model at one batch size (bytes unless said otherwise)."""

    name: str
    batch_size: int
    optimizer: str
    params: int
    trainable_params: int
    forward_values: int  #: the lecture table's count: each forward tensor once, per example
    kept_values: int  #: values per example the backward pass keeps (input batch included)
    gradient_buffer_values: int  #: two buffers of the largest tensor, per example
    layers: tuple[LayerMemory, ...] = field(default=(), repr=False)
    bytes_per_value: int = BYTES_PER_VALUE

    @property
    def parameter_bytes(self) -> int:
        """Weights (all) + gradients and optimizer slots (trainable)."""
        slots = SLOTS[self.optimizer]
        return (self.params + self.trainable_params * (1 + slots)) * BYTES_PER_VALUE

    @property
    def bytes_per_example(self) -> int:
        return (self.kept_values + self.gradient_buffer_values) * self.bytes_per_value

    @property
    def activation_bytes(self) -> int:
        return self.bytes_per_example * self.batch_size

    @property
    def step_bytes(self) -> int:
        """What one training step allocates on top of the weights and optimizer slots: activations + gradients."""
        return self.activation_bytes + self.trainable_params * BYTES_PER_VALUE

    @property
    def total_bytes(self) -> int:
        return self.parameter_bytes + self.activation_bytes

    @property
    def naive_bytes(self) -> int:
        """The forward-table estimate: activations once + weights, gradients, slots."""
        return self.forward_values * self.bytes_per_value * self.batch_size + self.parameter_bytes

    def largest_batch(self, budget_bytes: int) -> int:
        """The largest batch whose estimate fits ``budget_bytes`` (0: not even one example)."""
        room = budget_bytes - self.parameter_bytes
        return max(0, room // self.bytes_per_example) if self.bytes_per_example else 0

    def fits(self, budget_bytes: int) -> bool:
        return self.total_bytes <= budget_bytes

    def to_dict(self) -> dict:
        return {
            "name": self.name, "batch_size": self.batch_size, "optimizer": self.optimizer,
            "params": self.params, "trainable_params": self.trainable_params,
            "bytes_per_value": self.bytes_per_value,
            "forward_values_per_example": self.forward_values,
            "kept_values_per_example": self.kept_values,
            "gradient_buffer_values_per_example": self.gradient_buffer_values,
            "bytes_per_example": self.bytes_per_example,
            "parameter_bytes": self.parameter_bytes,
            "activation_bytes": self.activation_bytes,
            "step_bytes": self.step_bytes,
            "total_bytes": self.total_bytes,
            "naive_bytes": self.naive_bytes,
        }


def plan(model, batch_size: int = 1, *, optimizer: str = "adam", bytes_per_value: int = BYTES_PER_VALUE) -> MemoryPlan:
    """The :class:`MemoryPlan` of training ``model`` (functional, nested models expanded) at ``batch_size``.

    Args:
        bytes_per_value: 4 for float32 activations; 2 for a mixed-precision policy
            (float16/bfloat16 activations; weights, gradients and slots stay float32).
    """
    from kerascnn.analysis.summary import summarize

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise UsageError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if optimizer not in SLOTS:
        from kerascnn.core.errors import unknown_name_message

        raise UsageError(unknown_name_message("optimizer", optimizer, list(SLOTS)))
    table = summarize(model)  # also: a clear error for subclassed models and unknown shapes
    walker = _KeptTensors()
    walker.walk(model, aliases={})
    return MemoryPlan(
        name=model.name, batch_size=batch_size, optimizer=optimizer, params=table.params,
        trainable_params=table.trainable_params, forward_values=table.activations,
        kept_values=sum(walker.kept.values()), gradient_buffer_values=2 * walker.largest,
        layers=tuple(walker.rows), bytes_per_value=bytes_per_value,
    )


class _KeptTensors:
    """Walks the functional graph; collects the tensors the backward pass keeps, each once."""

    def __init__(self):
        self.kept: dict[int, int] = {}  # tensor id -> values per example
        self.rows: list[LayerMemory] = []
        self.largest = 0

    def walk(self, model, aliases: dict[int, int]) -> None:
        import keras

        from keras import layers

        from kerascnn.analysis.summary import _calls, _graph_of, _is_nested_model

        graph = _graph_of(model)
        for layer, node in _calls(graph):
            inputs = [self._id(t, aliases) for t in node.input_tensors]
            if _is_nested_model(layer):
                inner = _graph_of(layer)
                nested = dict(aliases)
                nested.update({id(t): outer for t, outer in zip(inner.inputs, inputs)})
                self.walk(layer, nested)
                for inner_out, outer_out in zip(inner.outputs, node.outputs):
                    aliases[id(outer_out)] = self._id(inner_out, nested)
                continue
            if isinstance(layer, keras.layers.InputLayer):
                if id(node.outputs[0]) in aliases:
                    continue
                self._keep(layer.name, "InputLayer", [(self._id(node.outputs[0], aliases), node.outputs[0])], "the batch")
                continue
            if isinstance(layer, (layers.Flatten, layers.Reshape, layers.Identity)):  # the same buffer, reshaped
                aliases[id(node.outputs[0])] = inputs[0]
                continue
            for tensor in node.outputs:
                self.largest = max(self.largest, _values(tensor))
            which, why = _kept_by(layer)
            chosen = []
            if "input" in which:
                chosen += [(self._id(t, aliases), t) for t in node.input_tensors]
            if "output" in which:
                chosen += [(self._id(t, aliases), t) for t in node.outputs]
            self._keep(layer.name, type(layer).__name__, chosen, why)

    @staticmethod
    def _id(tensor, aliases: dict[int, int]) -> int:
        key = id(tensor)
        while key in aliases and aliases[key] != key:
            key = aliases[key]
        return key

    def _keep(self, name: str, kind: str, tensors, why: str) -> None:
        added = 0
        for key, tensor in tensors:
            if key not in self.kept:
                self.kept[key] = _values(tensor)
                added += self.kept[key]
        self.rows.append(LayerMemory(name, kind, added, why if tensors else "nothing"))


def _values(tensor) -> int:
    shape = tuple(tensor.shape[1:])
    return math.prod(int(d) for d in shape) if all(d is not None for d in shape) else 0


def _activation_name(layer) -> str | None:
    """The activation a layer applies (``"relu"``), ``None`` for linear or none."""
    from keras import layers

    if isinstance(layer, layers.ReLU):
        return "relu"
    if isinstance(layer, layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, layers.Softmax):
        return "softmax"
    if isinstance(layer, layers.ELU):
        return "elu"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = getattr(activation, "__name__", str(activation))
    return None if name == "linear" else name


def _kept_by(layer) -> tuple[set[str], str]:
    """``({"input", "output"} subset, words)``: the tensors ``layer`` keeps for its gradient."""
    from keras import layers

    from kerascnn.analysis.summary import _kinds

    kinds = _kinds()
    activation = _activation_name(layer)
    if isinstance(layer, kinds.weighted) or getattr(layer, "kernel", None) is not None:
        if activation is None:
            return {"input"}, "input"
        return {"input", "output"}, f"input + {activation} output"
    if isinstance(layer, layers.BatchNormalization):
        return {"input"}, "input"
    if isinstance(layer, (layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D,
                          layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D, layers.GlobalMaxPooling3D)):
        return {"input", "output"}, "input + output"
    if isinstance(layer, layers.Dropout):
        return {"output"}, "mask"
    if isinstance(layer, layers.Multiply):
        return {"input"}, "inputs"
    if activation is not None and isinstance(layer, (layers.Activation, layers.ReLU, layers.LeakyReLU,
                                                     layers.Softmax, layers.ELU)):
        if activation in FROM_INPUT:
            return {"input"}, "input"
        if activation in FROM_BOTH:
            return {"input", "output"}, "input + output"
        return {"output"}, "output"
    return set(), "nothing"


# --------------------------------------------------------------------------- the machine

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str) -> int:
    """``"8GiB"``, ``"512MB"``, ``"1e9"`` -> bytes (GB = 10^9, GiB = 2^30)."""
    import re

    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS or float(match.group(1)) <= 0:
        raise UsageError(f"Expected a memory size like 8GiB, 512MB or 2e9 bytes. Received: {text!r}")
    return int(float(match.group(1)) * _UNITS[unit])



def available_bytes(meminfo: str | os.PathLike = "/proc/meminfo") -> int | None:
    """Memory a new training process may use: ``MemAvailable``, capped by a cgroup limit (``None``: unknown)."""
    found = None
    try:
        for line in Path(meminfo).read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        found = None
    limit = _cgroup_room()
    if limit is not None:
        found = limit if found is None else min(found, limit)
    return found


@dataclass(frozen=True)
class Budget:
    """The memory a training run must fit in, and where the number came from (for messages)."""

    bytes: int | None  #: ``None``: unknown (no ``/proc/meminfo``)
    where: str  #: "the --memory-budget", "this machine's available memory"


def budget(memory_budget: str | None = None) -> Budget:
    """``--memory-budget SIZE`` when given, else this machine's available memory."""
    if memory_budget is not None:
        return Budget(parse_bytes(memory_budget), "the --memory-budget")
    return Budget(available_bytes(), "this machine's available memory")


def check_fits(name: str, estimate: MemoryPlan, limit: Budget, *, batch_flag: str = "batch") -> int | None:
    """The largest batch that fits ``limit`` (``None`` when it is unknown); ``UsageError`` when
    ``estimate`` does not fit, in one line naming the largest batch that does."""
    from kerascnn.analysis.summary import format_bytes

    if limit.bytes is None:
        return None
    largest = estimate.largest_batch(limit.bytes)
    if not estimate.fits(limit.bytes):
        advice = (f"the largest batch that fits is {largest}" if largest
                  else "not even one example fits: use a smaller input or model")
        raise UsageError(f"{name} at {batch_flag} {estimate.batch_size} needs about "
                         f"{format_bytes(estimate.total_bytes)} to train, more than {limit.where} "
                         f"({format_bytes(limit.bytes)}); {advice}.")
    return largest


def _cgroup_room() -> int | None:
    """Bytes left under a cgroup v2 memory limit, if one is set."""
    base = Path("/sys/fs/cgroup")
    try:
        limit = (base / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((base / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- measuring


def measure_step(model, batch_size: int, *, optimizer: str = "adam", steps: int = 2) -> int:
    """Peak RSS growth in bytes of ``steps`` training steps of ``model`` at ``batch_size`` (Linux, CPU).

    The model is compiled with sparse cross-entropy; the peak resident set (``VmHWM``)
    is reset after a first, traced step at batch 1 and read after ``steps`` steps at
    ``batch_size``, so it measures what the batch adds, not TensorFlow's tracing.
    """
    import keras
    import numpy as np

    from kerascnn.training.config import TrainConfig
    from kerascnn.training.optimizers import make_optimizer

    config = TrainConfig(optimizer=optimizer)
    model.compile(optimizer=make_optimizer(config, 1e-3), loss="sparse_categorical_crossentropy")
    shape = tuple(model.input_shape[1:])
    classes = int(model.output_shape[-1])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch_size, *shape)).astype("float32")
    y = rng.integers(0, classes, batch_size)
    model.train_on_batch(x[:1], y[:1])  # trace, build the optimizer slots
    before = _rss_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    for _ in range(steps):
        model.train_on_batch(x, y)
    del keras
    return _rss_bytes("VmHWM") - before


def _rss_bytes(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) * 1024
    raise UsageError(f"/proc/self/status has no {field_name}: memory measurement needs Linux.")


__all__ = ["SLOTS", "Budget", "LayerMemory", "MemoryPlan", "plan", "available_bytes", "budget", "check_fits",
           "parse_bytes", "measure_step"]
