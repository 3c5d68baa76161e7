"""Inference on exported artifacts without TensorFlow: onnxruntime, LiteRT, Pillow.

This module is the deployment side of the lab. It must never import TensorFlow
or Keras, so that ``kerascnn predict model.onnx`` runs where only
``onnxruntime``, ``numpy`` and ``Pillow`` are installed (the ``.tflite`` path
additionally needs ``ai-edge-litert``). ``tests/test_infer.py`` checks this.

Models exported by kerascnn take **raw pixels**: float32 NHWC in 0-255 (the
preprocessing lives inside the model), so :func:`load_image` only decodes,
converts channels and resizes.

Example:

    from kerascnn.runtime import infer

    runtime = infer.load_runtime("exports/quickstart/model_int8.onnx")
    batch = infer.load_images(["seven.png"], runtime.input_shape)
    print(infer.top_k(runtime.run(batch)[0], k=3))
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError

#: File suffix -> runtime format.
FORMATS = {".onnx": "onnx", ".tflite": "tflite"}

#: Decoders Pillow is allowed to use: a PNG renamed to .jpg still works, a
#: random binary file does not get guessed as some exotic format.
IMAGE_FORMATS = ("PNG", "JPEG")


# --------------------------------------------------------------------------- #
# Runtime sessions
# --------------------------------------------------------------------------- #


def default_threads() -> int:
    """The number of CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _check_model_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"Model file not found: {path}")
    if not path.is_file():
        raise UsageError(f"Expected a model file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise UsageError(f"Model file {path} is empty.")
    return path


def model_format(path: str | os.PathLike) -> str:
    """``"onnx"`` or ``"tflite"`` from the file suffix; ``UsageError`` otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"Unknown model format {suffix or '(no suffix)'!r} for {path}; "
            f"expected one of {', '.join(FORMATS)}. (Keras models are run with `kerascnn bench`.)"
        )
    return FORMATS[suffix]


def onnx_session_options(threads: int | None = None):
    """The onnxruntime settings kerascnn runs with (inference, benchmark, parity).

    * ``intra_op_num_threads`` = ``threads`` (default: all cores of this
      process); one inter-op thread, sequential execution: a CNN is a chain,
      parallelism lives inside each operator.
    * ``ORT_ENABLE_ALL`` graph optimisations (constant folding, Conv+BN+ReLU
      fusion, NCHWc layout for convolutions and QDQ -> integer-op fusion);
      ``ORT_ENABLE_EXTENDED`` (no layout optimisation) ran MobileNetV2 2x slower here.
    * No spin-waiting: worker threads sleep between operators instead of
      busy-waiting. On a shared machine, and when several sessions alternate as
      in ``kerascnn bench``, spinning threads steal the cores the running
      session needs (MobileNetV2, 2 threads, another process on one core:
      24 ms without spinning, 35 ms with).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = int(threads or default_threads())
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    return options


def load_onnx_session(path: str | os.PathLike, threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` on the CPU with :func:`onnx_session_options`.

    Raises:
        DataNotFoundError: the file does not exist.
        UsageError: the file is empty, truncated or not an ONNX model.
    """
    import onnxruntime as ort

    path = _check_model_file(path)
    try:
        return ort.InferenceSession(
            os.fspath(path), sess_options=onnx_session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise UsageError(f"Cannot load {path} as an ONNX model: {_first_line(err)}") from None


def load_tflite_interpreter(path: str | os.PathLike, threads: int | None = None):
    """An ``ai_edge_litert`` interpreter with ``threads`` XNNPACK threads, tensors allocated.

    LiteRT applies its XNNPACK delegate by default (fp32, fp16 and int8
    kernels); ``num_threads`` sets its thread pool.

    Raises:
        DataNotFoundError: the file does not exist.
        UsageError: the file is empty, truncated or not a TFLite flatbuffer.
    """
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:  # pragma: no cover - depends on the install
        raise UsageError("Running .tflite models needs `pip install ai-edge-litert`.") from err

    path = _check_model_file(path)
    try:
        interpreter = Interpreter(model_path=os.fspath(path), num_threads=int(threads or default_threads()))
        interpreter.allocate_tensors()
    except Exception as err:
        raise UsageError(f"Cannot load {path} as a TFLite model: {_first_line(err)}") from None
    return interpreter


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class Runtime:
    """One exported model in its own runtime, with a uniform interface.

    Attributes:
        path: the model file.
        format: ``"onnx"`` or ``"tflite"``.
        threads: CPU threads the runtime uses.
        input_name: name of the (single) image input.
        input_shape: ``(height, width, channels)`` of one image.
        input_dtype: numpy dtype of the model's input tensor: float32, or
            int8/uint8 for a full-integer TFLite model with integer I/O, whose
            input :meth:`prepare` quantises with the tensor's scale and zero point.
    """

    format = ""

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        self.path = Path(path)
        self.threads = int(threads or default_threads())

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run a float32 NHWC batch of raw pixels; returns float32 ``(N, classes)`` outputs.

        kerascnn classifiers end in a softmax, so the outputs are probabilities.
        ``run(x)`` is ``invoke(prepare(x))``.
        """
        return self.invoke(self.prepare(batch))

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        """Check a batch of raw pixels and convert it to the model's input tensor."""
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim == 3:
            batch = batch[None]
        if tuple(batch.shape[1:]) != tuple(self.input_shape):
            raise UsageError(
                f"{self.path.name} expects images of shape {tuple(self.input_shape)}; "
                f"received a batch of shape {tuple(batch.shape)}."
            )
        return batch

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run a prepared input tensor; float32 outputs (what the benchmark times)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({os.fspath(self.path)!r}, threads={self.threads})"


class OnnxRuntime(Runtime):
    """An ``.onnx`` model in onnxruntime (see :func:`onnx_session_options`)."""

    format = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        super().__init__(path, threads)
        self.session = load_onnx_session(self.path, threads=self.threads)
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise UsageError(f"{self.path} is not an image classifier with one NHWC input.")
        spec = inputs[0]
        self.input_name = spec.name
        dims = spec.shape[1:]
        if not all(isinstance(d, int) and d > 0 for d in dims):
            raise UsageError(f"{self.path} has no fixed image size (input shape {spec.shape}).")
        self.input_shape = tuple(int(d) for d in dims)
        self.input_dtype = np.dtype(np.float32)
        self.output_name = self.session.get_outputs()[0].name

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: tensor})
        return np.asarray(out, dtype=np.float32)


class TFLiteRuntime(Runtime):
    """A ``.tflite`` model in the LiteRT interpreter (XNNPACK, ``threads`` threads).

    The batch dimension is resized on demand with ``resize_tensor_input``;
    integer inputs/outputs are (de)quantised with the tensor's scale and zero point.
    """

    format = "tflite"

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        super().__init__(path, threads)
        self.interpreter = load_tflite_interpreter(self.path, threads=self.threads)
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1 or len(inputs[0]["shape"]) != 4:
            raise UsageError(f"{self.path} is not an image classifier with one NHWC input.")
        self._input = inputs[0]
        self._output = self.interpreter.get_output_details()[0]
        self.input_name = self._input["name"]
        self.input_shape = tuple(int(d) for d in self._input["shape"][1:])
        self.input_dtype = np.dtype(self._input["dtype"])
        self._batch = int(self._input["shape"][0])

    def _resize(self, batch_size: int) -> None:
        if batch_size != self._batch:
            self.interpreter.resize_tensor_input(self._input["index"], [batch_size, *self.input_shape])
            self.interpreter.allocate_tensors()
            self._batch = batch_size

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        """Float pixels -> the input tensor; quantised with its (scale, zero point) for int8 input."""
        batch = super().prepare(batch)
        if self.input_dtype == np.float32:
            return batch
        scale, zero_point = self._input["quantization"]
        info = np.iinfo(self.input_dtype)
        tensor = batch * np.float32(1.0 / scale)
        tensor += np.float32(zero_point)
        np.clip(tensor, info.min, info.max, out=tensor)
        return np.rint(tensor, out=tensor).astype(self.input_dtype)

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        self._resize(len(tensor))
        self.interpreter.set_tensor(self._input["index"], tensor)
        self.interpreter.invoke()
        out = self.interpreter.get_tensor(self._output["index"])
        if out.dtype != np.float32:
            scale, zero_point = self._output["quantization"]
            out = (out.astype(np.float32) - zero_point) * scale
        return np.asarray(out, dtype=np.float32)


def load_runtime(path: str | os.PathLike, threads: int | None = None) -> Runtime:
    """Open ``path`` (``.onnx`` or ``.tflite``) in its runtime: a :class:`Runtime`."""
    runtime_class = {"onnx": OnnxRuntime, "tflite": TFLiteRuntime}[model_format(path)]
    return runtime_class(path, threads=threads)


# --------------------------------------------------------------------------- #
# Images
# --------------------------------------------------------------------------- #


def load_image(path: str | os.PathLike, input_shape: Sequence[int]) -> np.ndarray:
    """Decode a PNG/JPEG into float32 raw pixels of ``input_shape`` (H, W, C).

    Channels are converted with Pillow (``L`` for 1-channel models, ``RGB`` for
    3-channel ones: an RGB photo into an MNIST model becomes grey-scale, a
    grey-scale digit into an ImageNet model is replicated over R, G and B) and the
    image is resized to the model's size with bilinear filtering. Pixel values
    stay in 0-255: the model does its own scaling.

    Raises:
        DataNotFoundError: missing file.
        UsageError: empty, truncated or non-image file; unsupported channel count.
    """
    from PIL import Image, UnidentifiedImageError

    height, width, channels = (int(d) for d in input_shape)
    modes = {1: "L", 3: "RGB"}
    if channels not in modes:
        raise UsageError(f"Models with {channels} input channels are not supported; expected 1 or 3.")
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"Image file not found: {path}")
    if path.is_dir():
        raise UsageError(f"Expected an image file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise UsageError(f"Image file {path} is empty.")
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            image = image.convert(modes[channels])  # forces a full decode: truncation fails here
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.float32)
    except UnidentifiedImageError:
        raise UsageError(f"{path} is not a PNG or JPEG image.") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise UsageError(f"Cannot decode image {path}: {_first_line(err)}") from None
    return pixels.reshape(height, width, channels)


def load_images(paths: Sequence[str | os.PathLike], input_shape: Sequence[int]) -> np.ndarray:
    """:func:`load_image` for each path, stacked into an ``(N, H, W, C)`` float32 batch."""
    return np.stack([load_image(p, input_shape) for p in paths])


# --------------------------------------------------------------------------- #
# Labels and top-k
# --------------------------------------------------------------------------- #


def load_labels(path: str | os.PathLike) -> list[str]:
    """Class names from a text file (one per line) or a JSON list."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"Labels file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            labels = json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"Labels file {path} is not valid JSON: {err}") from None
        if not isinstance(labels, list):
            raise UsageError(f"Labels file {path} must hold a JSON list of names.")
        labels = [str(x) for x in labels]
    else:
        labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise UsageError(f"Labels file {path} holds no labels.")
    return labels


def labels_from_manifest(model_path: str | os.PathLike) -> list[str] | None:
    """Class names saved beside ``model_path`` by ``kerascnn export``, if any.

    Looks for ``class_names`` in ``manifest.json``, then for ``labels.txt``.
    """
    folder = Path(model_path).parent
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        try:
            names = json.loads(manifest_path.read_text(encoding="utf-8")).get("class_names")
        except (OSError, ValueError, AttributeError):
            names = None
        if isinstance(names, list) and names:
            return [str(n) for n in names]
    if (folder / "labels.txt").is_file():
        return load_labels(folder / "labels.txt")
    return None


def as_probabilities(outputs: np.ndarray) -> np.ndarray:
    """``outputs`` if they already are probabilities (softmax head), else their softmax."""
    outputs = np.asarray(outputs, dtype=np.float32)
    sums = outputs.sum(axis=-1)
    # Quantised softmax outputs (steps of 1/256) sum to 1 only approximately.
    if outputs.min() >= 0 and np.allclose(sums, 1.0, atol=0.05):
        return outputs
    shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def top_k(probabilities: np.ndarray, k: int = 5, labels: Sequence[str] | None = None) -> list[dict]:
    """The ``k`` most probable classes of one output row, most probable first.

    Returns ``[{"class": int, "label": str, "probability": float}, ...]``; the
    label is the class index as text when no labels are known.
    """
    row = as_probabilities(np.asarray(probabilities).reshape(-1))
    if labels is not None and len(labels) != len(row):
        raise UsageError(f"The model has {len(row)} classes but {len(labels)} labels were given.")
    order = np.argsort(-row, kind="stable")[: max(1, min(int(k), len(row)))]
    return [
        {"class": int(i), "label": str(labels[i]) if labels is not None else str(int(i)), "probability": float(row[i])}
        for i in order
    ]


def predict_files(
    runtime: Runtime,
    files: Sequence[str | os.PathLike],
    k: int = 5,
    labels: Sequence[str] | None = None,
) -> dict:
    """Classify image files: ``{"predictions": [{"file", "top_k": [...]}, ...]}``.

    Every image is decoded first, so a bad file fails before any model runs.
    """
    batch = load_images(files, runtime.input_shape)
    outputs = runtime.run(batch)
    return {
        "predictions": [
            {"file": os.fspath(f), "top_k": top_k(row, k, labels)} for f, row in zip(files, outputs)
        ]
    }
