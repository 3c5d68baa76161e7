"""The export pipeline: a trained ``.keras`` model -> verified TFLite and ONNX artifacts.

1. :func:`plan_export` checks the request without TensorFlow: the model file, the
   Task (the ``task`` argument, else the run folder's ``config.json``, else
   :data:`kerascnn.tasks.DEFAULT`), formats the Task allows, precisions each
   format supports, and the output folder.
2. :func:`export_model` loads the model, asks the Task for the input signature
   and for calibration/verification inputs (:mod:`~kerascnn.export.calibration`),
   converts each format x precision (:mod:`~kerascnn.export.tflite`,
   :mod:`~kerascnn.export.onnx`, :mod:`~kerascnn.export.quantize`), runs each
   artifact in its own runtime and lets the Task judge it against Keras
   (:mod:`~kerascnn.export.parity`), then writes ``manifest.json``
   (:mod:`~kerascnn.export.manifest`) — all in a temporary folder moved into
   place at the end (:func:`kerascnn.core.files.atomic_directory`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerascnn import tasks
from kerascnn.core.errors import UsageError, unknown_name_message
from kerascnn.core.files import atomic_directory, atomic_write_json, atomic_write_text, check_output_folder
from kerascnn.core.layout import EXPORT_SUFFIXES, ExportLayout, RunLayout, artifact_name
from kerascnn.core.versions import versions
from kerascnn.export import accuracy, int8_settings, parity, quant_debug
from kerascnn.export.calibration import CALIBRATION_SAMPLES, RANDOM, VERIFY_SAMPLES, resolve_source, sample_inputs
from kerascnn.export.manifest import artifact_entry, model_entry
from kerascnn.export.quantize import PRECISIONS, QUANTIZE_MODES, SUPPORTED
from kerascnn.nn.saving import load_model, resolve_model_path
from kerascnn.training.resources import float32_copy

#: Every format the export stage writes; a Task may allow fewer (``Task.formats``).
FORMATS = tuple(EXPORT_SUFFIXES)
DEFAULT_OUT_ROOT = Path("exports")
#: Float32 for fidelity plus int8 for speed and size: the deployment recipe.
DEFAULT_QUANTIZE = ("none", "int8")

#: Per-channel (axis) QuantizeLinear/DequantizeLinear arrived in ONNX opset 13.
MIN_QUANTIZED_OPSET = 13


@dataclass(frozen=True)
class ExportPlan:
    """A checked export request: what to convert, for which Task, where to write it."""

    model_path: Path
    task: tasks.Task
    run: dict  #: what the model's run folder recorded: task, dataset, data_dir, class_names
    artifacts: tuple[tuple[str, str], ...]  #: (format, precision) pairs to write
    skipped: tuple[str, ...]  #: "onnx fp16"-style pairs a format does not support
    out: Path
    int8: dict = field(default_factory=dict)  #: ``--int8`` overrides of the CPU's int8 recipe
    max_accuracy_drop: float | None = None  #: accuracy points an int8 artifact may lose (None: not checked)
    debug_quant: bool = False  #: write the per-layer quantisation error table and plot


def plan_export(
    model_path: str | os.PathLike,
    *,
    formats: Sequence[str] | str | None = None,
    quantize: Sequence[str] | str = DEFAULT_QUANTIZE,
    task: tasks.Task | str | None = None,
    opset: int | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    samples: int = VERIFY_SAMPLES,
    calibration_samples: int = CALIBRATION_SAMPLES,
    int8: Sequence[str] | dict | None = None,
    max_accuracy_drop: float | None = None,
    debug_quant: bool = False,
) -> ExportPlan:
    """Check an export request cheaply (no TensorFlow); arguments as for :func:`export_model`.

    Raises:
        UsageError: anything :func:`export_model` would refuse before loading the model.
    """
    chosen_formats = None if formats is None else _choices(formats, FORMATS, "export format")
    modes = _choices(quantize, QUANTIZE_MODES, "quantization mode")
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int) or opset < 7):
        raise UsageError(f"opset must be an integer >= 7. Received: {opset!r}")
    for name, value in (("samples", samples), ("calibration_samples", calibration_samples)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a positive integer. Received: {value!r}")
    overrides = dict(int8) if isinstance(int8, dict) else int8_settings.parse_overrides(int8)
    max_accuracy_drop = accuracy.check_max_drop(max_accuracy_drop)
    if (overrides or max_accuracy_drop is not None or debug_quant) and "int8" not in modes:
        asked = "--int8" if overrides else accuracy.OPTION if max_accuracy_drop is not None else "--debug-quant"
        raise UsageError(f"{asked} applies to int8 artifacts: add int8 to --quantize (e.g. --quantize none,int8).")
    if max_accuracy_drop is not None and "none" not in modes:
        raise UsageError(f"{accuracy.OPTION} compares int8 with float32: add none to --quantize (e.g. none,int8).")

    model_path = resolve_model_path(model_path)
    run = _run_record(model_path)
    task = _resolve_task(task, run)
    if chosen_formats is None:
        chosen_formats = [f for f in FORMATS if f in task.formats]
    for fmt in chosen_formats:
        if fmt not in task.formats:
            raise UsageError(
                f"{task.name} models cannot be exported to {fmt}; task {task.name!r} supports "
                f"{', '.join(task.formats) or 'no export format'}."
            )

    precisions = [PRECISIONS[m] for m in modes]
    artifacts = [(f, p) for f in chosen_formats for p in precisions if p in SUPPORTED[f]]
    skipped = [f"{f} {p}" for f in chosen_formats for p in precisions if p not in SUPPORTED[f]]
    if not artifacts:
        raise UsageError(
            f"Nothing to export: {', '.join(skipped)} is not supported "
            f"(onnx supports {', '.join(SUPPORTED['onnx'])}; tflite {', '.join(SUPPORTED['tflite'])})."
        )
    quantized_onnx = [p for f, p in artifacts if f == "onnx" and p != "fp32"]
    if opset is not None and opset < MIN_QUANTIZED_OPSET and quantized_onnx:
        raise UsageError(
            f"ONNX {quantized_onnx[0]} needs opset >= {MIN_QUANTIZED_OPSET} (per-channel QuantizeLinear/"
            f"DequantizeLinear). Received: --opset {opset}"
        )
    out = check_output_folder(Path(out) if out is not None else default_out(model_path), force)
    return ExportPlan(
        model_path, task, run, tuple(artifacts), tuple(skipped), out, overrides, max_accuracy_drop, bool(debug_quant)
    )


def export_model(
    model_path: str | os.PathLike,
    *,
    formats: Sequence[str] | str | None = None,
    quantize: Sequence[str] | str = DEFAULT_QUANTIZE,
    task: tasks.Task | str | None = None,
    calibration: str | None = None,
    data_dir: str | os.PathLike | None = None,
    opset: int | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    samples: int = VERIFY_SAMPLES,
    calibration_samples: int = CALIBRATION_SAMPLES,
    int8: Sequence[str] | dict | None = None,
    max_accuracy_drop: float | None = None,
    debug_quant: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Export ``model_path`` to every requested format x precision, verify, write a manifest.

    Args:
        model_path: a ``.keras`` file, or a training run folder holding ``model.keras``.
        formats: ``"tflite"`` and/or ``"onnx"`` (list or comma-separated string);
            default: every format the Task supports.
        quantize: any of ``none`` (float32), ``fp16`` (TFLite), ``dynamic``, ``int8``.
        task: the model's :class:`~kerascnn.tasks.Task` (an instance or a registered
            name). Default: the ``task`` in the run folder's ``config.json``, else
            :data:`kerascnn.tasks.DEFAULT`.
        calibration: data set name (``kerascnn.data.names()``, ``folder:PATH``) whose
            samples calibrate int8 and verify every artifact, or ``"random"``
            (fine for float32 parity, meaningless for int8 accuracy).
            Default: the data set of the training run the model comes from, else ``random``.
        data_dir: where to look for the calibration data set.
        opset: ONNX opset (default: the exporter's).
        out: output folder (default ``exports/<model name>``).
        force: replace a non-empty ``out``.
        samples: inputs each artifact is verified on.
        calibration_samples: inputs int8 activation ranges are calibrated on.
        int8: overrides of the int8 recipe chosen for this CPU
            (:mod:`~kerascnn.export.int8_settings`): ``{"reduce_range": True}`` or
            ``["reduce_range=true"]``.
        max_accuracy_drop: top-1 accuracy points an int8 artifact may lose against
            float32 on the labelled verification data; layers are kept in float until
            it fits (:mod:`~kerascnn.export.accuracy`). Needs labelled data.
        debug_quant: write the per-layer quantisation error table and plot of each
            int8 artifact (:mod:`~kerascnn.export.quant_debug`).
        progress: called with one line per step (the CLI prints them).

    Returns:
        The manifest (also written to ``out/manifest.json``).

    Raises:
        UsageError: bad arguments, unreadable model, unknown/missing data set, an
            existing non-empty ``out`` without ``force``, a format the Task does not
            support, a model that needs Flex ops, or a float32 artifact that the
            Task finds different from Keras (``ParityError``).
    """

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    def warn(message: str) -> None:
        # The CLI shows warnings as progress lines; library callers get a UserWarning.
        if progress is not None:
            progress(f"warning: {message}")
        else:
            warnings.warn(message, stacklevel=3)

    plan = plan_export(
        model_path, formats=formats, quantize=quantize, task=task, opset=opset, out=out, force=force,
        samples=samples, calibration_samples=calibration_samples, int8=int8, max_accuracy_drop=max_accuracy_drop,
        debug_quant=debug_quant,
    )  # fmt: skip
    task = plan.task
    for item in plan.skipped:
        say(f"skipping {item}: not supported for that format")
    quantizing = any(p == "int8" for _, p in plan.artifacts)

    model, policy = float32_copy(load_model(plan.model_path))
    if policy:
        say(f"{plan.model_path.name} computes under {policy}: exporting (and checking against) a float32 copy")
    signature = task.input_signature(model)
    source, data_dir = resolve_source(calibration, data_dir, plan.run)
    if source == RANDOM and quantizing:
        warn(
            "int8 calibrated on random inputs: pass --calibration with the training data set "
            "for meaningful activation ranges and agreement."
        )
    inputs = sample_inputs(task, source, data_dir, signature, samples, calibration_samples)
    labels = None
    if plan.max_accuracy_drop is not None:
        labels = accuracy.verify_labels(inputs, len(inputs["verify"]), task.name)
    recipe = int8_settings.choose(plan.int8) if quantizing else None

    with _output_folder(plan.out, force) as (folder, scratch):
        layout = ExportLayout(folder)
        say(f"verifying on {len(inputs['verify'])} samples: {inputs['description']}")
        reference = parity.reference_outputs(model, inputs["verify"])
        varies = parity.reference_varies(reference)
        if not varies:
            warn(
                f"The Keras model gives the same output for every input ({inputs['description']}): "
                "parity checks on it prove nothing (untrained deep model?)."
            )
        float_accuracy = None if labels is None else accuracy.top1_accuracy(reference, labels)
        artifacts, debug = [], {}
        for fmt, precision in plan.artifacts:
            path = layout.artifact(fmt, precision)
            say(f"{fmt} {precision}: converting")
            job = _ArtifactJob(model, signature, fmt, precision, path, scratch, inputs, opset, recipe)
            settings = job.write()
            extra = {}
            if precision == "int8" and plan.debug_quant:
                rows = job.layer_errors()
                debug[fmt] = _debug_report(rows, folder, fmt, say)
            if labels is not None:
                measure = job.accuracy_measure(labels)
                if precision == "int8":
                    fit = accuracy.fit_drop(
                        job.rewrite, measure, job.layer_errors, float_accuracy=float_accuracy,
                        max_drop=plan.max_accuracy_drop, label=f"{fmt} int8", say=say,
                    )  # fmt: skip
                    settings = job.settings
                    extra["accuracy"] = fit.to_manifest()
                    if fit.float_layers:
                        kept = ", ".join(quant_debug.layer_name(n) for n in fit.float_layers)
                        say(f"{fmt} int8: kept in float: {kept}")
                else:
                    extra["accuracy"] = {"accuracy": measure(), "float_accuracy": float_accuracy}
            result = task.compare(reference, parity.artifact_outputs(path, inputs["verify"]))
            task.check(result, precision, path.name)
            artifacts.append(
                {**artifact_entry(path, fmt=fmt, precision=precision, io=_io_spec(fmt, path), parity=result,
                                  settings=settings), **extra}
            )  # fmt: skip
            say(
                f"{fmt} {precision}: {path.name} {path.stat().st_size / 1e6:.2f} MB, "
                f"{task.parity_summary(result, precision)}"
                + (f", top-1 {extra['accuracy']['accuracy']:.2%}" if "accuracy" in extra else "")
            )
        class_names = _class_names(plan.run, inputs, model)
        manifest = {
            "task": task.name,
            "input_mean": _optional_float(inputs.get("input_mean")),
            "model": model_entry(plan.model_path, model),
            "artifacts": artifacts,
            "verification": {
                "inputs": inputs["description"],
                "samples": int(len(inputs["verify"])),
                "reference_varies": varies,
                "fp32_tolerance": task.fp32_tolerance,
            },
            "calibration": {
                "dataset": source,
                "samples": int(len(inputs["calibrate"])) if quantizing else 0,
            },
            "class_names": class_names,
            "versions": versions(),
        }
        if debug:
            manifest["quant_debug"] = debug
        if class_names:
            atomic_write_text(layout.labels, "\n".join(class_names) + "\n")
        atomic_write_json(layout.manifest, manifest)
    say(f"wrote {plan.out}")
    return manifest


def default_out(model_path: Path) -> Path:
    """``exports/<stem>``; a run's ``model.keras`` (or ``best.keras``) is named after its run folder."""
    run = RunLayout(model_path.parent)
    stem = model_path.stem
    if model_path.name in (run.model.name, run.best.name) and model_path.parent.name:
        stem = model_path.parent.resolve().name
    return DEFAULT_OUT_ROOT / stem


#: Held-out inputs the per-layer quantisation error is measured on.
DEBUG_SAMPLES = 64


class _ArtifactJob:
    """One artifact: write it, re-write it with layers kept in float, measure it, explain its int8 error."""

    def __init__(self, model, signature, fmt, precision, path: Path, scratch: Path, inputs: dict, opset, recipe):
        self.model, self.signature, self.fmt, self.precision = model, signature, fmt, precision
        self.path, self.scratch, self.inputs, self.opset, self.recipe = path, scratch, inputs, opset, recipe
        self.settings: dict = {}
        self._rows = None

    def write(self, excluded: Sequence[str] = ()) -> dict:
        """Write the artifact (``excluded``: int8 layers kept in float); returns its manifest settings."""
        self.settings = _write_artifact(
            self.model, self.signature, self.fmt, self.precision, self.path, self.scratch,
            self.inputs["calibrate"], self.opset, self.recipe, excluded,
        )  # fmt: skip
        return self.settings

    def rewrite(self, excluded: Sequence[str]) -> None:
        self.write(excluded)

    def accuracy_measure(self, labels: np.ndarray) -> Callable[[], float]:
        """A callable: the artifact's top-1 accuracy on the labelled verification inputs."""
        return lambda: accuracy.top1_accuracy(parity.artifact_outputs(self.path, self.inputs["verify"]), labels)

    def layer_errors(self) -> list[dict]:
        """The per-layer error rows of the fully quantised artifact (computed once)."""
        if self._rows is None:
            x = self.inputs["verify"][:DEBUG_SAMPLES]
            if self.fmt == "onnx":
                from kerascnn.export.onnx import INPUT_NAME
                from kerascnn.export.quantize import _pre_processed

                float_path = _pre_processed(self.scratch / artifact_name("onnx", "fp32"), self.scratch)
                self._rows = quant_debug.onnx_layer_errors(float_path, self.path, x, INPUT_NAME)
            else:
                from kerascnn.export import tflite

                converter = tflite.int8_converter(self.scratch / "saved_model", self.inputs["calibrate"])
                self._rows = quant_debug.tflite_layer_errors(converter, x, self.path.read_bytes())
        return self._rows


def _debug_report(rows: list[dict], folder: Path, fmt: str, say) -> dict:
    """Write ``quant_debug_<fmt>.csv/.png``, print the worst layers; the manifest's ``quant_debug`` entry."""
    files = quant_debug.write_report(rows, folder, f"quant_debug_{fmt}", f"{fmt} int8: per-layer quantisation error")
    kinds = quant_debug.by_kind(rows)
    say(f"{fmt} int8: per-layer quantisation error (SQNR dB, worst first; every layer in {files[0].name}):")
    for line in quant_debug.format_table(rows, limit=10).splitlines():
        say(f"  {line}")
    say(
        f"{fmt} int8: median per-channel SQNR by kind: "
        + ", ".join(f"{kind} {v['median_channel_sqnr_db']:.1f} dB ({v['layers']})" for kind, v in kinds.items())
    )
    return {"files": [p.name for p in files], "layers": len(rows), "by_kind": kinds}


def _write_artifact(
    model, signature, fmt, precision, path: Path, scratch: Path, x_calibrate, opset, recipe=None, excluded=()
) -> dict:
    """Write one artifact at ``path``; intermediates shared by several precisions live in ``scratch``."""
    input_shape, input_dtype = signature
    if fmt == "tflite":
        from kerascnn.export import tflite

        saved_model = scratch / "saved_model"
        if not saved_model.exists():
            tflite.export_saved_model(model, saved_model, input_shape=input_shape, input_dtype=input_dtype)
        if precision == "int8" and excluded:
            path.write_bytes(tflite.convert_tflite_selective(saved_model, x_calibrate, excluded))
        else:
            path.write_bytes(tflite.convert_tflite(saved_model, precision, x_calibrate, name=model.name))
        settings = {
            "converter": "tf.lite.TFLiteConverter (SavedModel from keras.Model.export)",
            "ops": "TFLITE_BUILTINS",
        }
        if precision == "int8":
            io = "int8" if np.issubdtype(np.dtype(input_dtype), np.floating) else f"{input_dtype} in, int8 out"
            settings.update(
                ops="TFLITE_BUILTINS_INT8", io=io, calibration_samples=int(len(x_calibrate)),
                runtime="LiteRT XNNPACK delegate (the interpreter's default), num_threads = cores",
            )  # fmt: skip
            if excluded:
                settings.update(
                    converter="tf.lite.experimental.QuantizationDebugger (selective quantisation)",
                    ops="TFLITE_BUILTINS", io="float32", float_tensors=list(excluded),
                )  # fmt: skip
        return settings

    from kerascnn.export import onnx as onnx_export
    from kerascnn.export import quantize

    float_path = scratch / artifact_name("onnx", "fp32")
    exporter_path = scratch / "exporter.txt"
    if not float_path.exists():
        exporter = onnx_export.export_onnx(
            model, float_path, input_shape=input_shape, input_dtype=input_dtype, opset=opset
        )
        exporter_path.write_text(exporter)
    settings = {"exporter": exporter_path.read_text(), "opset": onnx_export.opset_of(float_path)}
    if precision == "fp32":
        shutil.copyfile(float_path, path)
    elif precision == "int8":
        settings.update(
            quantize.quantize_onnx_static(
                float_path, path, x_calibrate, onnx_export.INPUT_NAME, scratch, settings=recipe,
                nodes_to_exclude=excluded,
            )
        )  # fmt: skip
        settings["runtime"] = ONNX_INT8_RUNTIME
    elif precision == "dynamic":
        settings.update(quantize.quantize_onnx_dynamic(float_path, path, scratch))
    return settings


#: The onnxruntime session an int8 ONNX artifact was measured in (``kerascnn.runtime.sessions``).
ONNX_INT8_RUNTIME = {
    "graph_optimization_level": "ORT_ENABLE_ALL (QDQ -> QLinearConv/QGemm fusion, NHWC quantised kernels)",
    "intra_op_num_threads": "cores",
    "session.intra_op.allow_spinning": "0",
}


def _io_spec(fmt: str, path: Path):
    if fmt == "tflite":
        from kerascnn.export.tflite import io_spec

        return io_spec(path.read_bytes())
    from kerascnn.export.onnx import io_spec

    return io_spec(path)


def _run_record(model_path: Path) -> dict:
    """``task``, ``dataset``, ``data_dir`` and ``class_names`` of the training run beside the model, if any.

    Reads the run folder's ``config.json`` (top-level ``task``, ``train.dataset``,
    ``train.data_dir``, ``data.classes``) as written by :func:`kerascnn.training.train`.
    """
    try:
        config = json.loads(RunLayout(model_path.parent).config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(config, dict):
        return {}
    train = config.get("train") if isinstance(config.get("train"), dict) else config
    found = {key: train.get(key) for key in ("dataset", "data_dir") if isinstance(train.get(key), str)}
    if isinstance(config.get("task"), str):
        found["task"] = config["task"]
    data_info = config.get("data") if isinstance(config.get("data"), dict) else {}
    names = data_info.get("classes", config.get("class_names"))
    if isinstance(names, list) and names:
        found["class_names"] = [str(c) for c in names]
    return found


def _resolve_task(task: tasks.Task | str | None, run: dict) -> tasks.Task:
    """The explicit ``task`` (instance or name), else the run's recorded one, else the default."""
    if isinstance(task, tasks.Task):
        return task
    if task is not None and not isinstance(task, str):
        raise UsageError(f"task must be a kerascnn.tasks.Task or a task name. Received: {task!r}")
    return tasks.get(task if task is not None else run.get("task"))


def _class_names(run: dict, inputs: dict, model) -> list[str] | None:
    classes = model.output_shape[-1]
    for names in (run.get("class_names"), inputs.get("class_names")):
        if names and len(names) == classes:
            return list(names)
    return None


def _optional_float(value) -> float | None:
    return None if value is None else float(value)


def _choices(values: Iterable[str] | str, valid: Sequence[str], kind: str) -> list[str]:
    if isinstance(values, str):
        values = values.split(",")
    chosen = []
    for value in values:
        value = str(value).strip().lower()
        if value not in valid:
            raise UsageError(unknown_name_message(kind, value, list(valid)))
        if value not in chosen:
            chosen.append(value)
    if not chosen:
        raise UsageError(f"Choose at least one {kind} from {', '.join(valid)}.")
    return chosen


@contextlib.contextmanager
def _output_folder(out: Path, force: bool):
    """``kerascnn.core.files.atomic_directory(out, force)`` plus a scratch folder for intermediates."""
    with atomic_directory(out, force) as folder, tempfile.TemporaryDirectory(prefix="kerascnn-export-") as scratch:
        yield folder, Path(scratch)
