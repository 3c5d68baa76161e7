"""Benchmark exported models: onnxruntime, LiteRT and Keras, side by side, on this machine.

    >>> from kerascnn import bench
    >>> report = bench.benchmark(["exports/quickstart"], batches=(1, 8), threads=(1, 2))
    >>> print(bench.format_table(report))
    >>> bench.plot(report, "bench.png")

The stage, one concept per module:

- :mod:`~kerascnn.bench.discover`: the model files, their runtime, precision and task;
- :mod:`~kerascnn.bench.macs`: multiply-adds per example from ONNX, TFLite and Keras graphs;
- :mod:`~kerascnn.bench.machine`: GEMM peaks (float32, int8), memory bandwidth, peak memory, CPU flags, versions;
- :mod:`~kerascnn.bench.roofline`: per layer, the slower of arithmetic and memory traffic: the model's bound;
- :mod:`~kerascnn.bench.profile`: onnxruntime's time per layer beside its bound, grouped by layer kind;
- :mod:`~kerascnn.bench.timing`: configurations, interleaved rounds, :func:`benchmark`
  (its docstring states the method);
- :mod:`~kerascnn.bench.report`: report rows, the text table and the latency chart.

Nothing here imports TensorFlow unless a ``.keras`` model is benchmarked.
"""

from __future__ import annotations

from kerascnn.bench.discover import RUNTIMES, Artifact, discover, graph_precision, model_files
from kerascnn.bench.machine import (
    INTEGER_PRECISIONS,
    GemmPeaks,
    PeakMemory,
    gemm_peak_gflops,
    int8_gemm_peak_gops,
    isa_flags,
    machine_info,
    memory_bandwidth_gbs,
)
from kerascnn.bench.macs import count_macs
from kerascnn.bench.profile import format_profile, profile_onnx
from kerascnn.bench.report import (
    RESULT_KEYS,
    chart_panels,
    format_size,
    format_table,
    plot,
    result_label,
    summarise,
)
from kerascnn.bench.roofline import Layer, graph_layers, layer_bounds, model_bound_ms
from kerascnn.bench.timing import KERAS_MODES, ROUNDS, benchmark

#: Old private name, still used by ``kerascnn.quickstart`` and ``apps/export_mobilenet.py``.
_size = format_size

__all__ = [
    "benchmark", "discover", "model_files", "count_macs", "graph_precision", "machine_info", "format_table", "plot",
    "chart_panels", "result_label", "format_size", "summarise", "Artifact", "GemmPeaks", "PeakMemory",
    "gemm_peak_gflops", "int8_gemm_peak_gops", "INTEGER_PRECISIONS", "RUNTIMES", "KERAS_MODES", "ROUNDS",
    "memory_bandwidth_gbs", "isa_flags", "Layer", "graph_layers", "layer_bounds", "model_bound_ms", "profile_onnx",
    "format_profile", "RESULT_KEYS",
]
