"""Exported models in their own runtimes: onnxruntime for ``.onnx``, LiteRT for ``.tflite``.

A :class:`Runtime` wraps one artifact behind one interface (``prepare`` /
``invoke`` / ``run``), whatever the runtime and whatever the model's single
input: images ``(H, W, C)``, token ids ``(T,)``, volumes ``(D, H, W, C)`` ...
Its :attr:`~Runtime.input_shape` and :attr:`~Runtime.input_dtype` are what the
model declares; the Task (:mod:`kerascnn.tasks`) decides how files become such
inputs and what the outputs mean.

Settings follow the runtimes' own performance guides: onnxruntime's
"Threading" and "Graph optimizations" pages, LiteRT's XNNPACK delegate.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError, first_line
from kerascnn.core.layout import FORMAT_SUFFIXES, format_of
from kerascnn.core.quiet import native_output_captured
from kerascnn.runtime.manifest import resolve_model

#: onnxruntime's type names of the input tensors kerascnn models declare.
_ONNX_DTYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
}


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
    fmt = format_of(path)
    if fmt not in _RUNTIMES:
        runnable = ", ".join(s for s, f in FORMAT_SUFFIXES.items() if f in _RUNTIMES)
        hint = " (Keras models are run with `kerascnn bench`.)" if fmt == "keras" else ""
        raise UsageError(
            f"Unknown model format {Path(path).suffix or '(no suffix)'!r} for {path}; expected {runnable}.{hint}"
        )
    return fmt


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
    path = _check_model_file(path)
    import onnxruntime as ort

    try:
        return ort.InferenceSession(
            os.fspath(path), sess_options=onnx_session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # onnxruntime raises its own Fail/InvalidProtobuf types
        raise UsageError(f"Cannot load {path} as an ONNX model: {first_line(err)}") from None


def load_tflite_interpreter(path: str | os.PathLike, threads: int | None = None):
    """An ``ai_edge_litert`` interpreter with ``threads`` XNNPACK threads, tensors allocated.

    LiteRT applies its XNNPACK delegate by default (fp32, fp16 and int8
    kernels); ``num_threads`` sets its thread pool. LiteRT prints "INFO: Created
    TensorFlow Lite XNNPACK delegate for CPU." straight to file descriptor 2 when
    the tensors are first allocated; it is captured (replayed only if loading fails).

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
        with native_output_captured():
            interpreter = Interpreter(model_path=os.fspath(path), num_threads=int(threads or default_threads()))
            interpreter.allocate_tensors()
    except Exception as err:
        raise UsageError(f"Cannot load {path} as a TFLite model: {first_line(err)}") from None
    return interpreter


def _fixed_input_shape(path: Path, shape) -> tuple[int, ...]:
    """The declared input dims without the batch; all must be fixed positive sizes."""
    dims = list(shape)[1:]
    if not dims or not all(isinstance(d, (int, np.integer)) and d > 0 for d in dims):
        raise UsageError(
            f"{path} has no fixed input shape (declared {list(shape)}); "
            f"kerascnn runs models whose input sizes are fixed apart from the batch."
        )
    return tuple(int(d) for d in dims)


class Runtime:
    """One exported model in its own runtime, with a uniform interface.

    Attributes:
        path: the model file.
        format: ``"onnx"`` or ``"tflite"``.
        threads: CPU threads the runtime uses.
        input_name: name of the model's single input.
        input_shape: the declared input dims without the batch, any rank
            (``(H, W, C)`` for an image classifier, ``(T,)`` for token ids).
        input_dtype: numpy dtype of the model's input tensor: float32, an
            integer type for token ids, or int8/uint8 for a full-integer TFLite
            model with integer I/O, whose input :meth:`prepare` quantises with
            the tensor's scale and zero point.
    """

    format = ""
    input_name = ""
    input_shape: tuple[int, ...] = ()
    input_dtype = np.dtype(np.float32)

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        self.path = Path(path)
        self.threads = int(threads or default_threads())

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Run a batch of raw inputs (pixels 0-255, token ids ...); float32 outputs ``(N, ...)``.

        kerascnn classifiers end in a softmax, so their outputs are probabilities.
        ``run(x)`` is ``invoke(prepare(x))``.
        """
        return self.invoke(self.prepare(batch))

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        """Check a batch of raw inputs (or one input) and convert it to the model's input tensor."""
        batch = self._batched(batch)
        if self.input_dtype.kind == "f":
            return batch.astype(self.input_dtype, copy=False)
        if batch.dtype.kind == "f":  # token ids carried as floats
            batch = np.rint(batch)
        return batch.astype(self.input_dtype)

    def _batched(self, batch: np.ndarray) -> np.ndarray:
        """``batch`` as an array with a leading batch axis; ``UsageError`` on a wrong input shape."""
        batch = np.asarray(batch)
        if batch.ndim == len(self.input_shape):
            batch = batch[None]
        if tuple(batch.shape[1:]) != tuple(self.input_shape):
            raise UsageError(
                f"{self.path.name} expects inputs of shape {tuple(self.input_shape)}; "
                f"received a batch of shape {tuple(batch.shape)}."
            )
        return batch

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run a prepared input tensor; float32 outputs (what the benchmark times)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({os.fspath(self.path)!r}, threads={self.threads})"


def _single_input(path: Path, inputs: list):
    """The one input of a model (kerascnn's models have one), or a one-line error."""
    if len(inputs) != 1:
        raise UsageError(f"{path} has {len(inputs)} inputs; kerascnn runs models with one input.")
    return inputs[0]


class OnnxRuntime(Runtime):
    """An ``.onnx`` model in onnxruntime (see :func:`onnx_session_options`)."""

    format = "onnx"

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        super().__init__(path, threads)
        self.session = load_onnx_session(self.path, threads=self.threads)
        spec = _single_input(self.path, self.session.get_inputs())
        if spec.type not in _ONNX_DTYPES:
            raise UsageError(f"{self.path} takes {spec.type} inputs, which kerascnn cannot feed.")
        self.input_name = spec.name
        self.input_shape = _fixed_input_shape(self.path, spec.shape)
        self.input_dtype = np.dtype(_ONNX_DTYPES[spec.type])
        self.output_name = self.session.get_outputs()[0].name

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        (out,) = self.session.run([self.output_name], {self.input_name: tensor})
        return np.asarray(out, dtype=np.float32)


class TFLiteRuntime(Runtime):
    """A ``.tflite`` model in the LiteRT interpreter (XNNPACK, ``threads`` threads).

    The batch dimension is resized on demand with ``resize_tensor_input``;
    quantised integer inputs/outputs are (de)quantised with the tensor's scale
    and zero point.
    """

    format = "tflite"

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        super().__init__(path, threads)
        self.interpreter = load_tflite_interpreter(self.path, threads=self.threads)
        self._input = _single_input(self.path, self.interpreter.get_input_details())
        self._output = self.interpreter.get_output_details()[0]
        self.input_name = self._input["name"]
        declared = self._input.get("shape_signature")
        declared = self._input["shape"] if declared is None or not len(declared) else declared
        self.input_shape = _fixed_input_shape(self.path, [int(d) for d in declared])
        self.input_dtype = np.dtype(self._input["dtype"])
        self._batch = int(self._input["shape"][0])

    @property
    def _quantised_input(self) -> bool:
        scale, _ = self._input["quantization"]
        return self.input_dtype.kind in "iu" and scale != 0

    def _resize(self, batch_size: int) -> None:
        if batch_size != self._batch:
            self.interpreter.resize_tensor_input(self._input["index"], [batch_size, *self.input_shape])
            with native_output_captured():
                self.interpreter.allocate_tensors()
            self._batch = batch_size

    def prepare(self, batch: np.ndarray) -> np.ndarray:
        """Raw inputs -> the input tensor; quantised with its (scale, zero point) for int8/uint8 input."""
        if not self._quantised_input:
            return super().prepare(batch)
        batch = self._batched(batch).astype(np.float32)
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
            if scale:
                out = (out.astype(np.float32) - zero_point) * scale
        return np.asarray(out, dtype=np.float32)


_RUNTIMES = {"onnx": OnnxRuntime, "tflite": TFLiteRuntime}


def load_runtime(path: str | os.PathLike, threads: int | None = None, *, artifact: str | None = None) -> Runtime:
    """Open a model in its runtime: a :class:`Runtime`.

    Args:
        path: an ``.onnx`` or ``.tflite`` file, or an export folder (its
            float32 ONNX model, else the first artifact its manifest lists).
        threads: CPU threads (default: all cores of this process).
        artifact: with an export folder, the file name of the artifact to run.
    """
    path = resolve_model(path, artifact)
    return _RUNTIMES[model_format(path)](path, threads=threads)
