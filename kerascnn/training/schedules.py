"""Learning-rate schedules from the lectures, chosen by a short text spec.

A spec is ``NAME`` or ``NAME:KEY=VALUE,KEY=VALUE``::

    step:every=10,factor=0.1      x0.1 every 10 epochs
    cosine:warmup=2               2 epochs of linear warm-up, then cosine decay to 0
    cyclical:mode=triangular2,step_size=4

:func:`parse` turns it into a :class:`Schedule` once; everything else (the
trainer, ``kerascnn schedule``) passes that object around. Every duration is
given in **epochs** (fractions allowed) and converted to optimizer steps with
``steps_per_epoch``; every floor (``min``) is a fraction of the initial
learning rate (``--lr``). Decaying schedules default to ending the run at a
fixed fraction of the initial LR whatever the run length, so the same spec
works for a 5-epoch demo and a 90-epoch run. :func:`describe` (``kerascnn
schedule list``) prints every schedule, parameter and default from the table
below.

Where Keras has the schedule it is used (``ExponentialDecay`` with
``staircase=True`` for step, ``ExponentialDecay``, ``InverseTimeDecay``,
``CosineDecay`` with ``warmup_target``); the cyclical policy is
:class:`kerascnn.nn.schedules.CyclicalLearningRate`. Reduce-on-plateau needs the
validation loss, so it is ``keras.callbacks.ReduceLROnPlateau`` (see
:meth:`Schedule.callback`) on top of a constant optimizer LR. All of them are
serialisable: a compiled model saved to ``.keras`` loads back with its schedule.

Parsing, checking and describing import no TensorFlow (a mistyped ``--schedule``
answers at once); :meth:`Schedule.build` imports Keras.

    >>> schedule = parse("cosine:warmup=1")
    >>> lr = schedule.build(initial_lr=0.1, steps_per_epoch=100, epochs=10)
    >>> optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)

References:
    - Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017.
    - Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
    - Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour", 2017 (warm-up).
    - He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (step / plateau x0.1).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from kerascnn.core.errors import UsageError, unknown_name_message

SPEC_SYNTAX = "NAME or NAME:KEY=VALUE,KEY=VALUE (e.g. step:every=10,factor=0.1)"

#: ``cyclical`` modes (the same words as :data:`kerascnn.nn.schedules.CYCLICAL_MODES`).
CYCLICAL_MODES = ("triangular", "triangular2", "exp_range")


# --------------------------------------------------------------------------- spec table


@dataclass(frozen=True)
class Param:
    """One ``KEY=VALUE`` of a schedule spec.

    ``default`` is a value or a function of the run length in epochs (then
    ``default_text`` says which); ``check`` returns True for valid values and
    ``requirement`` says what they are.
    """

    kind: type | tuple[str, ...]  # int, float or a tuple of allowed words
    default: object
    check: Callable[[object], bool]
    requirement: str
    help: str
    default_text: str = ""

    def default_for(self, epochs: int):
        return self.default(epochs) if callable(self.default) else self.default

    def describe_default(self) -> str:
        return self.default_text if callable(self.default) else _format_value(self.default)


@dataclass(frozen=True)
class ScheduleSpec:
    """What the table knows about one schedule name."""

    name: str
    summary: str
    params: dict[str, Param] = field(default_factory=dict)
    callback: bool = False
    #: The learning rate at a given step depends on the run's length (cosine decays to its end).
    uses_run_length: bool = False


def _positive(v):
    return v > 0


def _fraction(v):  # (0, 1]
    return 0 < v <= 1


def _non_negative(v):
    return v >= 0


def _floor_fraction(v):  # [0, 1)
    return 0 <= v < 1


_SCHEDULES: dict[str, ScheduleSpec] = {
    spec.name: spec
    for spec in (
        ScheduleSpec("constant", "the same learning rate for the whole run"),
        ScheduleSpec(
            "step",
            "multiply the LR by `factor` every `every` epochs (staircase)",
            {
                "every": Param(float, lambda epochs: float(math.ceil(epochs / 3)), _positive,
                               "a positive number of epochs", "epochs between drops",
                               "ceil(epochs / 3): two drops"),
                "factor": Param(float, 0.1, _fraction, "a number in (0, 1]", "multiplier at each drop"),
            },
        ),
        ScheduleSpec(
            "exponential",
            "multiply the LR by `rate` per epoch, smoothly",
            {
                "rate": Param(float, lambda epochs: 0.01 ** (1 / epochs), _fraction, "a number in (0, 1]",
                              "decay per epoch", "0.01 ** (1 / epochs): 1% of --lr at the end"),
            },
        ),
        ScheduleSpec(
            "inverse-time",
            "lr / (1 + decay * epoch): the classic 1/t decay",
            {
                "decay": Param(float, lambda epochs: 9 / epochs, _non_negative, "a number >= 0",
                               "decay per epoch", "9 / epochs: 10% of --lr at the end"),
            },
        ),
        ScheduleSpec(
            "cosine",
            "linear warm-up from 0 to the LR, then a half cosine down to `min` * LR at the end of the run",
            {
                "warmup": Param(float, 0.0, _non_negative, "a number of epochs >= 0", "warm-up epochs"),
                "min": Param(float, 0.0, _floor_fraction, "a number in [0, 1)", "floor as a fraction of --lr"),
            },
            uses_run_length=True,
        ),
        ScheduleSpec(
            "cyclical",
            "triangle between `min` * LR and LR, half-period `step_size` epochs (Smith 2017)",
            {
                "mode": Param(CYCLICAL_MODES, "triangular", lambda v: True, " | ".join(CYCLICAL_MODES),
                              "triangular: fixed amplitude; triangular2: halves every cycle; "
                              "exp_range: amplitude x gamma per epoch"),
                "step_size": Param(float, lambda epochs: 2.0 if epochs >= 4 else epochs / 2, _positive,
                                   "a positive number of epochs", "half a cycle in epochs",
                                   "2 (Smith's lower bound), half the run if shorter"),
                "min": Param(float, 0.25, _fraction, "a number in (0, 1]",
                             "lower bound as a fraction of --lr (Smith: 1/3 to 1/4)"),
                "gamma": Param(float, lambda epochs: 0.1 ** (1 / epochs), _fraction, "a number in (0, 1]",
                               "exp_range amplitude decay per epoch", "0.1 ** (1 / epochs): 10% at the end"),
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
                                 "val_loss | val_accuracy | loss | accuracy",
                                 "the logged quantity to watch (loss without a validation split)"),
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


# --------------------------------------------------------------------------- the parsed schedule


class Schedule(NamedTuple):
    """A parsed, checked schedule spec: ``Schedule("step", {"every": 10.0})``.

    ``params`` holds the parameters given (or, after :meth:`resolve`, all of
    them). ``str(schedule)`` is the canonical spec, which :func:`parse` reads back.
    """

    name: str
    params: dict

    @property
    def spec(self) -> ScheduleSpec:
        return _SCHEDULES[self.name]

    @property
    def is_callback(self) -> bool:
        """True for schedules applied by a callback (``plateau``) rather than by the optimizer."""
        return self.spec.callback

    @property
    def uses_run_length(self) -> bool:
        """True when the LR at a step depends on the number of epochs (cosine, or a default fitted to the run)."""
        fitted = any(callable(p.default) and key not in self.params for key, p in self.spec.params.items())
        return self.spec.uses_run_length or fitted

    def resolve(self, epochs: int, **params) -> Schedule:
        """The same schedule with *all* its parameters for a run of ``epochs`` epochs.

        ``params`` (Python values) override those of the spec. Use it to record
        the exact recipe (``config.json``, ``metrics.json``) or to print it.
        """
        _check_positive_int("epochs", epochs)
        given = {**self.params, **_check_params(self.name, params)}
        return Schedule(self.name, {key: given.get(key, p.default_for(epochs)) for key, p in self.spec.params.items()})

    def check_run_length(self, epochs: int) -> None:
        """Refuse a schedule that does not fit in ``epochs`` epochs (a warm-up as long as the run)."""
        warmup = self.resolve(epochs).params.get("warmup", 0.0)
        if warmup and warmup >= epochs:
            raise UsageError(
                f"Schedule {self.name!r} warm-up must be shorter than the run ({epochs} epochs). "
                f"Received: warmup={warmup:g}."
            )

    def build(self, *, initial_lr: float, steps_per_epoch: int, epochs: int, **params):
        """The learning rate to give the optimizer: a float or a ``LearningRateSchedule``.

        Args:
            initial_lr: the peak learning rate (``--lr``).
            steps_per_epoch: optimizer steps per epoch (batches per epoch).
            epochs: length of the run; the default decay is fitted to it.
            **params: parameters overriding those in the spec.

        Returns:
            ``initial_lr`` for ``constant`` and ``plateau`` (add :meth:`callback`
            to the callbacks for the latter), otherwise a serialisable
            ``keras.optimizers.schedules.LearningRateSchedule``.

        Raises:
            UsageError: bad parameter or run length.
        """
        if isinstance(initial_lr, bool) or not isinstance(initial_lr, (int, float)) or not 0 < initial_lr < math.inf:
            raise UsageError(f"`initial_lr` must be a positive number. Received: initial_lr={initial_lr!r}.")
        _check_positive_int("steps_per_epoch", steps_per_epoch)
        p = self.resolve(epochs, **params).params
        lr, spe = float(initial_lr), int(steps_per_epoch)
        if self.name in ("constant", "plateau"):
            return lr

        import keras

        from kerascnn.nn.schedules import CyclicalLearningRate

        schedules = keras.optimizers.schedules
        if self.name == "step":
            return schedules.ExponentialDecay(lr, _steps(p["every"], spe), p["factor"], staircase=True)
        if self.name == "exponential":
            return schedules.ExponentialDecay(lr, spe, p["rate"])
        if self.name == "inverse-time":
            return schedules.InverseTimeDecay(lr, spe, p["decay"])
        if self.name == "cosine":
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
        if self.name == "cyclical":
            return CyclicalLearningRate(
                p["min"] * lr,
                lr,
                _steps(p["step_size"], spe),
                mode=p["mode"],
                gamma=p["gamma"] ** (1.0 / spe),  # per epoch -> per step
            )
        raise AssertionError(f"no builder for schedule {self.name!r}")  # pragma: no cover - table and builder agree

    def callback(self, *, initial_lr: float | None = None, has_validation: bool = True, verbose: int = 0):
        """``keras.callbacks.ReduceLROnPlateau`` for a ``plateau`` schedule.

        Args:
            initial_lr: the run's initial LR; the floor is ``min * initial_lr`` (0 when not given).
            has_validation: without a validation split the default ``monitor`` is ``loss``.
            verbose: 1 prints a line at each reduction.
        """
        if not self.is_callback:
            raise UsageError(f"Expected a plateau schedule spec. Received: {self.name!r}.")
        import keras

        defaults = {} if has_validation or "monitor" in self.params else {"monitor": "loss"}
        p = self.resolve(1, **defaults).params
        return keras.callbacks.ReduceLROnPlateau(
            monitor=p["monitor"],
            factor=p["factor"],
            patience=p["patience"],
            cooldown=p["cooldown"],
            min_lr=p["min"] * initial_lr if initial_lr is not None else 0.0,
            verbose=verbose,
        )

    def __str__(self) -> str:
        return format_spec(self.name, self.params)


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
    except (TypeError, ValueError, OverflowError):
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


def parse(text: str | Schedule) -> Schedule:
    """``"step:every=10,factor=0.1"`` -> ``Schedule("step", {"every": 10.0, "factor": 0.1})``.

    The name is canonical (shortcuts expanded) and the parameters given are
    checked and converted; defaults are filled in by :meth:`Schedule.resolve`,
    which knows the run length. A :class:`Schedule` is returned as it is.

    Raises:
        UsageError: unknown schedule or parameter, malformed ``KEY=VALUE``, or a
            value out of range, in one line naming the valid choices.
    """
    if isinstance(text, Schedule):
        return text
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
    return Schedule(name, _check_params(name, params))


def resolve(schedule: str | Schedule, *, epochs: int, **params) -> Schedule:
    """``parse(schedule).resolve(epochs, **params)``: every parameter for a run of ``epochs`` epochs."""
    return parse(schedule).resolve(epochs, **params)


def is_callback(schedule: str | Schedule) -> bool:
    """True for schedules applied by a callback (``plateau``); a name or a full spec."""
    return parse(schedule).is_callback


def build(schedule: str | Schedule, *, initial_lr: float, steps_per_epoch: int, epochs: int, **params):
    """``parse(schedule).build(...)``: a float or a ``LearningRateSchedule`` (see :meth:`Schedule.build`)."""
    return parse(schedule).build(initial_lr=initial_lr, steps_per_epoch=steps_per_epoch, epochs=epochs, **params)


def plateau_callback(params: dict | str | Schedule | None = None, *, initial_lr: float | None = None,
                     verbose: int = 0):
    """``keras.callbacks.ReduceLROnPlateau`` for a ``plateau`` spec, :class:`Schedule` or its parameters."""
    if isinstance(params, dict):
        schedule = Schedule("plateau", _check_params("plateau", params))
    else:
        schedule = parse(params or "plateau")
    return schedule.callback(initial_lr=initial_lr, verbose=verbose)


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
    """Every schedule with its parameters, defaults and ranges, from the table (``kerascnn schedule list``)."""
    lines = [f"Schedule spec: {SPEC_SYNTAX}. Durations in epochs; `min` is a fraction of --lr.", ""]
    for spec in _SCHEDULES.values():
        lines.append(f"{spec.name}: {spec.summary}")
        for key, p in spec.params.items():
            lines.append(f"  {key:<11}{p.help}; default {p.describe_default()} ({p.requirement})")
    shortcuts = ", ".join(f"{alias} = {format_spec(*target)}" for alias, target in _ALIASES.items())
    lines += ["", f"Shortcuts: {shortcuts}."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- values


def _check_positive_int(what: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise UsageError(f"`{what}` must be a positive integer. Received: {what}={value!r}.")


def _steps(epochs: float, steps_per_epoch: int) -> int:
    """Epochs -> optimizer steps (at least 1)."""
    return max(1, round(epochs * steps_per_epoch))


def values(learning_rate, steps: int):
    """The learning rate at optimizer steps ``0 .. steps - 1`` (a float64 NumPy array).

    ``learning_rate`` is a float or a ``LearningRateSchedule`` (as from :meth:`Schedule.build`).
    """
    import keras
    import numpy as np

    _check_positive_int("steps", steps)
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return np.full(steps, float(learning_rate))
    # vectorized_map turns the schedules' ops.cond (cosine warm-up) into selects.
    step_values = keras.ops.arange(steps, dtype="float32")
    lrs = keras.ops.vectorized_map(learning_rate, step_values)
    return np.asarray(keras.ops.convert_to_numpy(lrs), dtype=np.float64).reshape(steps)


__all__ = [
    "Schedule",
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
