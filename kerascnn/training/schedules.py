"""Learning-rate schedules from the lectures, chosen by a short text spec.

A spec is ``NAME`` or ``NAME:KEY=VALUE,KEY=VALUE``::

    step:every=10,factor=0.1      x0.1 every 10 epochs
    cosine:warmup=2               2 epochs of linear warm-up, then cosine decay to 0
    cyclical:mode=triangular2,step_size=4

Every duration is given in **epochs** (fractions allowed) and converted to
optimizer steps with ``steps_per_epoch``; every floor (``min``) is a fraction of
the initial learning rate (``--lr``). Decaying schedules default to ending the
run at a fixed fraction of the initial LR whatever the run length, so the same
spec works for a 5-epoch demo and a 90-epoch run.

Schedules (``T`` = total steps; defaults in brackets):

- ``constant``: ``lr`` for the whole run.
- ``step``: ``lr * factor ** floor(epoch / every)`` [every = ceil(epochs / 3), factor = 0.1:
  two drops of x0.1, as in He et al. 2016].
- ``exponential``: ``lr * rate ** epoch``, smooth [rate = 0.01 ** (1 / epochs): ends at 1 %].
- ``inverse-time``: ``lr / (1 + decay * epoch)``, the classic 1/t decay [decay = 9 / epochs:
  ends at 10 %].
- ``cosine``: linear warm-up from 0 to ``lr`` over ``warmup`` epochs, then a half cosine down
  to ``min * lr`` at ``T`` [warmup = 0, min = 0].
- ``cyclical``: a triangle between ``min * lr`` and ``lr`` with half-period ``step_size``
  epochs (Smith 2017) [mode = triangular | triangular2 | exp_range, step_size = 2 (Smith's
  lower bound; half the run if shorter), min = 0.25 (Smith: max_lr / 3 to / 4),
  gamma = 0.1 ** (1 / epochs) per epoch for exp_range].
- ``plateau``: ``lr * factor`` when ``monitor`` has not improved for ``patience`` epochs
  [factor = 0.1, patience = 3, cooldown = 0, min = 0.001, monitor = val_loss].

Shortcuts: ``triangular``, ``triangular2``, ``exp_range`` (= ``cyclical:mode=...``),
``reduce-on-plateau`` (= ``plateau``), ``inverse_time``.

Where Keras has the schedule it is used (``ExponentialDecay`` with
``staircase=True`` for step, ``ExponentialDecay``, ``InverseTimeDecay``,
``CosineDecay`` with ``warmup_target``); the cyclical policy is
:class:`CyclicalLearningRate`. Reduce-on-plateau needs the validation loss, so it
is ``keras.callbacks.ReduceLROnPlateau`` (see :func:`is_callback` and
:func:`plateau_callback`) on top of a constant optimizer LR. All of them are
serialisable: a compiled model saved to ``.keras`` loads back with its schedule.

    >>> lr = build("cosine:warmup=1", initial_lr=0.1, steps_per_epoch=100, epochs=10)
    >>> optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)

References:
    - Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    - Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
    - Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017 (warm-up).
    - He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (step / plateau x0.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.models import unknown_name_message

SPEC_SYNTAX = "NAME or NAME:KEY=VALUE,KEY=VALUE (e.g. step:every=10,factor=0.1)"

CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")


# --------------------------------------------------------------------------- cyclical


@keras.saving.register_keras_serializable(package="kerascnn")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Cyclical learning rate (Smith 2017): a triangle between two bounds.

    With ``cycle = floor(1 + step / (2 * step_size))`` and
    ``x = |step / step_size - 2 * cycle + 1|``::

        lr = initial + (maximal - initial) * max(0, 1 - x) * scale

    where ``scale`` is 1 (``"triangular"``), ``1 / 2 ** (cycle - 1)``
    (``"triangular2"``: the amplitude halves every cycle) or ``gamma ** step``
    (``"exp_range"``). The LR starts at ``initial_learning_rate``, peaks at
    ``maximal_learning_rate`` after ``step_size`` steps and is back at the
    bottom after ``2 * step_size``.

    Args:
        initial_learning_rate: lower bound (Smith's ``base_lr``).
        maximal_learning_rate: upper bound (``max_lr``), e.g. from an LR range test.
        step_size: steps in half a cycle (Smith: 2-10 epochs' worth).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: per-step decay of the amplitude in ``"exp_range"`` mode.
        name: name scope of the ops.

    Reference:
        Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        mode="triangular",
        gamma=1.0,
        name="CyclicalLearningRate",
    ):
        super().__init__()
        if mode not in CYCLICAL_MODES:
            raise ValueError(f"`mode` must be one of {', '.join(CYCLICAL_MODES)}. Received: mode={mode!r}")
        if step_size <= 0:
            raise ValueError(f"`step_size` must be > 0. Received: step_size={step_size}")
        if not 0 <= initial_learning_rate <= maximal_learning_rate:
            raise ValueError(
                "Expected 0 <= initial_learning_rate <= maximal_learning_rate. "
                f"Received: initial_learning_rate={initial_learning_rate}, "
                f"maximal_learning_rate={maximal_learning_rate}"
            )
        if not 0 < gamma <= 1:
            raise ValueError(f"`gamma` must be in (0, 1]. Received: gamma={gamma}")
        self.initial_learning_rate = initial_learning_rate
        self.maximal_learning_rate = maximal_learning_rate
        self.step_size = step_size
        self.mode = mode
        self.gamma = gamma
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            low = keras.ops.convert_to_tensor(self.initial_learning_rate, dtype="float32")
            high = keras.ops.cast(self.maximal_learning_rate, low.dtype)
            step = keras.ops.cast(step, low.dtype)
            step_size = keras.ops.cast(self.step_size, low.dtype)
            cycle = keras.ops.floor(1.0 + step / (2.0 * step_size))
            x = keras.ops.abs(step / step_size - 2.0 * cycle + 1.0)
            if self.mode == "triangular":
                scale = keras.ops.ones_like(step)
            elif self.mode == "triangular2":
                scale = 1.0 / keras.ops.power(2.0, cycle - 1.0)
            else:
                scale = keras.ops.power(keras.ops.cast(self.gamma, low.dtype), step)
            return low + (high - low) * keras.ops.maximum(0.0, 1.0 - x) * scale

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }


# --------------------------------------------------------------------------- spec table


@dataclass(frozen=True)
class Param:
    """One ``KEY=VALUE`` of a schedule spec.

    ``default`` is a value or a function of the run length in epochs;
    ``check`` returns True for valid values and ``requirement`` says what they are.
    """

    kind: type | tuple[str, ...]  # int, float or a tuple of allowed words
    default: object
    check: Callable[[object], bool]
    requirement: str
    help: str

    def default_for(self, epochs: int):
        return self.default(epochs) if callable(self.default) else self.default


@dataclass(frozen=True)
class ScheduleSpec:
    """What :func:`build` knows about one schedule name."""

    name: str
    summary: str
    params: dict[str, Param] = field(default_factory=dict)
    callback: bool = False


def _positive(v):
    return v > 0


def _fraction(v):  # (0, 1]
    return 0 < v <= 1


def _non_negative(v):
    return v >= 0


def _floor_fraction(v):  # [0, 1)
    return 0 <= v < 1


_MIN_FLOOR = Param(float, 0.0, _floor_fraction, "a number in [0, 1)", "floor as a fraction of --lr")

_SCHEDULES: dict[str, ScheduleSpec] = {
    spec.name: spec
    for spec in (
        ScheduleSpec("constant", "the same learning rate for the whole run"),
        ScheduleSpec(
            "step",
            "multiply the LR by `factor` every `every` epochs (staircase)",
            {
                "every": Param(float, lambda epochs: float(math.ceil(epochs / 3)), _positive,
                               "a positive number of epochs", "epochs between drops (default: a third of the run)"),
                "factor": Param(float, 0.1, _fraction, "a number in (0, 1]", "multiplier at each drop"),
            },
        ),
        ScheduleSpec(
            "exponential",
            "multiply the LR by `rate` per epoch, smoothly",
            {
                "rate": Param(float, lambda epochs: 0.01 ** (1 / epochs), _fraction, "a number in (0, 1]",
                              "decay per epoch (default: reach 1% of --lr at the end)"),
            },
        ),
        ScheduleSpec(
            "inverse-time",
            "lr / (1 + decay * epoch): the classic 1/t decay",
            {
                "decay": Param(float, lambda epochs: 9 / epochs, _non_negative, "a number >= 0",
                               "decay per epoch (default: reach 10% of --lr at the end)"),
            },
        ),
        ScheduleSpec(
            "cosine",
            "linear warm-up from 0 to the LR, then a half cosine down to `min` * LR",
            {
                "warmup": Param(float, 0.0, _non_negative, "a number of epochs >= 0", "warm-up epochs"),
                "min": _MIN_FLOOR,
            },
        ),
        ScheduleSpec(
            "cyclical",
            "triangle between `min` * LR and LR, half-period `step_size` epochs (Smith 2017)",
            {
                "mode": Param(CYCLICAL_MODES, "triangular", lambda v: True, " | ".join(CYCLICAL_MODES),
                              "triangular: fixed amplitude; triangular2: halves every cycle; "
                              "exp_range: amplitude x gamma per epoch"),
                "step_size": Param(float, lambda epochs: 2.0 if epochs >= 4 else epochs / 2, _positive,
                                   "a positive number of epochs",
                                   "half a cycle in epochs (default 2, Smith's lower bound; half the run if shorter)"),
                "min": Param(float, 0.25, _fraction, "a number in (0, 1]",
                             "lower bound as a fraction of --lr (Smith: 1/3 to 1/4)"),
                "gamma": Param(float, lambda epochs: 0.1 ** (1 / epochs), _fraction, "a number in (0, 1]",
                               "exp_range amplitude decay per epoch (default: 10% at the end)"),
            },
        ),
        ScheduleSpec(
            "plateau",
            "multiply the LR by `factor` when `monitor` has not improved for `patience` epochs (a callback)",
            {
                "factor": Param(float, 0.1, lambda v: 0 < v < 1, "a number in (0, 1)", "multiplier at each drop"),
                "patience": Param(int, 3, _non_negative, "an integer >= 0", "epochs without improvement"),
                "cooldown": Param(int, 0, _non_negative, "an integer >= 0", "epochs to wait after a drop"),
                "min": Param(float, 0.001, _floor_fraction, "a number in [0, 1)",
                             "lowest LR as a fraction of --lr"),
                "monitor": Param(("val_loss", "val_accuracy", "loss", "accuracy"), "val_loss", lambda v: True,
                                 "val_loss | val_accuracy | loss | accuracy", "the logged quantity to watch"),
            },
            callback=True,
        ),
    )
}

# Shortcut name -> (schedule, fixed parameters).
_ALIASES: dict[str, tuple[str, dict]] = {
    "triangular": ("cyclical", {"mode": "triangular"}),
    "triangular2": ("cyclical", {"mode": "triangular2"}),
    "exp_range": ("cyclical", {"mode": "exp_range"}),
    "reduce-on-plateau": ("plateau", {}),
    "inverse_time": ("inverse-time", {}),
}


def names() -> list[str]:
    """Every schedule name, simplest first."""
    return list(_SCHEDULES)


def get_spec(name: str) -> ScheduleSpec:
    """The :class:`ScheduleSpec` of a schedule name or shortcut."""
    name = _ALIASES.get(name, (name, {}))[0]
    if name not in _SCHEDULES:
        raise UsageError(unknown_name_message("schedule", name, names() + list(_ALIASES)))
    return _SCHEDULES[name]


def is_callback(name: str) -> bool:
    """True for schedules applied by a callback (``plateau``) rather than by the optimizer.

    Accepts a name or a full spec (``"plateau:patience=5"``).
    """
    return get_spec(parse(name)[0]).callback


# --------------------------------------------------------------------------- parsing


def _convert(schedule: str, key: str, param: Param, value):
    """Check/convert one parameter value (text from a spec or a Python value)."""

    def fail():
        raise UsageError(
            f"Schedule {schedule!r} parameter {key!r} must be {param.requirement}. Received: {key}={value!r}."
        )

    if isinstance(param.kind, tuple):
        if value not in param.kind:
            fail()
        return value
    if isinstance(value, bool):
        fail()
    try:
        number = float(value) if isinstance(value, str) else value
        converted = param.kind(number)
    except (TypeError, ValueError):
        fail()
    if param.kind is int and converted != number:
        fail()
    if isinstance(converted, float) and not math.isfinite(converted):
        fail()
    if not param.check(converted):
        fail()
    return converted


def _check_params(name: str, params: dict) -> dict:
    spec = _SCHEDULES[name]
    checked = {}
    for key, value in params.items():
        if key not in spec.params:
            valid = ", ".join(spec.params) or "none"
            raise UsageError(f"Unknown parameter {key!r} for schedule {name!r}. Valid parameters: {valid}.")
        checked[key] = _convert(name, key, spec.params[key], value)
    return checked


def parse(text: str) -> tuple[str, dict]:
    """``"step:every=10,factor=0.1"`` -> ``("step", {"every": 10.0, "factor": 0.1})``.

    Returns the canonical schedule name and the parameters given (checked and
    converted; defaults are filled in by :func:`resolve`, which knows the run length).

    Raises:
        UsageError: unknown schedule or parameter, malformed ``KEY=VALUE``, or a
            value out of range, in one line naming the valid choices.
    """
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"Expected a schedule spec {SPEC_SYNTAX}. Received: {text!r}.")
    name, _, rest = text.strip().partition(":")
    name = name.strip().lower()
    get_spec(name)  # unknown name -> one line with the valid ones
    name, params = _ALIASES.get(name, (name, {}))
    params = dict(params)
    for item in (p.strip() for p in rest.split(",")) if rest.strip() else ():
        key, sep, value = (s.strip() for s in item.partition("="))
        if not sep or not key or not value:
            raise UsageError(f"Expected KEY=VALUE in schedule spec {text!r}. Received: {item!r}.")
        if key in params:
            raise UsageError(f"Parameter {key!r} given twice in schedule spec {text!r}.")
        params[key] = value
    return name, _check_params(name, params)


def resolve(text_or_name: str, *, epochs: int, **params) -> tuple[str, dict]:
    """The schedule name and *all* its parameters for a run of ``epochs`` epochs.

    ``params`` (Python values) override those in the spec. Use it to record the
    exact recipe (``config.json``) or to print it.
    """
    _check_positive_int("epochs", epochs)
    name, given = parse(text_or_name)
    given.update(_check_params(name, params))
    spec = _SCHEDULES[name]
    return name, {key: given.get(key, p.default_for(epochs)) for key, p in spec.params.items()}


def format_spec(name: str, params: dict) -> str:
    """Inverse of :func:`parse`: ``("step", {"every": 5.0})`` -> ``"step:every=5"``."""
    if not params:
        return name
    return f"{name}:" + ",".join(f"{key}={_format_value(value)}" for key, value in params.items())


def _format_value(value) -> str:
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)  # exact round trip through parse
    return str(value)


def describe() -> str:
    """A plain-text table of every schedule, its parameters, defaults and ranges (for ``--help``/``list``)."""
    lines = [f"Schedule spec: {SPEC_SYNTAX}. Durations in epochs; `min` is a fraction of --lr."]
    for spec in _SCHEDULES.values():
        lines.append(f"{spec.name:<13}{spec.summary}")
        for key, p in spec.params.items():
            default = "" if callable(p.default) else f"; default {p.default}"  # else said in help
            lines.append(f"{'':<15}{key}: {p.help} [{p.requirement}{default}]")
    shortcuts = ", ".join(f"{a} = {format_spec(*target)}" for a, target in _ALIASES.items())
    lines.append(f"Shortcuts: {shortcuts}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- building


def _check_positive_int(what: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise UsageError(f"`{what}` must be a positive integer. Received: {what}={value!r}.")


def _steps(epochs: float, steps_per_epoch: int) -> int:
    """Epochs -> optimizer steps (at least 1)."""
    return max(1, round(epochs * steps_per_epoch))


def build(text_or_name: str, *, initial_lr: float, steps_per_epoch: int, epochs: int, **params):
    """The learning rate to give the optimizer: a float or a ``LearningRateSchedule``.

    Args:
        text_or_name: a schedule name or spec, see the module docstring.
        initial_lr: the peak learning rate (``--lr``).
        steps_per_epoch: optimizer steps per epoch (batches per epoch).
        epochs: length of the run; the default decay is fitted to it.
        **params: parameters overriding those in the spec.

    Returns:
        ``initial_lr`` for ``constant`` and ``plateau`` (add :func:`plateau_callback`
        to the callbacks for the latter), otherwise a serialisable
        ``keras.optimizers.schedules.LearningRateSchedule``.

    Raises:
        UsageError: bad name, parameter or run length.
    """
    if isinstance(initial_lr, bool) or not isinstance(initial_lr, (int, float)) or not 0 < initial_lr < math.inf:
        raise UsageError(f"`initial_lr` must be a positive number. Received: initial_lr={initial_lr!r}.")
    _check_positive_int("steps_per_epoch", steps_per_epoch)
    name, p = resolve(text_or_name, epochs=epochs, **params)
    lr = float(initial_lr)
    spe = int(steps_per_epoch)
    schedules = keras.optimizers.schedules
    if name in ("constant", "plateau"):
        return lr
    if name == "step":
        return schedules.ExponentialDecay(lr, _steps(p["every"], spe), p["factor"], staircase=True)
    if name == "exponential":
        return schedules.ExponentialDecay(lr, spe, p["rate"])
    if name == "inverse-time":
        return schedules.InverseTimeDecay(lr, spe, p["decay"])
    if name == "cosine":
        total = epochs * spe
        warmup = round(p["warmup"] * spe)
        if warmup >= total:
            raise UsageError(
                f"Schedule 'cosine' warm-up must be shorter than the run ({epochs} epochs). "
                f"Received: warmup={p['warmup']:g}."
            )
        if warmup == 0:
            return schedules.CosineDecay(lr, total, alpha=p["min"])
        return schedules.CosineDecay(0.0, total - warmup, alpha=p["min"], warmup_target=lr, warmup_steps=warmup)
    if name == "cyclical":
        return CyclicalLearningRate(
            p["min"] * lr,
            lr,
            _steps(p["step_size"], spe),
            mode=p["mode"],
            gamma=p["gamma"] ** (1.0 / spe),  # per epoch -> per step
        )
    raise AssertionError(f"no builder for schedule {name!r}")  # pragma: no cover - table and builder agree


def plateau_callback(params: dict | str | None = None, *, initial_lr: float | None = None, verbose: int = 0):
    """``keras.callbacks.ReduceLROnPlateau`` for a ``plateau`` spec or its parsed parameters.

    Args:
        params: ``"plateau:patience=5"``, or the dict from :func:`parse`/:func:`resolve`.
        initial_lr: the run's initial LR; the floor is ``min * initial_lr``
            (0 when not given).
        verbose: 1 prints a line at each reduction.
    """
    if params is None or isinstance(params, str):
        name, params = parse(params or "plateau")
        if name != "plateau":
            raise UsageError(f"Expected a plateau schedule spec. Received: {name!r}.")
    _, p = resolve("plateau", epochs=1, **params)
    min_lr = p["min"] * initial_lr if initial_lr is not None else 0.0
    return keras.callbacks.ReduceLROnPlateau(
        monitor=p["monitor"],
        factor=p["factor"],
        patience=p["patience"],
        cooldown=p["cooldown"],
        min_lr=min_lr,
        verbose=verbose,
    )


def values(learning_rate, steps: int) -> np.ndarray:
    """The learning rate at optimizer steps ``0 .. steps - 1`` (float64 array).

    ``learning_rate`` is a float or a ``LearningRateSchedule`` (as from :func:`build`).
    """
    _check_positive_int("steps", steps)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return np.full(steps, float(learning_rate))
    # vectorized_map turns the schedules' ops.cond (cosine warm-up) into selects.
    step_values = keras.ops.arange(steps, dtype="float32")
    lrs = keras.ops.vectorized_map(learning_rate, step_values)
    return np.asarray(keras.ops.convert_to_numpy(lrs), dtype=np.float64).reshape(steps)


__all__ = [
    "CyclicalLearningRate",
    "names",
    "get_spec",
    "parse",
    "resolve",
    "format_spec",
    "describe",
    "build",
    "is_callback",
    "plateau_callback",
    "values",
]
