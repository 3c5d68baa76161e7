"""Facts about this machine for the report: GEMM peaks (float32 and int8), peak memory, CPU and versions.

The GEMM peaks are the benchmark's **physical limit**: the float32 matrix-multiply
rate numpy (OpenBLAS) reaches on the same cores, and the uint8 x int8 rate of
onnxruntime's ``MatMulInteger`` (the MLAS kernels that also run its quantised
convolutions). No runtime computing a model's multiply-adds in that arithmetic
can be faster (Williams et al., "Roofline", CACM 2009, with measured instead
of datasheet peaks). With AVX-512 VNNI int8 does about 4x the float32 work per
cycle; without it about 1.6x: :func:`machine_info` lists the CPU flags.

The roofline's other roof is the **memory bandwidth** (:func:`memory_bandwidth_gbs`):
a streaming copy with numpy, split over the benchmark's threads, once over
arrays far larger than the last-level cache (DRAM) and once over a working set
that fits in it (cache). :mod:`kerascnn.bench.roofline` uses both.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from kerascnn import runtime
from kerascnn.core.versions import versions

#: Precisions whose convolutions run integer arithmetic: bounded by the int8 GEMM peak.
INTEGER_PRECISIONS = ("int8", "dynamic")
#: The CPU flags that decide how fast float32 and int8 GEMMs can be.
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "avx512_bf16", "amx_bf16")


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


# --------------------------------------------------------------------------- memory bandwidth

#: Bytes a streaming copy counts per float32 element: one read of the source, one write of the
#: destination (the STREAM "Copy" convention, McCalpin 1995). Without non-temporal stores an x86
#: core also reads each destination line before writing it (write-allocate), so the memory bus moved
#: up to 1.5x more than is counted: the probe reports what a layer reading and writing tensors gets.
COPY_BYTES_PER_ELEMENT = 2 * 4
#: Last-level cache size assumed when the OS does not say (bytes).
DEFAULT_CACHE_BYTES = 8 * 2**20


def last_level_cache_bytes(sysfs: str | os.PathLike = "/sys/devices/system/cpu/cpu0/cache") -> int:
    """Size of the largest CPU cache (Linux sysfs ``index*/size``), :data:`DEFAULT_CACHE_BYTES` elsewhere."""
    sizes = []
    try:
        for entry in sorted(os.listdir(sysfs)):
            try:
                with open(os.path.join(sysfs, entry, "size"), encoding="ascii") as handle:
                    text = handle.read().strip().upper()
            except OSError:
                continue
            scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
            digits = text.rstrip("KMG")
            if digits.isdigit():
                sizes.append(int(digits) * scale)
    except OSError:
        pass
    return max(sizes) if sizes else DEFAULT_CACHE_BYTES


def memory_bandwidth_gbs(threads: int, megabytes: float | None = None, seconds: float = 0.3) -> float:
    """Best streaming-copy bandwidth on ``threads`` cores, in GB/s (10^9 bytes/s).

    Copies one float32 array into another with ``np.copyto``, each of ``threads``
    Python threads copying its own slice (numpy releases the GIL while it
    copies), and counts :data:`COPY_BYTES_PER_ELEMENT` bytes per element.

    Args:
        threads: concurrent copying threads (the benchmark's thread count).
        megabytes: size of each of the two arrays in MiB. Default: 4x the
            last-level cache and at least 64 MiB, so the copy streams from DRAM.
            A working set that fits in the cache measures the cache's bandwidth.
        seconds: how long to repeat the copy; the best repetition counts.
    """
    threads = max(1, int(threads))
    if megabytes is None:
        megabytes = max(64.0, 4 * last_level_cache_bytes() / 2**20)
    n = max(threads * 1024, int(megabytes * 2**20) // 4)
    source, destination = np.ones(n, np.float32), np.zeros(n, np.float32)
    edges = np.linspace(0, n, threads + 1).astype(int)
    slices = [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    # Small working sets repeat the copy inside each thread, so a call is long enough to time.
    repeats = max(1, int(32 * 2**20 // (n * 4)))

    def copy(part: slice) -> None:
        for _ in range(repeats):
            np.copyto(destination[part], source[part])

    with ThreadPoolExecutor(threads) as pool:
        return _best_rate(lambda: list(pool.map(copy, slices)), COPY_BYTES_PER_ELEMENT * n * repeats, seconds)


def cache_bandwidth_gbs(threads: int, seconds: float = 0.3) -> float:
    """:func:`memory_bandwidth_gbs` over a working set of half the last-level cache (both arrays together)."""
    return memory_bandwidth_gbs(threads, last_level_cache_bytes() / 4 / 2**20, seconds)


@dataclasses.dataclass(frozen=True)
class GemmPeaks:
    """The peaks of one benchmark run, per thread count: the one set of numbers every output shows.

    The two roofs of the roofline (:mod:`kerascnn.bench.roofline`): the GEMM
    peaks (arithmetic) and, when measured, the memory bandwidths. Values are
    rounded to 0.1 once, here, so the table, the JSON ``machine`` section and
    every row's ``bound_ms`` agree to the digit.

    Attributes:
        fp32: ``{threads: GFLOP/s}`` of :func:`gemm_peak_gflops`.
        int8: ``{threads: GOP/s}`` of :func:`int8_gemm_peak_gops`.
        memory: ``{threads: GB/s}`` of :func:`memory_bandwidth_gbs` from DRAM (empty: not measured).
        cache: ``{threads: GB/s}`` of :func:`cache_bandwidth_gbs` (empty: not measured).
        cache_bytes: the last-level cache size that decides which of the two a layer gets.
    """

    fp32: dict[int, float]
    int8: dict[int, float]
    memory: dict[int, float] = dataclasses.field(default_factory=dict)
    cache: dict[int, float] = dataclasses.field(default_factory=dict)
    cache_bytes: int = DEFAULT_CACHE_BYTES

    def __post_init__(self):
        for name in ("fp32", "int8", "memory", "cache"):
            object.__setattr__(self, name, {int(t): round(float(p), 1) for t, p in getattr(self, name).items()})

    @classmethod
    def measure(cls, thread_counts: Iterable[int], *, bandwidth: bool = True, **kwargs) -> GemmPeaks:
        """Measure both GEMM peaks (``kwargs``: ``seconds``, ``sizes``) and the bandwidths for each thread count."""
        thread_counts = sorted(set(thread_counts))
        return cls(
            {t: gemm_peak_gflops(t, **kwargs) for t in thread_counts},
            {t: int8_gemm_peak_gops(t, **kwargs) for t in thread_counts},
            {t: memory_bandwidth_gbs(t) for t in thread_counts} if bandwidth else {},
            {t: cache_bandwidth_gbs(t) for t in thread_counts} if bandwidth else {},
            last_level_cache_bytes(),
        )

    def best_of(self, other: GemmPeaks) -> GemmPeaks:
        """The higher of two measurements per thread count: load from another process only lowers a peak."""

        def best(mine: dict, theirs: dict) -> dict:
            return {t: max(p, theirs.get(t, 0.0)) for t, p in mine.items()}

        return GemmPeaks(
            best(self.fp32, other.fp32), best(self.int8, other.int8),
            best(self.memory, other.memory), best(self.cache, other.cache), self.cache_bytes,
        )

    def limit(self, precision: str, threads: int) -> float:
        """The peak (G multiply-add operations/s) bounding a model of ``precision`` on ``threads`` cores."""
        return (self.int8 if precision in INTEGER_PRECISIONS else self.fp32)[int(threads)]

    def bandwidth(self, threads: int, working_set_bytes: float) -> float | None:
        """GB/s for a layer moving ``working_set_bytes``: the cache's if that fits in it, else DRAM's.

        ``None`` when the bandwidths were not measured (the bound is then the arithmetic alone).
        """
        threads = int(threads)
        if working_set_bytes <= self.cache_bytes and threads in self.cache:
            return self.cache[threads]
        return self.memory.get(threads)

    def to_json(self) -> dict:
        """``{"gemm_peak_gflops": {"1": ...}, "int8_gemm_peak_gops": {"1": ...}, ...}`` for the report's ``machine``.

        With bandwidths: also ``memory_bandwidth_gbs``, ``cache_bandwidth_gbs`` and ``cache_bytes``.
        """
        out = {
            "gemm_peak_gflops": {str(t): p for t, p in self.fp32.items()},
            "int8_gemm_peak_gops": {str(t): p for t, p in self.int8.items()},
        }
        if self.memory:
            out["memory_bandwidth_gbs"] = {str(t): p for t, p in self.memory.items()}
            out["cache_bandwidth_gbs"] = {str(t): p for t, p in self.cache.items()}
            out["cache_bytes"] = self.cache_bytes
        return out

    @classmethod
    def from_json(cls, machine: dict) -> GemmPeaks:
        return cls(
            machine.get("gemm_peak_gflops", {}), machine.get("int8_gemm_peak_gops", {}),
            machine.get("memory_bandwidth_gbs", {}), machine.get("cache_bandwidth_gbs", {}),
            machine.get("cache_bytes", DEFAULT_CACHE_BYTES),
        )

    def describe(self) -> str:
        """``GEMM peak: 1 thread 95 GFLOP/s float32 (numpy), 150 GOP/s int8 (onnxruntime); 2 threads ...``.

        With bandwidths, a second sentence: ``Memory bandwidth (streaming copy): 1 thread 25 GB/s DRAM,
        90 GB/s within the 32 MB cache; ...``.
        """
        parts = [
            f"{_threads(t)} {self.fp32[t]:.0f} GFLOP/s float32 (numpy), {self.int8[t]:.0f} GOP/s int8 (onnxruntime)"
            for t in sorted(self.fp32) if t in self.int8
        ]
        text = "GEMM peak: " + "; ".join(parts)
        if self.memory:
            cache = f"{self.cache_bytes / 2**20:.0f} MB cache"
            text += ". Memory bandwidth (streaming copy): " + "; ".join(
                f"{_threads(t)} {self.memory[t]:.0f} GB/s DRAM, {self.cache.get(t, 0):.0f} GB/s within the {cache}"
                for t in sorted(self.memory)
            )
        return text


def _threads(n: int) -> str:
    return f"{n} thread{'' if n == 1 else 's'}"


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


def isa_flags(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> dict[str, bool]:
    """The instruction sets that decide float32, int8 and bfloat16 speed: ``{"avx2", "avx512", "vnni", "amx",
    "bf16"}`` -> present.

    ``vnni`` is AVX-512 VNNI or AVX-VNNI (``vpdpbusd``: 4 int8 multiply-adds per
    32-bit lane in one instruction); ``amx`` is AMX-INT8 (tile matrix multiply);
    ``bf16`` is AVX512-BF16 or AMX-BF16 (bfloat16 dot products in hardware: what
    makes ``--mixed-precision bfloat16`` faster than float32 on a CPU).
    """
    _, flags = cpu_info(cpuinfo)
    present = set(flags)
    return {
        "avx2": "avx2" in present,
        "avx512": "avx512f" in present,
        "vnni": bool(present & {"avx512_vnni", "avx_vnni"}),
        "amx": "amx_int8" in present,
        "bf16": bool(present & {"avx512_bf16", "amx_bf16"}),
    }


def machine_info() -> dict:
    """CPU, core count, SIMD flags (and :func:`isa_flags`), platform, load average and library versions."""
    cpu, flags = cpu_info()
    return {
        "cpu": cpu,
        "cores": runtime.default_threads(),
        "cpu_flags": flags,
        "isa": isa_flags(),
        "platform": platform.platform(),
        "load_average": load_average(),
        "versions": versions(),
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the OS has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None
