"""Where the time goes: a per-layer profile beside each layer's roofline bound, grouped by kind.

onnxruntime times every operator it runs when profiling is on
(``SessionOptions.enable_profiling``; its JSON trace has one ``"Node"`` event per
operator and call, with the duration in microseconds). Its graph optimiser fuses
and renames operators (``Conv`` + ``Clip`` become one ``Conv`` named after the
``Clip``'s output, ``..._nchwc``) and adds layout conversions
(``ReorderInput``/``ReorderOutput`` to and from the blocked NCHWc layout), so an
event is matched to the :class:`~kerascnn.bench.roofline.Layer` whose graph
nodes or tensors it names; what matches none (the layout conversions) is listed
under its own kind with no bound.

LiteRT: the ``ai_edge_litert`` Python interpreter has no per-operator profiler
(only the ``benchmark_model`` tool's ``--enable_op_profiling`` has one), so
LiteRT artifacts are compared with their bound as a whole (:data:`LITERT_NOTE`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kerascnn import runtime, tasks
from kerascnn.bench.roofline import KINDS, Layer, LayerBound, layer_bounds

LITERT_NOTE = (
    "LiteRT: no per-layer profile (the ai_edge_litert interpreter exposes no operator profiler; "
    "LiteRT's benchmark_model tool has --enable_op_profiling); its rows compare the whole model with its bound."
)
#: Layout conversions onnxruntime inserts (no graph node of the model).
_LAYOUT_OPS = {"ReorderInput", "ReorderOutput", "Transpose"}


@dataclasses.dataclass
class Profile:
    """Measured time per layer of one ONNX artifact, beside each layer's bound.

    Attributes:
        file, precision, threads, batch: the configuration profiled.
        run_ms: median time of a whole call (onnxruntime's ``model_run`` event).
        bounds: every layer's :class:`~kerascnn.bench.roofline.LayerBound`.
        measured_ms: ms per call of each layer (same order as ``bounds``; 0 when it ran fused into another).
        unmatched: ``{(operator, event name): ms}`` of operators matching no layer.
        runs: calls profiled; each operator's time is its median over them (robust to bursts of load).
    """

    file: str
    precision: str
    threads: int
    batch: int
    run_ms: float
    bounds: list[LayerBound]
    measured_ms: list[float]
    unmatched: dict[tuple[str, str], float]
    runs: int

    def kinds(self) -> list[dict]:
        """One row per layer kind (:data:`~kerascnn.bench.roofline.KINDS` order): what its layers cost and bound."""
        rows = {kind: {"kind": kind, "layers": 0, "macs": 0, "bytes": 0, "bound_ms": 0.0, "measured_ms": 0.0,
                       "memory_bound_layers": 0} for kind in KINDS}
        for bound, measured in zip(self.bounds, self.measured_ms):
            row = rows[bound.layer.kind]
            row["layers"] += 1
            row["macs"] += bound.layer.macs * self.batch
            row["bytes"] += bound.layer.bytes(self.precision, self.batch)
            row["bound_ms"] += bound.bound_ms
            row["measured_ms"] += measured
            row["memory_bound_layers"] += bound.limited_by == "memory"
        for (op, _), ms in self.unmatched.items():
            rows["layout" if op in _LAYOUT_OPS else "other"]["measured_ms"] += ms
        total = sum(row["measured_ms"] for row in rows.values()) or 1.0
        out = []
        for row in rows.values():
            if not row["layers"] and not row["measured_ms"]:
                continue
            row["share"] = row["measured_ms"] / total
            row["times_bound"] = row["measured_ms"] / row["bound_ms"] if row["bound_ms"] else None
            out.append({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
        return out

    def slowest_over_bound(self, count: int = 5) -> list[dict]:
        """The ``count`` layers losing the most time to their bound (measured - bound), worst first."""
        rows = [
            {"layer": b.layer.name, "kind": b.layer.kind, "measured_ms": round(ms, 4), "bound_ms": round(b.bound_ms, 4),
             "limited_by": b.limited_by, "macs_per_byte": round(b.layer.intensity(self.precision), 2)}
            for b, ms in zip(self.bounds, self.measured_ms)
        ]
        return sorted(rows, key=lambda r: r["bound_ms"] - r["measured_ms"])[:count]

    def to_json(self) -> dict:
        return {
            "file": self.file, "runtime": "onnxruntime", "precision": self.precision, "threads": self.threads,
            "batch": self.batch, "run_ms": round(self.run_ms, 4), "runs": self.runs,
            "layers_ms": round(sum(self.measured_ms), 4),
            "unmatched_ms": round(sum(self.unmatched.values()), 4),
            "bound_ms": round(sum(b.bound_ms for b in self.bounds), 4),
            "kinds": self.kinds(), "slowest_over_bound": self.slowest_over_bound(),
        }


def profile_onnx(
    path: str | os.PathLike, layers: Sequence[Layer], peaks, *, precision: str = "fp32", threads: int = 1,
    batch: int = 1, task: str = tasks.DEFAULT, runs: int = 20, warmup: int = 3,
) -> Profile:
    """Run an ``.onnx`` model ``warmup + runs`` times with onnxruntime profiling; time per layer.

    The session uses kerascnn's settings (:func:`kerascnn.runtime.onnx_session_options`)
    plus profiling; the first ``warmup`` calls are not counted.
    """
    import onnxruntime as ort

    from kerascnn.bench.timing import example_inputs

    model = runtime.load_runtime(path, threads=threads)  # input name, shape and dtype; checks the file
    tensor = model.prepare(example_inputs(task, model.input_shape, batch))
    with tempfile.TemporaryDirectory(prefix="kerascnn-profile-") as folder:
        options = runtime.onnx_session_options(threads)
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(folder, "ort")
        session = ort.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])
        for _ in range(warmup + runs):
            session.run(None, {model.input_name: tensor})
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    node_ms, run_ms = _event_times(events, warmup)
    bounds = layer_bounds(layers, precision, threads, batch, peaks)
    measured, unmatched = assign(layers, node_ms)
    return Profile(os.fspath(path), precision, threads, batch, run_ms, bounds, measured, unmatched, runs)


def _event_times(events: list[dict], warmup: int) -> tuple[dict[tuple[str, str], float], float]:
    """``({(operator, node name): median ms per call}, median ms of a whole call)``, after ``warmup`` calls."""
    durations: dict[tuple[str, str], list[float]] = {}
    runs: list[float] = []
    for event in events:
        if event.get("cat") == "Session" and event.get("name") == "model_run":
            runs.append(event["dur"] / 1e3)
        elif event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            key = (event.get("args", {}).get("op_name", "?"), event["name"][: -len("_kernel_time")])
            durations.setdefault(key, []).append(event["dur"] / 1e3)
    median = {key: float(np.median(times[warmup:] or times)) for key, times in durations.items()}
    return median, float(np.median(runs[warmup:] or runs or [0.0]))


def assign(layers: Sequence[Layer], node_ms: dict[tuple[str, str], float]):
    """Match profiled operators to layers by the node and tensor names they carry.

    Returns ``(ms per layer, {(operator, name): ms} of the operators matching no layer)``.
    An event matches the layer with its exact name (less onnxruntime's ``_nchwc``
    suffix), or else the layer with the longest member name contained in it.
    """
    owner = {member: index for index, layer in enumerate(layers) for member in layer.members}
    members = sorted(owner, key=len, reverse=True)
    measured = [0.0] * len(layers)
    unmatched = {}
    for (op, name), ms in node_ms.items():
        bare = re.sub(r"_nchwc$", "", name)
        index = owner.get(bare, owner.get(name))
        if index is None and op not in _LAYOUT_OPS - {"Transpose"}:
            index = next((owner[m] for m in members if len(m) > 3 and m in name), None)
        if index is None:
            unmatched[(op, name)] = ms
        else:
            measured[index] += ms
    return measured, unmatched


def format_profile(profile: dict) -> str:
    """A profile (:meth:`Profile.to_json`) as text: a row per layer kind, then the layers losing most to their bound."""
    threads = profile["threads"]
    operators_ms = profile["layers_ms"] + profile["unmatched_ms"]
    lines = [
        f"profile: {Path(profile['file']).name} ({profile['precision']}) in onnxruntime, {threads} thread"
        f"{'s' * (threads != 1)}, batch {profile['batch']}: {profile['run_ms']:.3f} ms per call "
        f"(median of {profile['runs']}, profiling on), operators {operators_ms:.3f} ms, "
        f"roofline bound {profile['bound_ms']:.3f} ms",
        f"  {'kind':<11} {'layers':>6} {'MMACs':>8} {'MB':>7} {'bound ms':>9} {'ms':>8} {'x bound':>8} "
        f"{'share':>6} {'mem-bound':>9}",
    ]
    for row in profile["kinds"]:
        ratio = f"{row['times_bound']:.1f}" if row["times_bound"] else "-"
        lines.append(
            f"  {row['kind']:<11} {row['layers']:>6} {row['macs'] / 1e6:>8.1f} {row['bytes'] / 1e6:>7.2f} "
            f"{row['bound_ms']:>9.3f} {row['measured_ms']:>8.3f} {ratio:>8} {100 * row['share']:>5.0f}% "
            f"{row['memory_bound_layers']:>9}"
        )
    lines.append("  layers losing most time to their bound (measured - bound):")
    for row in profile["slowest_over_bound"]:
        lines.append(
            f"    {row['layer'][-48:]:<48} {row['kind']:<10} {row['measured_ms']:.3f} ms vs {row['bound_ms']:.3f} ms "
            f"({row['limited_by']}-bound, {row['macs_per_byte']:g} MACs/byte)"
        )
    return "\n".join(lines)


__all__ = ["Profile", "profile_onnx", "assign", "format_profile", "LITERT_NOTE"]
