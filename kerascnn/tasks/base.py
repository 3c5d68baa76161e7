"""The Task: everything in the pipeline that depends on the kind of problem.

A model family registers a ``task`` name in the zoo (:mod:`kerascnn.models`);
the stages look that name up here and ask the :class:`Task`, never
``if task == ...``:

=====================  ==========================================================
stage                  what it asks the Task
=====================  ==========================================================
training               :meth:`~Task.training_defaults` (the recipe's epochs, batch, LR),
                       :meth:`~Task.build_model` (input adapter + head around the
                       zoo backbone), :meth:`~Task.training_examples` (what only
                       training sees), :meth:`~Task.pipeline` (tf.data batches),
                       :meth:`~Task.loss`, :meth:`~Task.metrics`,
                       :attr:`~Task.monitor` (best checkpoint, curves, diagnosis),
                       :meth:`~Task.per_example` (the multi-worker loop),
                       :meth:`~Task.evaluate` (``metrics.json``), :meth:`~Task.headline`,
                       :meth:`~Task.write_outputs` (extra run-folder files)
export                 :meth:`~Task.export_artifacts`, :meth:`~Task.input_signature`, :meth:`~Task.sample_inputs`
                       (calibration and verification), :meth:`~Task.compare`
                       and :meth:`~Task.check` (parity), :attr:`~Task.formats`
runtime (no TF)        :meth:`~Task.load_inputs` (files -> a batch) and
                       :meth:`~Task.present` (outputs -> what ``predict`` prints),
                       chosen by the ``task`` named in ``manifest.json``
bench                  :meth:`~Task.example_inputs`
=====================  ==========================================================

Tasks are TensorFlow-free to import (the runtime uses them); methods that need
Keras or TensorFlow import it themselves.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kerascnn.core.errors import UsageError

#: The sample source ``--calibration random``: valid example inputs (:meth:`Task.example_inputs`),
#: fine for float32 parity, meaningless for int8 ranges and agreement.
RANDOM = "random"


class Task:
    """Base class: one kind of problem. Subclasses set :attr:`name` and override what differs.

    Attributes:
        name: the registry key (``"classification"``); written to ``config.json``
            and ``manifest.json``.
        monitor: ``(metric, mode)`` that picks the best epoch (``best.keras``, the
            mark in ``curves.png``): e.g. ``("accuracy", "max")``; the trainer
            prefixes ``val_`` when there is a validation split.
        formats: export formats this task's models can be converted to.
        fp32_tolerance: largest max |diff| allowed between a float32 artifact and Keras.
    """

    name = ""
    monitor: tuple[str, str] = ("loss", "min")
    formats: tuple[str, ...] = ("tflite", "onnx")
    fp32_tolerance = 1e-4

    # ------------------------------------------------------------ training
    def build_model(self, config, dataset, x_train):
        """The trainable ``keras.Model`` (raw data in) for a :class:`~kerascnn.training.config.TrainConfig`."""
        raise NotImplementedError

    def loss(self):
        """The Keras loss ``compile`` uses (a ``keras.losses.Loss`` or a name)."""
        raise NotImplementedError

    def metrics(self) -> list:
        """Keras metrics ``compile`` uses; their names appear in ``history.csv``."""
        return []

    def per_example(self, labels, outputs) -> dict:
        """Per-example tensors for a custom training loop: ``{"loss": ..., <metric>: ...}``.

        The multi-worker loop sums each over the global batch and divides by the
        number of examples, so every entry must be a per-example mean-able value
        (a 0/1 "correct" for accuracy, a squared error ...).
        """
        raise NotImplementedError

    def training_defaults(self, model: str, dataset: str) -> dict:
        """:class:`~kerascnn.training.config.TrainConfig` options of this task's recipe for ``model`` on ``dataset``.

        The trainer applies them under the caller's options (a flag the user gives wins), so
        the plain command trains the recipe measured for that pair (the one-shot Omniglot
        recipe: 30 epochs of 128 at 2e-3). Default: none (the config's own defaults).
        """
        return {}

    def training_examples(self, config, dataset, x, y):
        """``(x, y)``: the training split the training pipeline sees, from the split left after validation.

        Called by the trainer before :meth:`pipeline` and :meth:`build_model` with the run's
        :class:`~kerascnn.training.config.TrainConfig` and the loaded data set. Default: unchanged.
        A Task overrides it to add examples or classes that only training sees (metric learning on
        Omniglot: every character turned by 90 degrees as a new class); validation and test splits
        are never passed through it.
        """
        return x, y

    def pipeline(self, x, y, *, batch_size: int, shuffle: bool, seed, augment=None):
        """The ``tf.data`` pipeline of ``(inputs, labels)`` batches fit trains on (and evaluates on).

        Default: :func:`kerascnn.data.pipeline` (cached, shuffled, batched, augmented images). A
        Task overrides it when its batches are built differently (sentences; P x K class-balanced
        batches for in-batch mining).
        """
        from kerascnn import data

        return data.pipeline(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed, augment=augment)

    def after_training(self, model, x, y) -> None:
        """Finish ``model`` with its training split ``(x, y)`` (as :meth:`training_examples` gave it) once fit has
        returned, before it is evaluated and saved. Default: nothing; metric learning fits the embedding's
        within-class whitening (:mod:`kerascnn.nn.whitening`)."""

    def write_outputs(self, run_dir, model) -> None:
        """Write what this task adds to a finished run folder (default: nothing; metric learning: the tower)."""

    def evaluate(self, model, dataset) -> dict:
        """Test-set scores for ``metrics.json``: ``{"test_loss": ..., "test_<metric>": ...}``."""
        scores = model.evaluate(dataset, verbose=0, return_dict=True)
        return {f"test_{name}": float(value) for name, value in scores.items()}

    def headline(self, metrics: dict) -> str:
        """The few words the ``train`` command prints about the test scores."""
        return f"test loss {metrics['test_loss']:.4f}"

    # ------------------------------------------------------------ export
    def input_signature(self, model) -> tuple[tuple, str]:
        """``(shape without batch, dtype)`` of the exported model's single input; any rank."""
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise UsageError(
                f"Export supports models with one input and one output. Received: {len(model.inputs)} inputs, "
                f"{len(model.outputs)} outputs."
            )
        shape = tuple(model.input_shape[1:])
        if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
            raise UsageError(f"Export needs a fixed input shape. Received input shape: {model.input_shape}")
        return shape, str(model.inputs[0].dtype)

    def sample_inputs(self, source: str, data_dir, input_shape, verify: int, calibrate: int) -> dict:
        """Inputs to calibrate int8 and verify artifacts on.

        Returns ``{"calibrate": array, "verify": array, "description": str,
        "class_names": list | None, "input_mean": float | None}``, and optionally
        ``"verify_labels"`` (the true classes of ``verify``: ``export --max-accuracy-drop``
        measures top-1 accuracy with them). ``source`` is a data set name or ``"random"``.
        """
        rng = np.random.default_rng(0)
        return {
            "calibrate": self.example_inputs(input_shape, calibrate, rng),
            "verify": self.example_inputs(input_shape, verify, rng),
            "description": "random inputs",
            "class_names": None,
            "input_mean": None,
        }

    def export_artifacts(self, model_path, **options) -> dict:
        """``kerascnn export``: :func:`kerascnn.export.export_model` for this task's model.

        A Task overrides it when its export folder needs more than the converted model (text:
        the vocabulary and the standardisation rules the TF-free tokeniser follows).
        """
        from kerascnn.export import export_model

        return export_model(model_path, **{**options, "task": self})

    def compare(self, reference: np.ndarray, outputs: np.ndarray) -> dict:
        """How well an artifact's outputs match Keras's: at least ``max_abs_diff`` and ``samples``."""
        from kerascnn.core.errors import UsageError as _Error

        if outputs.shape != reference.shape:
            raise _Error(f"Artifact output shape {outputs.shape} differs from Keras's {reference.shape}.")
        return {"max_abs_diff": float(np.max(np.abs(outputs - reference))), "samples": int(len(reference))}

    def check(self, parity: dict, precision: str, file: str) -> None:
        """Raise ``ParityError`` when a float32 artifact is off by more than :attr:`fp32_tolerance`."""
        from kerascnn.export.parity import ParityError

        if precision == "fp32" and not parity["max_abs_diff"] <= self.fp32_tolerance:
            raise ParityError(
                f"{file} differs from the Keras model by {parity['max_abs_diff']:.3g} "
                f"(allowed {self.fp32_tolerance:g}); nothing was written."
            )

    def parity_summary(self, parity: dict, precision: str) -> str:
        """Short text for tables: ``max |diff| 9.8e-07``."""
        return f"max |diff| {parity['max_abs_diff']:.1e}"

    # ------------------------------------------------------------ runtime and bench (no TensorFlow)
    def example_inputs(self, input_shape, batch: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """A batch of valid raw inputs of ``input_shape`` (timing, random calibration)."""
        rng = rng if rng is not None else np.random.default_rng(0)
        return rng.uniform(0, 255, (batch, *input_shape)).astype("float32")

    def load_inputs(
        self, paths: Sequence[str | os.PathLike], input_shape, *, warn=None, invert: bool = False,
        input_mean: float | None = None,
    ) -> np.ndarray:
        """Read input files into a batch the model takes (``kerascnn predict FILE...``).

        Args:
            warn: called with one line per suspicious input (``None``: silent).
            invert: ``predict --invert`` (images: feed ``255 - pixels``).
            input_mean: the manifest's mean raw training input (``None``: unknown).
        """
        raise UsageError(f"Task {self.name!r} cannot read input files.")

    def present(self, outputs: np.ndarray, *, labels=None, k: int = 5) -> list[dict]:
        """One JSON-able record per input row of ``outputs`` (what ``predict`` prints)."""
        return [{"output": np.asarray(row).reshape(-1).tolist()} for row in outputs]

    def format_record(self, record: dict) -> str:
        """One line of ``predict``'s text output for a :meth:`present` record."""
        values = record.get("output", [])
        shown = ", ".join(f"{v:.4g}" for v in values[:8]) + (", ..." if len(values) > 8 else "")
        return f"[{shown}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
