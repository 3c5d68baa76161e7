"""Benchmark exported models: onnxruntime, LiteRT and Keras, side by side, on this machine.

Method (what a reader of the numbers should know):

* Every configuration (artifact x threads x batch) gets its own session, loaded
  and warmed up before timing starts. A call is ``Runtime.invoke`` on the
  model's input tensor: for a TFLite model with int8 input, quantising float
  pixels into it (``Runtime.prepare``) is not timed, as a camera pipeline hands
  over integer pixels (0-255 -> int8 is ``pixel - 128`` at the calibrated scale 1).
* Timing runs in **interleaved rounds**, so a burst of load from another
  process hits every configuration alike instead of one. In each round every
  configuration gets one untimed call (its thread pool and caches warm again
  after the others ran) and then a burst of consecutive timed calls; ``runs``
  timed calls per configuration in all, over up to ``ROUNDS`` rounds.
  Switching configuration on every single call measures cold thread pools, not
  the model: MobileNetV2 in LiteRT on 2 threads timed 8.8 ms that way against
  3.9 ms in steady state. Latency statistics (median, p90, p99) are over the
  timed calls; throughput is ``batch / median``.
* ``peak_memory_bytes`` is the growth of the peak resident set size (Linux
  ``VmHWM``) while loading the model and running the warm-up: native
  allocations of onnxruntime, LiteRT and TensorFlow included, which
  ``tracemalloc`` cannot see. ONNX and TFLite artifacts are measured in a
  fresh child process (after its imports), so memory freed by earlier
  sessions cannot hide the cost; the Keras model in this process (TensorFlow
  takes seconds to import). ``None`` where Linux's ``/proc`` is unavailable.
* The **physical-limit column**: the float32 GEMM rate numpy (OpenBLAS)
  reaches on the same cores, and the uint8 x int8 GEMM rate of onnxruntime's
  ``MatMulInteger``, measured in the same run (before and after the rounds,
  the better kept), for each thread count.
  ``bound_ms = 2 * MACs * batch / peak`` with the peak matching the artifact's
  arithmetic (int8 for ``int8`` and ``dynamic``): no runtime computing the
  model's multiply-adds that way can be faster. With AVX-512 VNNI int8 does
  about 4x the float32 work per cycle; without it (``cpu_flags``) about 1.6x.
  MACs per image are counted from the model graph (convolutions and dense
  layers; the rest is negligible for CNNs).
* The Keras model (``.keras`` in the folder) runs through ``predict_on_batch``
  and through a ``tf.function`` graph, at one thread count: TensorFlow's
  thread pools can only be set before it starts, so it uses the largest
  ``--threads`` value (or whatever the process already configured).
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from kerascnn.runtime import infer
from kerascnn.core.errors import DataNotFoundError, UsageError
from kerascnn.core.quiet import import_tensorflow_quietly
from kerascnn.nn.saving import load_model

#: Suffix -> runtime name in the report.
RUNTIMES = {".onnx": "onnxruntime", ".tflite": "litert", ".keras": "keras"}
KERAS_MODES = ("keras-predict_on_batch", "keras-tf.function")
ROUNDS = 10  # interleaved rounds; each times a burst of consecutive calls per configuration


@dataclasses.dataclass
class Artifact:
    """A model file to benchmark."""

    path: Path
    runtime: str  # onnxruntime | litert | keras
    precision: str  # fp32 | fp16 | dynamic | int8
    size_bytes: int
    macs: int | None = None  # multiply-accumulates per image


# --------------------------------------------------------------------------- #
# Discovery, precision and MAC counting
# --------------------------------------------------------------------------- #


def discover(paths: Iterable[str | os.PathLike]) -> list[Artifact]:
    """Artifacts in the given folders (``*.onnx``, ``*.tflite``, ``*.keras``) and files.

    Precision comes from ``manifest.json`` beside the file when there is one,
    otherwise from the model graph. MACs per image are counted from the graph;
    a Keras model takes the count of an fp32 artifact beside it.
    """
    files: list[Path] = []
    for entry in paths:
        entry = Path(entry)
        if entry.is_dir():
            found = sorted(p for p in entry.iterdir() if p.suffix.lower() in RUNTIMES and p.is_file())
            if not found:
                raise DataNotFoundError(f"No .onnx, .tflite or .keras model in {entry}")
            files.extend(found)
        elif entry.is_file():
            if entry.suffix.lower() not in RUNTIMES:
                raise UsageError(
                    f"Unknown model format {entry.suffix or '(no suffix)'!r} for {entry}; "
                    f"expected one of {', '.join(RUNTIMES)}."
                )
            files.append(entry)
        else:
            raise DataNotFoundError(f"Model file or folder not found: {entry}")
    if not files:
        raise UsageError("No model to benchmark.")

    artifacts = []
    for path in dict.fromkeys(files):  # de-duplicate, keep order
        if path.stat().st_size == 0:
            raise UsageError(f"Model file {path} is empty.")
        runtime = RUNTIMES[path.suffix.lower()]
        precision = _manifest_precision(path) or _graph_precision(path, runtime)
        macs = count_macs(path) if runtime != "keras" else None
        artifacts.append(Artifact(path, runtime, precision, path.stat().st_size, macs))
    for artifact in artifacts:
        if artifact.macs is None:  # a Keras model without an fp32 sibling is counted once loaded
            siblings = [
                a.macs for a in artifacts if a.path.parent == artifact.path.parent and a.macs and a.precision == "fp32"
            ]
            artifact.macs = siblings[0] if siblings else None
    return artifacts


def _manifest_precision(path: Path) -> str | None:
    manifest_path = path.parent / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    for entry in manifest.get("artifacts", []):
        if isinstance(entry, dict) and Path(str(entry.get("file", ""))).name == path.name:
            return entry.get("precision")
    return None


def _graph_precision(path: Path, runtime: str) -> str:
    if runtime == "keras":
        return "fp32"
    if runtime == "onnxruntime":
        model = _load_onnx(path)
        ops = {node.op_type for node in model.graph.node}
        if "DynamicQuantizeLinear" in ops:
            return "dynamic"
        if ops & {"QuantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger"}:
            return "int8"
        if any(init.data_type == 10 for init in model.graph.initializer):  # FLOAT16
            return "fp16"
        return "fp32"
    interpreter = infer.load_tflite_interpreter(path, threads=1)
    dtypes = [np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()]
    if np.dtype(np.float16) in dtypes:
        return "fp16"
    integer = sum(d in (np.dtype(np.int8), np.dtype(np.uint8)) for d in dtypes)
    if not integer:
        return "fp32"
    # Dynamic-range models keep float activations; full-integer ones are mostly int8.
    return "int8" if integer > sum(d == np.dtype(np.float32) for d in dtypes) else "dynamic"


def _load_onnx(path: Path):
    import onnx

    try:
        return onnx.load(os.fspath(path))
    except Exception as err:
        raise UsageError(f"Cannot load {path} as an ONNX model: {infer._first_line(err)}") from None


def count_macs(path: str | os.PathLike) -> int | None:
    """Multiply-accumulates per image of an ``.onnx`` or ``.tflite`` model (conv + dense)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return _onnx_macs(path)
    if suffix == ".tflite":
        return _tflite_macs(path)
    return None


def _onnx_macs(path: Path) -> int | None:
    import onnx

    model = onnx.shape_inference.infer_shapes(_load_onnx(path))
    graph = model.graph
    shapes: dict[str, list[int]] = {}
    for value in [*graph.input, *graph.value_info, *graph.output]:
        dims = value.type.tensor_type.shape.dim
        # Symbolic batch dimension -> 1 image.
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else 1 for d in dims]
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)

    def shape(name):
        return shapes.get(name)

    # Where the weight of each kind of node sits among its inputs.
    conv_weight = {"Conv": 1, "ConvInteger": 1, "QLinearConv": 3}
    matmul_operands = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3), "Gemm": (0, 1)}
    total = 0
    for node in graph.node:
        out = shape(node.output[0]) if node.output else None
        if node.op_type in conv_weight:
            weight = shape(node.input[conv_weight[node.op_type]])
            if not out or not weight:
                continue
            total += int(np.prod(out)) * int(np.prod(weight[1:]))
        elif node.op_type in matmul_operands:
            a = shape(node.input[matmul_operands[node.op_type][0]])
            if not out or not a:
                continue
            trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
            k = a[-2] if trans_a else a[-1]
            total += int(np.prod(out)) * int(k)
    return total or None


def _tflite_macs(path: Path) -> int | None:
    interpreter = infer.load_tflite_interpreter(path, threads=1)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    total = 0
    for op in interpreter._get_ops_details():  # public API lists no per-op details
        name = op["op_name"]
        if name not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        out = tensors[op["outputs"][0]]["shape"]
        weight = tensors[op["inputs"][1]]["shape"]
        per_output = {
            "CONV_2D": np.prod(weight[1:]),  # [O, kh, kw, I]
            "DEPTHWISE_CONV_2D": np.prod(weight[1:3]),  # [1, kh, kw, C*m]
            "FULLY_CONNECTED": weight[-1],  # [O, I]
        }[name]
        total += int(np.prod(out[1:])) * int(per_output)
    return total or None


def _keras_macs(model) -> int | None:
    """MACs per image of a Keras model, from the lecture-style summary (``kerascnn.analysis.summary``)."""
    from kerascnn.analysis.summary import summarize

    try:
        return int(summarize(model).macs) or None
    except ValueError:  # a model the summary cannot walk must not stop the benchmark
        return None


# --------------------------------------------------------------------------- #
# Machine facts: GEMM peak, memory, CPU
# --------------------------------------------------------------------------- #


def gemm_peak_gflops(threads: int, seconds: float = 0.4, sizes: Sequence[int] = (512, 1024)) -> float:
    """Best float32 matrix-multiply rate numpy reaches on ``threads`` cores, in GFLOP/s."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    best = 0.0
    with threadpool_limits(limits=int(threads), user_api="blas"):
        for n in sizes:
            a = rng.standard_normal((n, n), dtype=np.float32)
            b = rng.standard_normal((n, n), dtype=np.float32)
            best = max(best, _best_rate(lambda: a @ b, 2.0 * n**3, seconds / len(sizes)))
    return best


def int8_gemm_peak_gops(threads: int, seconds: float = 0.4, sizes: Sequence[int] = (512, 1024)) -> float:
    """Best uint8 x int8 -> int32 matrix-multiply rate of onnxruntime (``MatMulInteger``), in GOP/s.

    The same MLAS kernels run onnxruntime's quantised convolutions, so this is
    the int8 counterpart of :func:`gemm_peak_gflops`. How far it exceeds the
    float32 peak depends on the CPU: 4x the multiply-adds per instruction with
    AVX-512 VNNI (``vpdpbusd``), far less without (``vpmaddubsw`` + ``vpmaddwd``).
    """
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    options = infer.onnx_session_options(threads)
    best = 0.0
    for n in sizes:
        weight = numpy_helper.from_array(rng.integers(-64, 64, (n, n), dtype=np.int8), "b")
        graph = helper.make_graph(
            [helper.make_node("MatMulInteger", ["a", "b"], ["y"])], "int8_gemm",
            [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n])],
            [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])], [weight],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feed = {"a": rng.integers(0, 256, (n, n), dtype=np.uint8)}
        best = max(best, _best_rate(lambda: session.run(None, feed), 2.0 * n**3, seconds / len(sizes)))
    return best


def _best_rate(call: Callable[[], object], operations: float, seconds: float) -> float:
    """Best ``operations / call time`` (in G/s) over repeated calls for ``seconds``, after one warm-up."""
    call()  # warm-up: threads started, pages touched
    best = 0.0
    deadline = time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        call()
        best = max(best, operations / (time.perf_counter() - start) / 1e9)
        if time.perf_counter() > deadline:
            return best


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak-RSS growth over a block (Linux; ``bytes`` is ``None`` elsewhere)."""

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")  # reset VmHWM (peak RSS) to the current RSS
            self._start = _status_kb("VmRSS")
        except OSError:
            self._start = None
        self.bytes = None
        return self

    def __exit__(self, *exc):
        peak = _status_kb("VmHWM")
        if self._start is not None and peak is not None:
            self.bytes = max(0, peak - self._start)
        return False


_CHILD_MEMORY = """
import sys
import numpy as np
from kerascnn import bench
from kerascnn.runtime import infer
with bench.PeakMemory() as memory:
    runtime = infer.load_runtime(sys.argv[1], threads=int(sys.argv[2]))
    tensor = runtime.prepare(np.zeros((int(sys.argv[3]), *runtime.input_shape), np.float32))
    for _ in range(3):
        runtime.invoke(tensor)
print(memory.bytes)
"""


def _child_peak_memory(path: Path, threads: int, batch: int) -> int | None:
    """Peak-RSS growth of loading + running ``path`` in a fresh Python process."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _CHILD_MEMORY, os.fspath(path), str(threads), str(batch)],
        capture_output=True, text=True, timeout=300,
    )
    last = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    return int(last[0]) if last and last[0].isdigit() else None


def machine_info() -> dict:
    """CPU, core count, SIMD flags, load and library versions, for the report."""
    cpu = platform.processor() or platform.machine()
    flags: list[str] = []
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name") and cpu in ("", platform.machine(), "x86_64"):
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags"):
                    all_flags = set(line.split(":", 1)[1].split())
                    wanted = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
                    flags = [f for f in wanted if f in all_flags]
                    break
    except OSError:
        pass
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for module in ("onnxruntime", "ai_edge_litert", "onnx", "tensorflow", "keras"):
        if module in ("tensorflow", "keras") and module not in sys.modules:
            continue  # never import TensorFlow just to print its version
        try:
            versions[module] = getattr(__import__(module), "__version__", "unknown")
        except ImportError:
            pass
    return {
        "cpu": cpu,
        "cores": infer.default_threads(),
        "cpu_flags": flags,
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": versions,
    }


# --------------------------------------------------------------------------- #
# Runners
# --------------------------------------------------------------------------- #


def _keras_threads(requested: int) -> int:
    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(requested)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started: keep its pools
        pass
    return tf.config.threading.get_intra_op_parallelism_threads() or infer.default_threads()


@dataclasses.dataclass
class _Config:
    artifact: Artifact
    runtime: str
    threads: int
    batch: int
    call: Callable[[], object] = dataclasses.field(repr=False, default=None)
    peak_memory_bytes: int | None = None
    times: list = dataclasses.field(default_factory=list)


def _make_call(artifact: Artifact, runtime: str, threads: int, batch: int, keras_cache: dict):
    """Load ``artifact`` for one configuration; return a zero-argument function running one batch."""
    if artifact.runtime == "keras":
        import tensorflow as tf

        model = keras_cache.get(artifact.path)
        if model is None:
            model = keras_cache[artifact.path] = load_model(artifact.path)
            if artifact.macs is None:
                artifact.macs = _keras_macs(model)
        shape = tuple(int(d) for d in model.inputs[0].shape[1:])
        x = tf.constant(_example_batch(batch, shape))
        if runtime == "keras-predict_on_batch":
            return lambda: model.predict_on_batch(x)
        graph = tf.function(lambda images: model(images, training=False))
        return lambda: graph(x)
    session = infer.load_runtime(artifact.path, threads=threads)
    tensor = session.prepare(_example_batch(batch, session.input_shape))
    return lambda: session.invoke(tensor)


def _example_batch(batch: int, shape: Sequence[int]) -> np.ndarray:
    # Raw pixels in 0-255 like a real image; values do not change CNN timing.
    return np.random.default_rng(0).uniform(0, 255, size=(batch, *shape)).astype(np.float32)


# --------------------------------------------------------------------------- #
# The benchmark
# --------------------------------------------------------------------------- #


def benchmark(
    paths: Iterable[str | os.PathLike],
    *,
    batches: Sequence[int] = (1, 8),
    threads: Sequence[int] | None = None,
    runs: int = 50,
    warmup: int = 5,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Benchmark every artifact under ``paths``; returns the report (see module docstring).

    Args:
        paths: folders (every ``.onnx``/``.tflite``/``.keras`` inside) and model files.
        batches: batch sizes to time.
        threads: CPU thread counts (default: ``1`` and all cores).
        runs: timed calls per configuration, spread over up to ``ROUNDS`` interleaved rounds.
        warmup: untimed calls per configuration before the rounds.
        progress: called with one-line status messages.

    Returns:
        ``{"results": [...], "machine": {...}, "settings": {...}}``; each
        result has ``runtime, precision, file, threads, batch, median_ms,
        p90_ms, p99_ms, throughput, size_bytes, peak_memory_bytes, macs,
        gflops, gemm_peak_gflops, bound_ms, peak_fraction, runs``.
    """
    say = progress or (lambda message: None)
    batches = sorted({int(b) for b in batches})
    threads = sorted({int(t) for t in (threads or {1, infer.default_threads()})})
    if not batches or min(batches) < 1 or not threads or min(threads) < 1 or runs < 1 or warmup < 0:
        raise UsageError(
            f"batches, threads and runs must be positive. Received: batches={batches}, "
            f"threads={threads}, runs={runs}, warmup={warmup}"
        )
    artifacts = discover(paths)

    configs: list[_Config] = []
    keras_cache: dict = {}
    for artifact in artifacts:
        if artifact.runtime == "keras":
            keras_threads = _keras_threads(max(threads))
            plan = [(mode, keras_threads, b) for mode in KERAS_MODES for b in batches]
        else:
            plan = [(artifact.runtime, t, b) for t in threads for b in batches]
        for runtime, n_threads, batch in plan:
            say(f"loading {artifact.path.name} ({runtime}, {n_threads} threads, batch {batch})")
            config = _Config(artifact, runtime, n_threads, batch)
            with PeakMemory() as memory:
                config.call = _make_call(artifact, runtime, n_threads, batch, keras_cache)
                for _ in range(max(1, warmup)):
                    config.call()
            config.peak_memory_bytes = (
                memory.bytes if artifact.runtime == "keras" else _child_peak_memory(artifact.path, n_threads, batch)
            )
            configs.append(config)

    thread_counts = sorted({c.threads for c in configs})
    peaks = {t: gemm_peak_gflops(t) for t in thread_counts}
    int8_peaks = {t: int8_gemm_peak_gops(t) for t in thread_counts}
    say("GEMM peak: " + ", ".join(
        f"{t} threads {peaks[t]:.0f} GFLOP/s float32 (numpy), {int8_peaks[t]:.0f} GOP/s int8 (onnxruntime)"
        for t in thread_counts))

    load_start = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    rounds = min(ROUNDS, runs)
    say(f"timing {len(configs)} configurations x {runs} calls in {rounds} interleaved rounds")
    clock = time.perf_counter
    for round_index in range(rounds):
        burst = runs // rounds + (1 if round_index < runs % rounds else 0)
        for config in configs:
            config.call()  # untimed: wake this configuration's threads after the others ran
            for _ in range(burst):
                start = clock()
                config.call()
                config.times.append(clock() - start)
    # Measured again after the rounds, keeping the better: a burst of load from
    # another process must not lower the physical limit.
    peaks = {t: max(p, gemm_peak_gflops(t)) for t, p in peaks.items()}
    int8_peaks = {t: max(p, int8_gemm_peak_gops(t)) for t, p in int8_peaks.items()}

    results = [_summarise(c, peaks[c.threads], int8_peaks[c.threads]) for c in configs]
    machine = machine_info()  # after loading, so TensorFlow's version shows when it ran
    machine["gemm_peak_gflops"] = {str(t): round(p, 1) for t, p in peaks.items()}
    machine["int8_gemm_peak_gops"] = {str(t): round(p, 1) for t, p in int8_peaks.items()}
    machine["load_average_start"] = load_start
    return {
        "results": results,
        "machine": machine,
        "settings": {
            "runs": runs,
            "warmup": warmup,
            "batches": batches,
            "threads": threads,
            "memory": "peak RSS growth (VmHWM) while loading and warming up; ONNX/TFLite in a child process",
        },
    }


#: Precisions whose convolutions run integer arithmetic: compared with the int8 GEMM peak.
INTEGER_PRECISIONS = ("int8", "dynamic")


def _summarise(config: _Config, peak_gflops: float, int8_peak_gops: float) -> dict:
    times_ms = np.asarray(config.times) * 1e3
    median = float(np.median(times_ms))
    macs = config.artifact.macs
    flops = 2.0 * macs * config.batch if macs else None
    limit = int8_peak_gops if config.artifact.precision in INTEGER_PRECISIONS else peak_gflops
    return {
        "runtime": config.runtime,
        "precision": config.artifact.precision,
        "file": os.fspath(config.artifact.path),
        "threads": config.threads,
        "batch": config.batch,
        "median_ms": round(median, 6),
        "p90_ms": round(float(np.percentile(times_ms, 90)), 6),
        "p99_ms": round(float(np.percentile(times_ms, 99)), 6),
        "throughput": round(config.batch / (median / 1e3), 2),
        "size_bytes": config.artifact.size_bytes,
        "peak_memory_bytes": config.peak_memory_bytes,
        "macs": macs,
        "gflops": round(flops / (median / 1e3) / 1e9, 2) if flops else None,
        "gemm_peak_gflops": round(peak_gflops, 1),
        "int8_gemm_peak_gops": round(int8_peak_gops, 1),
        "bound_ms": round(flops / (limit * 1e9) * 1e3, 6) if flops else None,
        "peak_fraction": round(flops / (median / 1e3) / 1e9 / limit, 3) if flops else None,
        "runs": len(config.times),
    }


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #


def result_label(result: dict) -> str:
    """``"model_int8.onnx onnxruntime t2 b1"``: one configuration, for tables and plots."""
    runtime = result["runtime"]
    return f"{Path(result['file']).name} {runtime} t{result['threads']} b{result['batch']}"


def format_table(report: dict) -> str:
    """The report as a fixed-width text table, fastest first within each batch size."""
    header = (
        f"{'file':<28} {'runtime':<22} {'prec':<7} {'thr':>3} {'batch':>5} {'median ms':>10} "
        f"{'p90 ms':>8} {'p99 ms':>8} {'img/s':>9} {'size':>9} {'mem MB':>7} {'GFLOP/s':>8} {'%peak':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in sorted(report["results"], key=lambda r: (r["batch"], r["median_ms"])):
        memory = f"{r['peak_memory_bytes'] / 2**20:.1f}" if r["peak_memory_bytes"] is not None else "-"
        gflops = f"{r['gflops']:.1f}" if r["gflops"] is not None else "-"
        fraction = f"{100 * r['peak_fraction']:.0f}%" if r["peak_fraction"] is not None else "-"
        lines.append(
            f"{Path(r['file']).name[:28]:<28} {r['runtime']:<22} {r['precision']:<7} {r['threads']:>3} "
            f"{r['batch']:>5} {r['median_ms']:>10.3f} {r['p90_ms']:>8.3f} {r['p99_ms']:>8.3f} "
            f"{r['throughput']:>9.1f} {_size(r['size_bytes']):>9} {memory:>7} {gflops:>8} {fraction:>6}"
        )
    machine = report["machine"]
    peaks = ", ".join(f"{t} thr {p:.0f} GFLOP/s" for t, p in machine.get("gemm_peak_gflops", {}).items())
    int8_peaks = ", ".join(f"{t} thr {p:.0f} GOP/s" for t, p in machine.get("int8_gemm_peak_gops", {}).items())
    load = f"; load average {machine['load_average'][0]:.2f}" if machine.get("load_average") else ""
    lines.append(f"machine: {machine['cpu']}, {machine['cores']} cores; GEMM peak float32 {peaks}; "
                 f"int8 {int8_peaks} (%peak: against the one matching the artifact's arithmetic){load}")
    return "\n".join(lines)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def plot(report: dict, path: str | os.PathLike, batch: int | None = None) -> str:
    """Bar chart of median latency per configuration (one batch size) as PNG."""
    from kerascnn.analysis.plots import plot_bars

    batch = batch if batch is not None else min(r["batch"] for r in report["results"])
    rows = sorted((r for r in report["results"] if r["batch"] == batch), key=lambda r: r["median_ms"])
    return plot_bars(
        [result_label(r) for r in rows],
        [r["median_ms"] for r in rows],
        path,
        xlabel=f"median latency, ms (batch {batch})",
        title="kerascnn bench: " + report["machine"]["cpu"],
    )
