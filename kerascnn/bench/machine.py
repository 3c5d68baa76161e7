"""Facts about this machine for the report: GEMM peaks (float32 and int8), peak memory, CPU and versions.

The GEMM peaks are the benchmark's **physical limit**: the float32 matrix-multiply
rate numpy (OpenBLAS) reaches on the same cores, and the uint8 x int8 rate of
onnxruntime's ``MatMulInteger`` (the MLAS kernels that also run its quantised
convolutions). No runtime computing a model's multiply-adds in that arithmetic
can be faster (Williams et al., "Roofline", CACM 2009, with measured instead
of datasheet peaks). With AVX-512 VNNI int8 does about 4x the float32 work per
cycle; without it about 1.6x: :func:`machine_info` lists the CPU flags.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from kerascnn import runtime
from kerascnn.core.versions import versions

#: Precisions whose convolutions run integer arithmetic: bounded by the int8 GEMM peak.
INTEGER_PRECISIONS = ("int8", "dynamic")
#: The CPU flags that decide how fast float32 and int8 GEMMs can be.
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


# --------------------------------------------------------------------------- GEMM peaks


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

    The int8 counterpart of :func:`gemm_peak_gflops`, in the session settings
    kerascnn runs models with (``kerascnn.runtime.onnx_session_options``). How far
    it exceeds the float32 peak depends on the CPU: 4x the multiply-adds per
    instruction with AVX-512 VNNI (``vpdpbusd``), far less without
    (``vpmaddubsw`` + ``vpmaddwd``).
    """
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    options = runtime.onnx_session_options(threads)
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


@dataclasses.dataclass(frozen=True)
class GemmPeaks:
    """The GEMM peaks of one benchmark run, per thread count: the one set of numbers every output shows.

    Values are rounded to 0.1 once, here, so the table, the JSON ``machine``
    section and every row's ``bound_ms`` agree to the digit.

    Attributes:
        fp32: ``{threads: GFLOP/s}`` of :func:`gemm_peak_gflops`.
        int8: ``{threads: GOP/s}`` of :func:`int8_gemm_peak_gops`.
    """

    fp32: dict[int, float]
    int8: dict[int, float]

    def __post_init__(self):
        object.__setattr__(self, "fp32", {int(t): round(float(p), 1) for t, p in self.fp32.items()})
        object.__setattr__(self, "int8", {int(t): round(float(p), 1) for t, p in self.int8.items()})

    @classmethod
    def measure(cls, thread_counts: Iterable[int], **kwargs) -> GemmPeaks:
        """Measure both peaks for each thread count (``kwargs``: ``seconds``, ``sizes``)."""
        thread_counts = sorted(set(thread_counts))
        return cls(
            {t: gemm_peak_gflops(t, **kwargs) for t in thread_counts},
            {t: int8_gemm_peak_gops(t, **kwargs) for t in thread_counts},
        )

    def best_of(self, other: GemmPeaks) -> GemmPeaks:
        """The higher of two measurements per thread count: load from another process only lowers a peak."""
        return GemmPeaks(
            {t: max(p, other.fp32.get(t, 0.0)) for t, p in self.fp32.items()},
            {t: max(p, other.int8.get(t, 0.0)) for t, p in self.int8.items()},
        )

    def limit(self, precision: str, threads: int) -> float:
        """The peak (G multiply-add operations/s) bounding a model of ``precision`` on ``threads`` cores."""
        return (self.int8 if precision in INTEGER_PRECISIONS else self.fp32)[int(threads)]

    def to_json(self) -> dict:
        """``{"gemm_peak_gflops": {"1": ...}, "int8_gemm_peak_gops": {"1": ...}}`` for the report's ``machine``."""
        return {
            "gemm_peak_gflops": {str(t): p for t, p in self.fp32.items()},
            "int8_gemm_peak_gops": {str(t): p for t, p in self.int8.items()},
        }

    @classmethod
    def from_json(cls, machine: dict) -> GemmPeaks:
        return cls(machine.get("gemm_peak_gflops", {}), machine.get("int8_gemm_peak_gops", {}))

    def describe(self) -> str:
        """``GEMM peak: 1 thread 95 GFLOP/s float32 (numpy), 150 GOP/s int8 (onnxruntime); 2 threads ...``."""
        parts = [
            f"{t} thread{'s' if t != 1 else ''} {self.fp32[t]:.0f} GFLOP/s float32 (numpy), "
            f"{self.int8[t]:.0f} GOP/s int8 (onnxruntime)"
            for t in sorted(self.fp32) if t in self.int8
        ]
        return "GEMM peak: " + "; ".join(parts)


# --------------------------------------------------------------------------- memory


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak-RSS growth over a block, native allocations included (Linux ``VmHWM``; ``bytes`` is ``None`` elsewhere).

    ``tracemalloc`` sees only Python's allocator; onnxruntime, LiteRT and
    TensorFlow allocate in C++.
    """

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
                handle.write("5")  # reset VmHWM (peak RSS) to the current RSS
            self._start = _status_bytes("VmRSS")
        except OSError:
            self._start = None
        self.bytes = None
        return self

    def __exit__(self, *exc):
        peak = _status_bytes("VmHWM")
        if self._start is not None and peak is not None:
            self.bytes = max(0, peak - self._start)
        return False


# --------------------------------------------------------------------------- CPU


def cpu_info(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> tuple[str, list[str]]:
    """``(CPU model name, the SIMD_FLAGS it has)`` from ``/proc/cpuinfo`` (``platform`` fallback)."""
    name, flags = "", []
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and not name:
                    name = value.strip()
                elif key.strip() == "flags":
                    present = set(value.split())
                    flags = [flag for flag in SIMD_FLAGS if flag in present]
                    break
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), flags


def machine_info() -> dict:
    """CPU, core count, SIMD flags, platform, load average and library versions, for the report."""
    cpu, flags = cpu_info()
    return {
        "cpu": cpu,
        "cores": runtime.default_threads(),
        "cpu_flags": flags,
        "platform": platform.platform(),
        "load_average": load_average(),
        "versions": versions(),
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the OS has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None
