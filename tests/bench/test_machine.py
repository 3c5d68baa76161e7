"""kerascnn.bench.machine: GEMM peaks, peak memory, CPU facts."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn import bench
from kerascnn.bench.machine import GemmPeaks, cpu_info


def test_peak_memory_sees_native_allocations():
    with bench.PeakMemory() as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MiB, allocated by numpy's C code
    del block
    if memory.bytes is None:
        pytest.skip("peak-RSS reset not supported on this kernel")
    assert memory.bytes >= 60 * 2**20


def test_gemm_peaks_are_measured():
    assert bench.gemm_peak_gflops(1, seconds=0.05, sizes=(256,)) > 1.0
    assert bench.int8_gemm_peak_gops(1, seconds=0.05, sizes=(256,)) > 1.0
    peaks = GemmPeaks.measure([1], seconds=0.05, sizes=(128,))
    assert set(peaks.fp32) == set(peaks.int8) == {1} and peaks.fp32[1] > 1 and peaks.int8[1] > 1


def test_gemm_peaks_round_once_keep_the_better_and_pick_by_precision():
    before = GemmPeaks({1: 50.04, 2: 100.0}, {1: 80.0, 2: 170.06})
    after = GemmPeaks({1: 60.0, 2: 90.0}, {1: 75.0, 2: 180.0})
    best = before.best_of(after)
    assert best.fp32 == {1: 60.0, 2: 100.0} and best.int8 == {1: 80.0, 2: 180.0}
    assert before.fp32[1] == 50.0 and before.int8[2] == 170.1  # what every output prints and computes with
    assert best.limit("fp32", 2) == best.limit("fp16", 2) == 100.0
    assert best.limit("int8", 2) == best.limit("dynamic", 2) == 180.0
    assert GemmPeaks.from_json(best.to_json()) == best
    assert best.to_json() == {
        "gemm_peak_gflops": {"1": 60.0, "2": 100.0}, "int8_gemm_peak_gops": {"1": 80.0, "2": 180.0}
    }
    assert best.describe() == (
        "GEMM peak: 1 thread 60 GFLOP/s float32 (numpy), 80 GOP/s int8 (onnxruntime); "
        "2 threads 100 GFLOP/s float32 (numpy), 180 GOP/s int8 (onnxruntime)"
    )


def test_cpu_flags_from_proc_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8488C\n"
        "flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512_vnni amx_int8 amx_tile\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8488C\nflags\t\t: fpu\n"
    )
    assert cpu_info(cpuinfo) == (
        "Intel(R) Xeon(R) Platinum 8488C", ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "amx_int8"]
    )
    name, flags = cpu_info(tmp_path / "missing")
    assert name and flags == []


def test_machine_info_lists_cpu_cores_and_versions():
    machine = bench.machine_info()
    assert machine["cpu"] and machine["cores"] >= 1 and isinstance(machine["cpu_flags"], list)
    assert {"onnxruntime", "numpy", "python"} <= set(machine["versions"])


def test_memory_bandwidth_probe_is_positive_and_plausible():
    from kerascnn.bench.machine import cache_bandwidth_gbs, memory_bandwidth_gbs

    for threads in (1, 2):
        rate = memory_bandwidth_gbs(threads, megabytes=8, seconds=0.05)
        assert 0.5 < rate < 5000  # GB/s: no machine copies slower, none this much faster
    assert 0.5 < cache_bandwidth_gbs(1, seconds=0.05) < 5000


def test_last_level_cache_from_sysfs(tmp_path):
    from kerascnn.bench.machine import DEFAULT_CACHE_BYTES, last_level_cache_bytes

    for index, size in enumerate(["32K", "1024K", "32768K"]):
        (tmp_path / f"index{index}").mkdir()
        (tmp_path / f"index{index}" / "size").write_text(size + "\n")
    assert last_level_cache_bytes(tmp_path) == 32 * 2**20
    assert last_level_cache_bytes(tmp_path / "missing") == DEFAULT_CACHE_BYTES


@pytest.mark.parametrize("flags, expected", [
    ("fpu avx2 fma avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_int8 amx_tile",
     {"avx2": True, "avx512": True, "vnni": True, "amx": True, "bf16": True}),
    ("fpu avx2 fma avx512f avx512bw avx512_vnni avx512_bf16",
     {"avx2": True, "avx512": True, "vnni": True, "amx": False, "bf16": True}),
    ("fpu avx2 fma avx512f avx512bw", {"avx2": True, "avx512": True, "vnni": False, "amx": False, "bf16": False}),
    ("fpu avx2 fma avx_vnni", {"avx2": True, "avx512": False, "vnni": True, "amx": False, "bf16": False}),
    ("fpu sse2", {"avx2": False, "avx512": False, "vnni": False, "amx": False, "bf16": False}),
])
def test_isa_flags(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n")
    assert bench.isa_flags(cpuinfo) == expected


def test_peaks_with_bandwidth_pick_cache_or_dram_and_round_trip():
    before = GemmPeaks({1: 50.0}, {1: 80.0}, memory={1: 20.04}, cache={1: 70.0}, cache_bytes=32 * 2**20)
    after = GemmPeaks({1: 40.0}, {1: 90.0}, memory={1: 25.0}, cache={1: 60.0}, cache_bytes=32 * 2**20)
    best = before.best_of(after)
    assert best.memory == {1: 25.0} and best.cache == {1: 70.0} and before.memory == {1: 20.0}
    assert best.bandwidth(1, 32 * 2**20) == 70.0  # fits in the last-level cache
    assert best.bandwidth(1, 32 * 2**20 + 1) == 25.0  # streams from DRAM
    assert GemmPeaks({1: 1.0}, {1: 1.0}).bandwidth(1, 10) is None  # not measured
    assert GemmPeaks.from_json(best.to_json()) == best
    assert best.to_json()["memory_bandwidth_gbs"] == {"1": 25.0} and best.to_json()["cache_bytes"] == 32 * 2**20
    assert best.describe().endswith(
        "Memory bandwidth (streaming copy): 1 thread 25 GB/s DRAM, 70 GB/s within the 32 MB cache"
    )
