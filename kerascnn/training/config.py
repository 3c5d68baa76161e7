"""The training configuration: every choice a run makes, with the recipe as defaults.

:class:`TrainConfig` is what ``config.json`` in a run directory holds (plus the
task and the library versions), what ``--resume`` compares against, and what
the ``train`` command's flags map onto one to one. Importing it imports no
TensorFlow, and every check here is cheap: a bad option fails at once.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from kerascnn.core.errors import UsageError, unknown_name_message
from kerascnn.training import schedules
from kerascnn.training.optimizers import OPTIMIZERS, default_learning_rate

# Options that say how to run, not what to train: --resume ignores them.
RUN_ONLY_KEYS = ("quiet", "data_dir", "cpu_devices", "memory_budget")


@dataclass
class TrainConfig:
    """Everything that defines a training run (the ``train`` command's flags).

    The defaults are the project's recipe: ``kerascnn train lenet5 --dataset mnist``
    reaches >= 98 % on the offline MNIST split in 15 epochs.

    Attributes:
        model: zoo name (``kerascnn models`` lists them).
        dataset: data set name (``kerascnn.data.names()``) or ``folder:<path>``.
        data_dir: where to look for offline data (else ``$KERASCNN_DATA``, then TFDS).
        download: allow a tensorflow-datasets download (online only).
        epochs, batch_size: the global batch is split across replicas.
        optimizer: one of :data:`OPTIMIZERS`.
        lr: initial learning rate (``None``: the optimizer's usual default).
        schedule: a :mod:`kerascnn.training.schedules` spec, e.g. ``"cosine"``, ``"step:factor=0.5,every=5"``;
            parsed once into a :class:`~kerascnn.training.schedules.Schedule` when the config is made
            (``str(config.schedule)`` is the canonical spec).
        augment: a ``kerascnn.data.augment`` spec (``"crop,rotate:10"``) for images, a
            ``kerascnn.data.augment3d`` one (``"flip_w,noise:8"``) for clips and volumes; runs
            in the tf.data pipeline only, never in the saved model.
        weight_decay: L2 weight decay lambda on conv/dense kernels (the penalty
            ``lambda/2 * sum(w**2)``, i.e. gradient ``lambda * w``); with ``adamw``
            it is AdamW's decoupled decay instead.
        l1: L1 penalty on the same kernels (with ``weight_decay``: elastic net).
        validation_split: fraction of the training images held out (stratified,
            seeded) for validation curves and the best checkpoint; 0 turns it off.
        early_stopping: patience in epochs on the validation loss (``None``: off).
        seed: seeds Python, NumPy, TF, the shuffle and augmentation.
        deterministic: TF op determinism (identical weights for the same seed on CPU).
        strategy: ``default`` | ``mirrored`` | ``multiworker`` (see :mod:`kerascnn.training.distribute`).
        cpu_devices: split the CPU into N logical devices (for ``mirrored`` without GPUs).
        input_size: ``(height, width)`` the backbone sees; ``None``: the images' own size
            when the model accepts it, else the model's default.
        model_kwargs: extra builder arguments (``{"dropout": 0.5}``, ``{"alpha": 0.5}``).
        init_from: a saved ``.keras`` model to start from (transfer learning).
        new_head: with ``init_from``, always re-initialise the classifier (it is
            replaced anyway when the number of classes differs).
        freeze: ``"base"`` (everything but the classifier) or a layer name (that layer
            and all before it); frozen BatchNorm layers run in inference mode.
        weights: ``"imagenet"`` to start from keras.applications weights (online).
        steps_per_epoch: cap on batches per epoch (quick smoke runs).
        mixed_precision: ``True`` (or ``"float16"``): train under Keras' ``mixed_float16`` policy
            (float16 activations, float32 weights, loss scaling; the outputs stay float32), which pays
            off on GPUs and is slow on CPUs; ``"bfloat16"``: ``mixed_bfloat16`` (no loss scaling),
            faster on CPUs with AVX512-BF16 / AMX-BF16. ``False``: float32.
        memory_budget: memory the training step must fit in (``"8GiB"``); ``None``: the
            machine's available memory (checked on CPUs; on GPUs only when given). A batch
            the plan (:mod:`kerascnn.analysis.memory`) says cannot fit is refused before training.
    """

    model: str = "lenet5"
    dataset: str = "digits"
    data_dir: str | None = None
    download: bool = False
    epochs: int = 15
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    schedule: str | schedules.Schedule = "cosine"
    augment: str | None = None
    weight_decay: float = 0.0
    l1: float = 0.0
    validation_split: float = 0.1
    early_stopping: int | None = None
    seed: int = 42
    deterministic: bool = True
    strategy: str = "default"
    cpu_devices: int | None = None
    input_size: tuple[int, int] | None = None
    model_kwargs: dict = field(default_factory=dict)
    init_from: str | None = None
    new_head: bool = False
    freeze: str | None = None
    weights: str | None = None
    steps_per_epoch: int | None = None
    quiet: bool = False
    mixed_precision: bool | str = False  # False, True (float16) or "bfloat16"
    memory_budget: str | None = None

    def __post_init__(self):
        self.schedule = schedules.parse(self.schedule)  # the one parse of the spec

    @classmethod
    def from_options(cls, model: str, dataset: str, **options) -> TrainConfig:
        """Build from keyword options, rejecting unknown names with the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise UsageError(
                f"Unknown training option {unknown[0]!r}. Valid options: {', '.join(sorted(names - {'model', 'dataset'}))}."
            )
        config = cls(model=model, dataset=dataset, **options)
        config.validate()
        return config

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimizer's default when ``lr`` is ``None``."""
        return float(self.lr) if self.lr is not None else default_learning_rate(self.optimizer)

    def validate(self) -> None:
        """Raise ``UsageError`` (one line, ``Received: ...``) on any bad value."""
        from kerascnn.training.distribute import STRATEGIES

        for name in ("epochs", "batch_size"):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("steps_per_epoch", "early_stopping", "cpu_devices"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        _check_int("seed", self.seed, minimum=0)
        if self.lr is not None:
            _check_float("lr", self.lr, positive=True)
        for name in ("weight_decay", "l1"):
            _check_float(name, getattr(self, name), positive=False)
        if not (isinstance(self.validation_split, (int, float)) and 0 <= self.validation_split < 1):
            raise UsageError(
                f"`validation_split` must be in [0, 1). Received: validation_split={self.validation_split!r}"
            )
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("strategy", self.strategy, STRATEGIES)
        if self.weights not in (None, "imagenet"):
            raise UsageError(f"`weights` must be None or 'imagenet'. Received: weights={self.weights!r}")
        if self.weights and self.init_from:
            raise UsageError("Pass either `init_from` or `weights`, not both.")
        if self.input_size is not None:
            size = tuple(self.input_size)
            if len(size) != 2 or any(not isinstance(d, int) or d <= 0 for d in size):
                raise UsageError(
                    f"`input_size` must be (height, width), two positive integers. Received: input_size={self.input_size!r}"
                )
            self.input_size = size
        if not isinstance(self.model_kwargs, dict):
            raise UsageError(f"`model_kwargs` must be a dict. Received: model_kwargs={self.model_kwargs!r}")
        if self.init_from is not None:
            path = Path(self.init_from).expanduser()
            if not path.is_file():
                raise UsageError(f"`init_from` model not found. Received: init_from={self.init_from!r}")
            self.init_from = os.fspath(path.resolve())
        if self.data_dir is not None:
            self.data_dir = os.fspath(Path(self.data_dir).expanduser().resolve())
        if self.augment is not None and not str(self.augment).strip():
            self.augment = None
        if self.augment is not None:
            from kerascnn import data

            data.check_augment(self.augment, self.dataset)  # 2D or 3D by the data set; before any data is read
        from kerascnn.training.resources import mixed_dtype

        dtype = mixed_dtype(self.mixed_precision)  # anything else: one line
        self.mixed_precision = "bfloat16" if dtype == "bfloat16" else dtype is not None  # float16 stays `true`
        if self.memory_budget is not None:
            from kerascnn.analysis.memory import parse_bytes

            parse_bytes(self.memory_budget)
        self.schedule.check_run_length(self.epochs)

    def to_dict(self) -> dict:
        """JSON-ready dict (tuples become lists)."""
        out = dataclasses.asdict(self)
        out["schedule"] = str(self.schedule)
        if out["input_size"] is not None:
            out["input_size"] = list(out["input_size"])
        return out

    def comparable(self) -> dict:
        """The part ``--resume`` must find unchanged."""
        out = self.to_dict()
        for key in RUN_ONLY_KEYS:
            out.pop(key, None)
        return out

    def command_line(self) -> str:
        """An equivalent ``kerascnn train ...`` command (non-default options only)."""
        defaults, current = TrainConfig().to_dict(), self.to_dict()
        parts = ["kerascnn", "train", self.model, "--dataset", self.dataset]
        for f in dataclasses.fields(self):
            if f.name in ("model", "dataset"):
                continue
            value = current[f.name]
            if value == defaults[f.name]:
                continue
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                parts.append(flag if value else f"--no-{f.name.replace('_', '-')}")
            elif f.name == "input_size":
                parts += [flag, f"{value[0]},{value[1]}"]
            elif f.name == "model_kwargs":
                for key, item in value.items():
                    parts += ["--model-arg", f"{key}={item!r}"]
            else:
                parts += [flag, str(value)]
        return shlex.join(parts)


def describe_config_change(saved: dict, current: dict, *, ignore=()) -> str | None:
    """The first option that differs between two :meth:`TrainConfig.comparable` dicts (except ``ignore``)."""
    for key in sorted(set(saved) | set(current)):
        if key in RUN_ONLY_KEYS or key in ignore:
            continue
        if saved.get(key) != current.get(key):
            return f"{key} was {saved.get(key)!r} in the run, now {current.get(key)!r}"
    return None


def _check_int(name: str, value, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise UsageError(f"`{name}` must be {kind}. Received: {name}={value!r}")


def _check_float(name: str, value, *, positive: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > 0 if positive else value >= 0)
    if not ok:
        kind = "a positive number" if positive else "a non-negative number"
        raise UsageError(f"`{name}` must be {kind}. Received: {name}={value!r}")


def _check_choice(name: str, value, valid) -> None:
    if value not in valid:
        raise UsageError(unknown_name_message(name, str(value), list(valid)))
