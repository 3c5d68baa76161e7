"""Timing: one configuration per artifact x threads x batch, timed in interleaved rounds.

Method (what a reader of the numbers should know):

* Every configuration gets its own session, loaded and warmed up before timing
  starts. A call is ``Runtime.invoke`` on the model's input tensor, made from
  the inputs of the artifact's Task (:meth:`kerascnn.tasks.Task.example_inputs`,
  the task named in ``manifest.json``) in the shape and dtype the runtime
  reports; converting them into that tensor (``Runtime.prepare``, e.g.
  quantising float pixels for an int8-input TFLite model) is not timed, as a
  camera pipeline hands over integer pixels.
* Timing runs in **interleaved rounds**, so a burst of load from another
  process hits every configuration alike instead of one. In each round every
  configuration gets one untimed call (its thread pool and caches warm again
  after the others ran) and then a burst of consecutive timed calls; ``runs``
  timed calls per configuration in all, over up to :data:`ROUNDS` rounds.
  Switching configuration on every single call measures cold thread pools, not
  the model: MobileNetV2 in LiteRT on 2 threads timed 8.8 ms that way against
  3.9 ms in steady state.
* ``peak_memory_bytes`` is the growth of the peak resident set size while
  loading the model and running the warm-up (:class:`~kerascnn.bench.machine.PeakMemory`).
  ONNX and TFLite artifacts are measured in a fresh child process (after its
  imports), so memory freed by earlier sessions cannot hide the cost; the
  Keras model in this process (TensorFlow takes seconds to import).
* The GEMM peaks (:class:`~kerascnn.bench.machine.GemmPeaks`) are measured
  before and after the rounds, for each thread count, and the better of the two
  kept: a burst of load from another process must not lower the physical
  limit. That one value per thread count is what the progress line, the
  table, the JSON ``machine`` section and every row's bound show.
* Start-up is reported as ``onnxruntime_perf_test`` and LiteRT's
  ``benchmark_model`` do: ``init_ms`` (creating the session or interpreter;
  for a Keras model, loading it, once per file), ``first_inference_ms`` (the
  first call: lazy allocation, packing of weights, ``tf.function`` tracing) and
  ``warmup_ms`` (mean of the other warm-up calls); the steady state is the
  timed calls: ``min_ms`` (as ``benchmark_model``), ``mean_ms``, ``std_ms``,
  ``median_ms`` (p50), ``p90_ms``, ``p95_ms``, ``p99_ms``.
* The memory bandwidths (DRAM and last-level cache) are measured with the GEMM
  peaks, before and after the rounds; ``bound_ms`` is the roofline bound of
  :mod:`kerascnn.bench.roofline`.
* The Keras model (``.keras``) runs through ``predict_on_batch`` and through a
  ``tf.function`` graph, at one thread count: TensorFlow's thread pools can
  only be set before it starts, so it uses the largest ``threads`` value (or
  whatever the process already configured).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from kerascnn import runtime, tasks
from kerascnn.bench import macs
from kerascnn.bench.discover import Artifact, discover
from kerascnn.bench.machine import GemmPeaks, PeakMemory, load_average, machine_info
from kerascnn.bench.report import summarise
from kerascnn.core.errors import UsageError

KERAS_MODES = ("keras-predict_on_batch", "keras-tf.function")
ROUNDS = 10  # interleaved rounds; each times a burst of consecutive calls per configuration


@dataclasses.dataclass
class Config:
    """One timed configuration: an artifact in a runtime mode at a thread count and batch size."""

    artifact: Artifact
    runtime: str
    threads: int
    batch: int
    call: Callable[[], object] = dataclasses.field(repr=False, default=None)
    peak_memory_bytes: int | None = None
    times: list = dataclasses.field(default_factory=list)
    init_seconds: float | None = None  # loading the model into the runtime (session / interpreter creation)
    first_seconds: float | None = None  # the first call
    warmup_times: list = dataclasses.field(default_factory=list)  # the other untimed calls before the rounds


def example_inputs(task: str, input_shape: Sequence[int], batch: int) -> np.ndarray:
    """``batch`` inputs of ``input_shape`` from the Task (values rarely change CNN timing; shapes do)."""
    return tasks.get(task).example_inputs(tuple(input_shape), batch, np.random.default_rng(0))


def runtime_call(path: str | os.PathLike, threads: int, batch: int, task: str = tasks.DEFAULT):
    """Load an ``.onnx``/``.tflite`` file; return a zero-argument function running one prepared batch."""
    session = runtime.load_runtime(path, threads=threads)
    tensor = session.prepare(example_inputs(task, session.input_shape, batch))
    return lambda: session.invoke(tensor)


def keras_call(model, mode: str, batch: int, task: str = tasks.DEFAULT):
    """A zero-argument function running one batch through a Keras model (``KERAS_MODES``)."""
    import tensorflow as tf

    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    dtype = getattr(model.inputs[0].dtype, "name", model.inputs[0].dtype)
    x = tf.constant(np.asarray(example_inputs(task, shape, batch)).astype(dtype))
    if mode == "keras-predict_on_batch":
        return lambda: model.predict_on_batch(x)
    graph = tf.function(lambda inputs: model(inputs, training=False))
    return lambda: graph(x)


def keras_threads(requested: int) -> int:
    """Set TensorFlow's thread pools to ``requested`` if it has not started yet; the count it uses."""
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(requested)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started: keep its pools
        pass
    return tf.config.threading.get_intra_op_parallelism_threads() or runtime.default_threads()


_CHILD_MEMORY = """
import sys
from kerascnn.bench.machine import PeakMemory
from kerascnn.bench.timing import runtime_call
with PeakMemory() as memory:
    call = runtime_call(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    for _ in range(3):
        call()
print(memory.bytes)
"""


def child_peak_memory(artifact: Artifact, threads: int, batch: int) -> int | None:
    """Peak-RSS growth of loading and running ``artifact`` in a fresh Python process."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD_MEMORY, os.fspath(artifact.path), str(threads), str(batch), artifact.task],
        capture_output=True, text=True, timeout=300,
    )
    last = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
    return int(last[0]) if last and last[0].isdigit() else None


def _prepare(artifact: Artifact, mode: str, threads: int, batch: int, warmup: int, keras_models: dict) -> Config:
    """Load one configuration (``mode``: the runtime, or one of ``KERAS_MODES``), warm it up, measure its memory."""
    config = Config(artifact, mode, threads, batch)
    clock = time.perf_counter
    with PeakMemory() as memory:
        start = clock()
        if artifact.runtime == "keras":
            from kerascnn.nn.saving import load_model

            model = keras_models.get(artifact.path)
            if model is None:
                model = keras_models[artifact.path] = load_model(artifact.path)
                if artifact.macs is None:
                    artifact.macs = macs.keras_macs(model)
            config.call = keras_call(model, mode, batch, artifact.task)
        else:
            config.call = runtime_call(artifact.path, threads, batch, artifact.task)
        config.init_seconds = clock() - start
        for index in range(max(1, warmup)):
            start = clock()
            config.call()
            if index == 0:
                config.first_seconds = clock() - start
            else:
                config.warmup_times.append(clock() - start)
    config.peak_memory_bytes = (
        memory.bytes if artifact.runtime == "keras" else child_peak_memory(artifact, threads, batch)
    )
    return config


def time_rounds(configs: Sequence[Config], runs: int, rounds: int = ROUNDS) -> None:
    """Append ``runs`` call times to every config, interleaved over up to ``rounds`` rounds."""
    rounds = min(rounds, runs)
    clock = time.perf_counter
    for round_index in range(rounds):
        burst = runs // rounds + (1 if round_index < runs % rounds else 0)
        for config in configs:
            config.call()  # untimed: wake this configuration's threads after the others ran
            for _ in range(burst):
                start = clock()
                config.call()
                config.times.append(clock() - start)


def benchmark(
    paths: Iterable[str | os.PathLike],
    *,
    batches: Sequence[int] = (1, 8),
    threads: Sequence[int] | None = None,
    runs: int = 50,
    warmup: int = 5,
    profile: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Benchmark every artifact under ``paths``; returns the report (see the module docstring).

    Args:
        paths: folders (every ``.onnx``/``.tflite``/``.keras`` inside) and model files.
        batches: batch sizes to time.
        threads: CPU thread counts (default: ``1`` and all cores).
        runs: timed calls per configuration, spread over up to ``ROUNDS`` interleaved rounds.
        warmup: untimed calls per configuration before the rounds.
        profile: also profile every ONNX artifact per layer at each thread count and the
            smallest batch (:func:`kerascnn.bench.profile.profile_onnx`, ``runs`` calls):
            the report gets ``"profiles"`` (and ``"profile_notes"`` for LiteRT).
        progress: called with one-line status messages.

    Returns:
        ``{"results": [...], "machine": {...}, "settings": {...}}``; each
        result has the keys of :data:`kerascnn.bench.report.RESULT_KEYS`
        (see :func:`kerascnn.bench.report.summarise`).
    """
    say = progress or (lambda message: None)
    batches = sorted({int(b) for b in batches})
    threads = sorted({int(t) for t in (threads or {1, runtime.default_threads()})})
    if not batches or min(batches) < 1 or not threads or min(threads) < 1 or runs < 1 or warmup < 0:
        raise UsageError(
            f"batches, threads and runs must be positive. Received: batches={batches}, "
            f"threads={threads}, runs={runs}, warmup={warmup}"
        )
    artifacts = discover(paths)

    configs: list[Config] = []
    keras_models: dict = {}
    for artifact in artifacts:
        if artifact.runtime == "keras":
            n_threads = keras_threads(max(threads))
            plan = [(mode, n_threads, b) for mode in KERAS_MODES for b in batches]
        else:
            plan = [(artifact.runtime, t, b) for t in threads for b in batches]
        for mode, n_threads, batch in plan:
            say(f"loading {artifact.path.name} ({mode}, {n_threads} thread{'s' * (n_threads != 1)}, batch {batch})")
            configs.append(_prepare(artifact, mode, n_threads, batch, warmup, keras_models))

    thread_counts = sorted({c.threads for c in configs})
    say(f"measuring the GEMM peaks and memory bandwidth for {', '.join(map(str, thread_counts))} threads")
    peaks = GemmPeaks.measure(thread_counts)
    load_start = load_average()
    say(f"timing {len(configs)} configurations x {runs} calls in {min(ROUNDS, runs)} interleaved rounds")
    time_rounds(configs, runs)
    peaks = peaks.best_of(GemmPeaks.measure(thread_counts))
    say(peaks.describe() + " (the better of before and after the rounds)")

    machine = machine_info()
    machine.update(peaks.to_json())
    machine["load_average_start"] = load_start
    report = {
        "results": [summarise(c, peaks) for c in configs],
        "machine": machine,
        "settings": {
            "runs": runs,
            "warmup": warmup,
            "batches": batches,
            "threads": threads,
            "memory": "peak RSS growth (VmHWM) while loading and warming up; ONNX/TFLite in a child process",
        },
    }
    if profile:
        report.update(profile_artifacts(artifacts, peaks, thread_counts, batches[0], runs, warmup, say))
    return report


def profile_artifacts(artifacts, peaks: GemmPeaks, thread_counts, batch: int, runs: int, warmup: int, say) -> dict:
    """``{"profiles": [...], "profile_notes": [...]}``: a per-layer profile of each ONNX artifact with layers."""
    from kerascnn.bench.profile import LITERT_NOTE, profile_onnx

    profiles, notes = [], []
    for artifact in artifacts:
        if artifact.runtime == "litert" and LITERT_NOTE not in notes:
            notes.append(LITERT_NOTE)
        if artifact.runtime != "onnxruntime" or not artifact.layers:
            continue
        for n_threads in thread_counts:
            say(f"profiling {artifact.path.name} per layer ({n_threads} thread{'s' * (n_threads != 1)}, batch {batch})")
            profiles.append(profile_onnx(
                artifact.path, artifact.layers, peaks, precision=artifact.precision, threads=n_threads,
                batch=batch, task=artifact.task, runs=runs, warmup=warmup,
            ).to_json())
    return {"profiles": profiles, "profile_notes": notes}


__all__ = ["benchmark", "Config", "KERAS_MODES", "ROUNDS", "runtime_call", "keras_call", "time_rounds"]