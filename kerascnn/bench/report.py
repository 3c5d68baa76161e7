"""The benchmark report: one row per configuration, the text table and the latency chart."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from kerascnn.bench.machine import GemmPeaks
from kerascnn.bench.roofline import model_bound_ms


#: The keys of every report row (:func:`summarise`).
RESULT_KEYS = (
    "runtime", "precision", "file", "threads", "batch",
    "init_ms", "first_inference_ms", "warmup_ms", "min_ms", "mean_ms", "std_ms", "median_ms", "p90_ms", "p95_ms",
    "p99_ms", "throughput", "size_bytes", "peak_memory_bytes", "macs", "gflops", "gemm_peak_gflops", "int8_gemm_peak_gops",
    "memory_bandwidth_gbs", "gemm_bound_ms", "bound_ms", "bound_fraction", "peak_fraction", "runs",
)


def summarise(config, peaks: GemmPeaks) -> dict:
    """One report row from a timed configuration (:class:`kerascnn.bench.timing.Config`).

    * ``gemm_bound_ms = 2 * MACs * batch / peak`` and ``peak_fraction = GFLOP/s / peak``
      use the peak of the artifact's arithmetic (:meth:`GemmPeaks.limit`: int8
      for ``int8`` and ``dynamic``, float32 otherwise), at the row's thread count;
    * ``bound_ms`` is the roofline bound (:func:`kerascnn.bench.roofline.model_bound_ms`:
      per layer the slower of arithmetic and memory traffic) when the artifact's
      layers are known and the bandwidths measured, else ``gemm_bound_ms``;
      ``bound_fraction = bound_ms / median_ms`` ("% of bound": 100 % = at the limit);
    * start-up and spread as ``onnxruntime_perf_test`` reports them (see :mod:`kerascnn.bench.timing`).
    """
    times_ms = np.asarray(config.times) * 1e3
    median = float(np.median(times_ms))
    macs = config.artifact.macs
    flops = 2.0 * macs * config.batch if macs else None
    limit = peaks.limit(config.artifact.precision, config.threads)
    gemm_bound = flops / (limit * 1e9) * 1e3 if flops else None
    layers = config.artifact.layers
    bound = (
        model_bound_ms(layers, config.artifact.precision, config.threads, config.batch, peaks)
        if layers and peaks.memory else gemm_bound
    )

    def ms(seconds) -> float | None:
        return round(float(seconds) * 1e3, 6) if seconds is not None else None

    return {
        "runtime": config.runtime,
        "precision": config.artifact.precision,
        "file": os.fspath(config.artifact.path),
        "threads": config.threads,
        "batch": config.batch,
        "init_ms": ms(config.init_seconds),
        "first_inference_ms": ms(config.first_seconds),
        "warmup_ms": ms(np.mean(config.warmup_times)) if config.warmup_times else None,
        "min_ms": round(float(np.min(times_ms)), 6),
        "mean_ms": round(float(np.mean(times_ms)), 6),
        "std_ms": round(float(np.std(times_ms)), 6),
        "median_ms": round(median, 6),
        "p90_ms": round(float(np.percentile(times_ms, 90)), 6),
        "p95_ms": round(float(np.percentile(times_ms, 95)), 6),
        "p99_ms": round(float(np.percentile(times_ms, 99)), 6),
        "throughput": round(config.batch / (median / 1e3), 2),
        "size_bytes": config.artifact.size_bytes,
        "peak_memory_bytes": config.peak_memory_bytes,
        "macs": macs,
        "gflops": round(flops / (median / 1e3) / 1e9, 2) if flops else None,
        "gemm_peak_gflops": peaks.fp32[config.threads],
        "int8_gemm_peak_gops": peaks.int8[config.threads],
        "memory_bandwidth_gbs": peaks.memory.get(config.threads),
        "gemm_bound_ms": round(gemm_bound, 6) if gemm_bound else None,
        "bound_ms": round(bound, 6) if bound else None,
        "bound_fraction": round(bound / median, 3) if bound else None,
        "peak_fraction": round(flops / (median / 1e3) / 1e9 / limit, 3) if flops else None,
        "runs": len(config.times),
    }


def _threads(n: int) -> str:
    return f"{n} thread{'' if n == 1 else 's'}"


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 100 else f"{per_second:.3g}"


def result_label(result: dict, *, batch: bool = True) -> str:
    """``"model_int8.onnx (int8) in onnxruntime, 2 threads, batch 8"``: one configuration in words."""
    label = f"{Path(result['file']).name} ({result['precision']}) in {result['runtime']}, {_threads(result['threads'])}"
    return f"{label}, batch {result['batch']}" if batch else label


def format_size(n: float) -> str:
    """``"812 B"``, ``"13.4 MB"``: bytes in binary units."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def format_table(report: dict) -> str:
    """The report as fixed-width text: latency against the bound (fastest first per batch), then start-up.

    ``bound ms`` is the roofline bound and ``%bound`` = bound / median (100 % = at the machine's limit).
    """
    header = (
        f"{'file':<28} {'runtime':<22} {'prec':<7} {'thr':>3} {'batch':>5} {'median ms':>10} "
        f"{'p90 ms':>8} {'p99 ms':>8} {'img/s':>9} {'size':>9} {'mem MB':>7} {'GFLOP/s':>8} {'%peak':>6} "
        f"{'bound ms':>9} {'%bound':>6}"
    )
    rows = sorted(report["results"], key=lambda r: (r["batch"], r["median_ms"]))
    lines = [header, "-" * len(header)]
    for r in rows:
        memory = f"{r['peak_memory_bytes'] / 2**20:.1f}" if r["peak_memory_bytes"] is not None else "-"
        gflops = f"{r['gflops']:.1f}" if r["gflops"] is not None else "-"
        fraction = f"{100 * r['peak_fraction']:.0f}%" if r["peak_fraction"] is not None else "-"
        bound = f"{r['bound_ms']:.3f}" if r.get("bound_ms") is not None else "-"
        of_bound = f"{100 * r['bound_fraction']:.0f}%" if r.get("bound_fraction") is not None else "-"
        lines.append(
            f"{Path(r['file']).name[:28]:<28} {r['runtime']:<22} {r['precision']:<7} {r['threads']:>3} "
            f"{r['batch']:>5} {r['median_ms']:>10.3f} {r['p90_ms']:>8.3f} {r['p99_ms']:>8.3f} "
            f"{r['throughput']:>9.1f} {format_size(r['size_bytes']):>9} {memory:>7} {gflops:>8} {fraction:>6} "
            f"{bound:>9} {of_bound:>6}"
        )
    machine = report["machine"]
    load = f"; load average {machine['load_average'][0]:.2f}" if machine.get("load_average") else ""
    flags = f" ({', '.join(machine['cpu_flags'])})" if machine.get("cpu_flags") else ""
    lines.append(f"machine: {machine['cpu']}{flags}, {machine['cores']} cores{load}")
    lines.append(
        GemmPeaks.from_json(machine).describe()
        + ". %peak: the row's GFLOP/s over the peak of its arithmetic (int8 for int8 and dynamic)."
        + " bound: roofline, per layer max(2 x MACs / peak, bytes / bandwidth); %bound = bound / median."
    )
    if any(r.get("init_ms") is not None for r in rows):
        lines += ["", _startup_table(rows)]
    return "\n".join(lines)


def _startup_table(rows: list[dict]) -> str:
    """Start-up and spread, in the fields of ``onnxruntime_perf_test`` and LiteRT's ``benchmark_model``."""

    def cell(value) -> str:
        return f"{value:.3f}" if value is not None else "-"

    keys = ("init_ms", "first_inference_ms", "warmup_ms", "min_ms", "mean_ms", "std_ms", "median_ms", "p90_ms",
            "p95_ms", "p99_ms")
    titles = ("init ms", "first ms", "warmup ms", "min ms", "mean ms", "std ms", "p50 ms", "p90 ms", "p95 ms",
              "p99 ms")
    header = f"{'file':<28} {'runtime':<22} {'thr':>3} {'batch':>5} " + " ".join(f"{t:>10}" for t in titles)
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{Path(r['file']).name[:28]:<28} {r['runtime']:<22} {r['threads']:>3} {r['batch']:>5} "
            + " ".join(f"{cell(r.get(k)):>10}" for k in keys)
        )
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Panel:
    """One panel of the latency chart: the configurations of one batch size, fastest first."""

    title: str
    xlabel: str
    labels: list[str]  # one per bar, top to bottom
    values: list[float]  # median ms per call
    notes: list[str]  # written beside each bar


def chart_panels(report: dict, batch: int | None = None) -> list[Panel]:
    """What :func:`plot` draws: one :class:`Panel` per batch size measured (or only ``batch``)."""
    batches = sorted({r["batch"] for r in report["results"]} if batch is None else {batch})
    panels = []
    for size in batches:
        rows = sorted((r for r in report["results"] if r["batch"] == size), key=lambda r: r["median_ms"])
        if not rows:
            continue
        panels.append(Panel(
            title=f"batch {size}: {size} input{'s' if size != 1 else ''} per call",
            xlabel="median latency per call, ms (lower is better)",
            labels=[result_label(r, batch=False) for r in rows],
            values=[r["median_ms"] for r in rows],
            notes=[f"{r['median_ms']:.3g} ms, {_rate(r['throughput'])}/s" for r in rows],
        ))
    return panels


def chart_title(report: dict) -> str:
    machine = report["machine"]
    runs = report.get("settings", {}).get("runs")
    timed = f", median of {runs} timed calls" if runs else ""
    return f"kerascnn bench: latency per configuration on {machine['cpu']} ({machine['cores']} cores){timed}"


def plot(report: dict, path: str | os.PathLike, batch: int | None = None) -> str:
    """Median latency per configuration as a PNG: one panel per batch size (or only ``batch``)."""
    from kerascnn.analysis.plots import new_figure, save_figure
    from kerascnn.core.errors import UsageError

    panels = chart_panels(report, batch)
    if not panels:
        raise UsageError(f"The report has no results{'' if batch is None else f' at batch {batch}'} to plot.")
    heights = [0.45 * len(p.labels) + 1.0 for p in panels]
    fig, axes = new_figure(
        len(panels), 1, figsize=(9, sum(heights) + 0.6), gridspec_kw={"height_ratios": heights}, squeeze=False
    )
    for ax, panel in zip(axes[:, 0], panels):
        positions = list(range(len(panel.labels)))[::-1]  # fastest on top
        ax.barh(positions, panel.values, color="tab:blue")
        ax.set_yticks(positions, panel.labels)
        for y, value, note in zip(positions, panel.values, panel.notes):
            ax.annotate(note, (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
        ax.margins(x=0.25)
        ax.set_title(panel.title, fontsize=10, loc="left")
        ax.set_xlabel(panel.xlabel)
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(chart_title(report), fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
