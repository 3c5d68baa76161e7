"""The export stage: a trained ``.keras`` model -> TFLite (LiteRT) and ONNX artifacts.

    from kerascnn.export import export_model

    manifest = export_model("runs/lenet5-digits/model.keras", formats=["tflite", "onnx"],
                            quantize=["none", "int8"], calibration="digits")

Every artifact is run in its own runtime (LiteRT interpreter, onnxruntime) on
real samples of the calibration data set and compared with the Keras model
before the export succeeds: float32 artifacts must agree within 1e-4, quantised
ones report top-1 agreement. Everything is written to a temporary folder and
moved into place at the end (``kerascnn.core.files.atomic_directory``), with a
``manifest.json`` describing each file (see :mod:`kerascnn.export.manifest`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.nn.saving import load_model, resolve_model_path
from kerascnn.export import manifest as manifest_lib
from kerascnn.export import parity
from kerascnn.export.quantize import PRECISIONS, QUANTIZE_MODES, SUPPORTED

FORMATS = ("tflite", "onnx")
EXTENSIONS = {"tflite": ".tflite", "onnx": ".onnx"}
DEFAULT_OUT_ROOT = Path("exports")
RANDOM = "random"
#: Float32 for fidelity plus int8 for speed and size: the deployment recipe.
DEFAULT_QUANTIZE = ("none", "int8")

#: Per-channel (axis) QuantizeLinear/DequantizeLinear arrived in ONNX opset 13.
MIN_QUANTIZED_OPSET = 13

#: Samples the artifacts are verified on / int8 ranges are calibrated on. MinMax
#: ranges from 100 images clipped MobileNetV2's activations: int8 top-1 agreement
#: 98.8 % (TFLite) / 99.2 % (onnxruntime) on 500 MNIST digits; 300 gave 100 % / 100 %.
VERIFY_SAMPLES = 500
CALIBRATION_SAMPLES = 300


def export_model(
    model_path: str | os.PathLike,
    *,
    formats: Sequence[str] | str = FORMATS,
    quantize: Sequence[str] | str = DEFAULT_QUANTIZE,
    calibration: str | None = None,
    data_dir: str | os.PathLike | None = None,
    opset: int | None = None,
    out: str | os.PathLike | None = None,
    force: bool = False,
    samples: int = VERIFY_SAMPLES,
    calibration_samples: int = CALIBRATION_SAMPLES,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Export ``model_path`` to every requested format x precision, verify, write a manifest.

    Args:
        model_path: a ``.keras`` file, or a training run folder holding ``model.keras``.
        formats: ``"tflite"`` and/or ``"onnx"`` (list or comma-separated string).
        quantize: any of ``none`` (float32), ``fp16`` (TFLite), ``dynamic``, ``int8``.
        calibration: data set name (``kerascnn.data.names()``, ``folder:PATH``) whose
            images calibrate int8 and verify every artifact, or ``"random"``
            (uniform noise: fine for float32 parity, meaningless for int8 accuracy).
            Default: the data set of the training run the model comes from, else ``random``.
        data_dir: where to look for the calibration data set.
        opset: ONNX opset (default: the exporter's).
        out: output folder (default ``exports/<model name>``).
        force: replace a non-empty ``out``.
        samples: inputs each artifact is verified on.
        calibration_samples: inputs int8 activation ranges are calibrated on.
        progress: called with one line per step (the CLI prints them).

    Returns:
        The manifest (also written to ``out/manifest.json``).

    Raises:
        UsageError: bad arguments, unreadable model, unknown/missing data set, an
            existing non-empty ``out`` without ``force``, a model that needs Flex
            ops, or a float32 artifact that does not match Keras (``ParityError``).
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

    formats = _choices(formats, FORMATS, "export format")
    modes = _choices(quantize, QUANTIZE_MODES, "quantization mode")
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, int) or opset < 7):
        raise UsageError(f"opset must be an integer >= 7. Received: {opset!r}")
    for name, value in (("samples", samples), ("calibration_samples", calibration_samples)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{name} must be a positive integer. Received: {value!r}")
    precisions = [PRECISIONS[m] for m in modes]
    plan = [(f, p) for f in formats for p in precisions if p in SUPPORTED[f]]
    skipped = [f"{f} {p}" for f in formats for p in precisions if p not in SUPPORTED[f]]
    if not plan:
        raise UsageError(
            f"Nothing to export: {', '.join(skipped)} is not supported "
            f"(onnx supports {', '.join(SUPPORTED['onnx'])}; tflite {', '.join(SUPPORTED['tflite'])})."
        )
    for item in skipped:
        say(f"skipping {item}: not supported for that format")
    quantized_onnx = [p for f, p in plan if f == "onnx" and p != "fp32"]
    if opset is not None and opset < MIN_QUANTIZED_OPSET and quantized_onnx:
        raise UsageError(
            f"ONNX {quantized_onnx[0]} needs opset >= {MIN_QUANTIZED_OPSET} (per-channel QuantizeLinear/"
            f"DequantizeLinear). Received: --opset {opset}"
        )

    model_path = resolve_model_path(model_path)
    run_config = _run_config(model_path)
    model = load_model(model_path)
    input_shape = _image_input_shape(model)
    if calibration is None:
        calibration = run_config.get("dataset") or RANDOM
        if data_dir is None:
            data_dir = run_config.get("data_dir")
    if calibration == RANDOM and "int8" in precisions:
        warn(
            "int8 calibrated on random noise: pass --calibration with the training data set "
            "for meaningful activation ranges and agreement."
        )
    inputs = calibration_inputs(calibration, data_dir, input_shape, samples, calibration_samples)
    out = Path(out) if out is not None else default_out(model_path)

    with _output_folder(out, force) as (folder, scratch):
        say(f"verifying on {len(inputs['verify'])} samples: {inputs['description']}")
        reference = parity.reference_outputs(model, inputs["verify"])
        varies = parity.reference_varies(reference)
        if not varies:
            warn(
                f"The Keras model gives the same output for every input ({inputs['description']}): "
                "parity checks on it prove nothing (untrained deep model?)."
            )
        artifacts = []
        for fmt, precision in plan:
            path = folder / artifact_name(fmt, precision)
            say(f"{fmt} {precision}: converting")
            settings = _write_artifact(model, fmt, precision, path, scratch, inputs["calibrate"], opset)
            outputs = parity.artifact_outputs(path, inputs["verify"])
            result = parity.compare(reference, outputs)
            parity.check(result, precision, path.name)
            io = _io_spec(fmt, path)
            artifacts.append(
                manifest_lib.artifact_entry(path, fmt=fmt, precision=precision, io=io, parity=result, settings=settings)
            )
            say(
                f"{fmt} {precision}: {path.name} {path.stat().st_size / 1e6:.2f} MB, "
                f"max |diff| {result['max_abs_diff']:.2e}, top-1 agreement {result['top1_agreement']:.1%}"
            )
        class_names = _class_names(run_config, inputs, model)
        manifest = {
            "model": manifest_lib.model_entry(model_path, model),
            "artifacts": artifacts,
            "verification": {
                "inputs": inputs["description"],
                "samples": int(len(inputs["verify"])),
                "reference_varies": varies,
                "fp32_tolerance": parity.FP32_TOLERANCE,
            },
            "calibration": {
                "dataset": calibration,
                "samples": int(len(inputs["calibrate"])) if "int8" in precisions else 0,
            },
            "class_names": class_names,
            "versions": manifest_lib.versions(),
        }
        if class_names:
            (folder / manifest_lib.LABELS_NAME).write_text("\n".join(class_names) + "\n", encoding="utf-8")
        from kerascnn.core.files import atomic_write_json

        atomic_write_json(folder / manifest_lib.MANIFEST_NAME, manifest)
    say(f"wrote {out}")
    return manifest


def artifact_name(fmt: str, precision: str) -> str:
    """``model.onnx``, ``model_int8.onnx``, ``model_fp16.tflite``, ..."""
    suffix = "" if precision == "fp32" else f"_{precision}"
    return f"model{suffix}{EXTENSIONS[fmt]}"


def default_out(model_path: Path) -> Path:
    """``exports/<stem>``; a run's ``model.keras`` is named after its run folder."""
    stem = model_path.stem
    if stem in ("model", "best") and model_path.parent.name:
        stem = model_path.parent.resolve().name
    return DEFAULT_OUT_ROOT / stem


def _image_input_shape(model) -> tuple[int, int, int]:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise UsageError(
            f"Export supports models with one input and one output. Received: {len(model.inputs)} inputs, "
            f"{len(model.outputs)} outputs."
        )
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise UsageError(f"Export needs a fixed NHWC image input (H, W, C). Received input shape: {model.input_shape}")
    return shape


def calibration_inputs(
    calibration: str, data_dir, input_shape: tuple[int, int, int], samples: int, calibration_samples: int
) -> dict:
    """Float32 raw-pixel inputs: ``{"calibrate", "verify", "description", "class_names"}``.

    Data-set images are taken from the training split for calibration and from
    the test split for verification (disjoint), resized and channel-converted to
    the model's input when they differ.
    """
    rng = np.random.default_rng(0)
    if calibration == RANDOM:
        return {
            "calibrate": rng.uniform(0, 255, (calibration_samples, *input_shape)).astype("float32"),
            "verify": rng.uniform(0, 255, (samples, *input_shape)).astype("float32"),
            "description": "uniform random pixels 0-255",
            "class_names": None,
        }
    from kerascnn import data

    dataset = data.load(calibration, data_dir)
    train, test = dataset.x_train, dataset.x_test
    if len(test) == 0:  # data sets without a test split: verify on the tail, calibrate on the head
        half = len(train) // 2
        train, test = train[:half], train[half:]
    verify = test[rng.permutation(len(test))[:samples]]
    calibrate = train[rng.permutation(len(train))[:calibration_samples]]
    description = f"{dataset.name} ({dataset.source})"
    if verify.shape[1:] != tuple(input_shape):
        description += f", images {'x'.join(map(str, verify.shape[1:]))} -> {'x'.join(map(str, input_shape))}"
    return {
        "calibrate": fit_images(calibrate, input_shape),
        "verify": fit_images(verify, input_shape),
        "description": description,
        "class_names": list(dataset.class_names),
    }


def fit_images(x: np.ndarray, input_shape: tuple[int, int, int]) -> np.ndarray:
    """uint8 NHWC images -> float32 raw pixels of the model's (H, W, C).

    Grey images are repeated to 3 channels (RGB to grey by luminance) and resized
    with antialiased bilinear interpolation when the size differs.
    """
    import tensorflow as tf

    x = x.astype("float32")
    height, width, channels = input_shape
    if x.shape[3] != channels:
        if x.shape[3] == 1 and channels == 3:
            x = np.repeat(x, 3, axis=3)
        elif x.shape[3] == 3 and channels == 1:
            x = tf.image.rgb_to_grayscale(x).numpy()
        else:
            raise UsageError(f"Cannot feed {x.shape[3]}-channel calibration images to a {channels}-channel model.")
    if x.shape[1:3] != (height, width):
        x = tf.image.resize(x, (height, width), antialias=True).numpy()
    return np.clip(x, 0, 255).astype("float32")


def _write_artifact(model, fmt, precision, path: Path, scratch: Path, x_calibrate, opset) -> dict:
    if fmt == "tflite":
        from kerascnn.export import tflite

        saved_model = scratch / "saved_model"
        if not saved_model.exists():
            tflite.export_saved_model(model, saved_model)
        path.write_bytes(tflite.convert_tflite(saved_model, precision, x_calibrate, name=model.name))
        settings = {
            "converter": "tf.lite.TFLiteConverter (SavedModel from keras.Model.export)",
            "ops": "TFLITE_BUILTINS",
        }
        if precision == "int8":
            settings.update(ops="TFLITE_BUILTINS_INT8", io="int8", calibration_samples=int(len(x_calibrate)))
        return settings

    from kerascnn.export import onnx as onnx_export
    from kerascnn.export import quantize

    float_path = scratch / "model.onnx"
    exporter_path = scratch / "exporter.txt"
    if not float_path.exists():
        exporter_path.write_text(onnx_export.export_onnx(model, float_path, opset=opset))
    settings = {"exporter": exporter_path.read_text(), "opset": onnx_export.opset_of(float_path)}
    if precision == "fp32":
        shutil.copyfile(float_path, path)
    elif precision == "int8":
        settings.update(quantize.quantize_onnx_static(float_path, path, x_calibrate, onnx_export.INPUT_NAME, scratch))
    elif precision == "dynamic":
        settings.update(quantize.quantize_onnx_dynamic(float_path, path, scratch))
    return settings


def _io_spec(fmt: str, path: Path):
    if fmt == "tflite":
        from kerascnn.export.tflite import io_spec

        return io_spec(path.read_bytes())
    from kerascnn.export.onnx import io_spec

    return io_spec(path)


def _run_config(model_path: Path) -> dict:
    """``dataset``, ``data_dir`` and ``class_names`` of the training run beside the model, if any.

    Reads the run folder's ``config.json`` (``train.dataset``, ``train.data_dir``,
    ``data.classes``) as written by :func:`kerascnn.training.trainer.train`.
    """
    config_path = model_path.parent / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(config, dict):
        return {}
    train = config.get("train") if isinstance(config.get("train"), dict) else config
    found = {key: train.get(key) for key in ("dataset", "data_dir") if isinstance(train.get(key), str)}
    data_info = config.get("data") if isinstance(config.get("data"), dict) else {}
    names = data_info.get("classes", config.get("class_names"))
    if isinstance(names, list) and names:
        found["class_names"] = [str(c) for c in names]
    return found


def _class_names(run_config: dict, inputs: dict, model) -> list[str] | None:
    classes = model.output_shape[-1]
    for names in (run_config.get("class_names"), inputs.get("class_names")):
        if names and len(names) == classes:
            return list(names)
    return None


def _choices(values: Iterable[str] | str, valid: Sequence[str], kind: str) -> list[str]:
    from kerascnn.models import unknown_name_message

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
    from kerascnn.core.files import atomic_directory

    with atomic_directory(out, force) as folder, tempfile.TemporaryDirectory(prefix="kerascnn-export-") as scratch:
        yield folder, Path(scratch)


__all__ = [
    "export_model",
    "FORMATS",
    "QUANTIZE_MODES",
    "DEFAULT_QUANTIZE",
    "artifact_name",
    "default_out",
    "calibration_inputs",
    "fit_images",
]
