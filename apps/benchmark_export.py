"""Export benchmark: MobileNetV2 1.0 at 224, batch 1, against the export issue's performance goals.

Title: export benchmark
Description: run the steps of ``apps/export_mobilenet.py`` for MobileNetV2 1.0 at
224x224 (train on real images, export to TFLite and ONNX in float32 and int8,
time every artifact with ``kerascnn.bench``) and check the goals from that one
benchmark run, each runtime at its fastest thread count:

* best float32 median within 1.25x of the GEMM bound (2 x MACs / the float32 GEMM
  peak measured in the same run), and within 1.5x of its roofline bound (per layer
  the slower of arithmetic and memory traffic, ``kerascnn.bench.roofline``);
* best int8 >= 2.2x faster than TFLite float32;
* int8 top-1 agreement with the Keras model >= 99 % on real images;
* onnxruntime int8 >= 1.5x faster than onnxruntime float32;
* onnxruntime int8 within 1.25x of TFLite int8;
* int8 files <= 0.3x the size of float32.

Run (``../shared/data`` holds the MNIST test file)::

    python apps/benchmark_export.py --dataset mnist --data-dir ../shared/data   # ~15 minutes on 2 cores
    python apps/benchmark_export.py --rebench     # time the exports in --out again (a quieter machine)

Writes the sweep folder of ``export_mobilenet.py`` to ``--out`` and the goal report
to ``--out``/``goals.json``. The speed goals assume AVX-512 VNNI; ``cpu_flags`` in
the report says whether this CPU has it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kerascnn.core.errors import UsageError
from kerascnn.core.options import comma_list, non_negative_int, positive_int
from kerascnn.core.script import check_output_folder, run_script

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the story this benchmark runs
import export_mobilenet as story  # noqa: E402

#: The point the goals are about.
GOAL_POINT = ("v2", 1.0, 224)
GOALS = {
    "fp32_vs_gemm_bound": 1.25,  # best fp32 median <= 1.25 x (2 x MACs / GEMM peak)
    "int8_speedup_vs_tflite_fp32": 2.2,  # best int8 >= 2.2 x faster than TFLite fp32
    "int8_top1_agreement": 0.99,
    "ort_int8_speedup_vs_ort_fp32": 1.5,
    "ort_int8_vs_tflite_int8": 1.25,  # onnxruntime int8 within 1.25 x of TFLite int8
    "int8_size_ratio": 0.3,
    "fp32_vs_roofline_bound": 1.5,  # best fp32 median <= 1.5 x its roofline bound (bench rows' bound_ms)
}
#: Goals that are lower bounds (the others are upper bounds).
AT_LEAST = {"int8_speedup_vs_tflite_fp32", "int8_top1_agreement", "ort_int8_speedup_vs_ort_fp32"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", help="real images to train and verify on (default: digits)")
    parser.add_argument("--data-dir", default=None, help="folder holding offline data sets (e.g. mnist/)")
    parser.add_argument("--threads", type=comma_list(positive_int), default=None,
                        help="benchmark thread counts (default: all cores)")
    parser.add_argument("--runs", type=positive_int, default=100, help="timed calls per artifact (default: 100)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--out", default="exports/mobilenet-goals", help="output folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="replace --out once the new run is complete")
    parser.add_argument("--rebench", action="store_true",
                        help="reuse the exports already in --out and only benchmark and check again")
    return parser.parse_args(argv)


def check_goals(point: dict) -> dict:
    """The issue's ratios from one benchmark run of one point; each runtime at its fastest thread count."""
    timing = {}
    for r in point["bench"]:
        key = (r["runtime"], r["precision"])
        if r["batch"] == 1 and (key not in timing or r["median_ms"] < timing[key]["median_ms"]):
            timing[key] = r
    sizes = {(a["format"], a["precision"]): a["bytes"] for a in point["artifacts"]}
    agreement = {(a["format"], a["precision"]): a["parity"]["top1_agreement"] for a in point["artifacts"]}
    ms = {key: r["median_ms"] for key, r in timing.items()}
    fp32 = min((r for k, r in timing.items() if k[1] == "fp32"), key=lambda r: r["median_ms"])
    int8_key = min((k for k in ms if k[1] == "int8"), key=ms.get)
    # The machine's limit: all cores at the best GEMM rate measured in this run.
    peak = max(r["gemm_peak_gflops"] for r in point["bench"])
    bound_ms = 2e-6 * point["macs"] / peak
    int8_peak = max(r["int8_gemm_peak_gops"] for r in point["bench"])  # the int8 path's own limit
    int8_format = "tflite" if int8_key[0] == "litert" else "onnx"
    measured = {
        "fp32_vs_gemm_bound": fp32["median_ms"] / bound_ms,
        "int8_speedup_vs_tflite_fp32": ms[("litert", "fp32")] / ms[int8_key],
        "int8_top1_agreement": agreement[(int8_format, "int8")],
        "ort_int8_speedup_vs_ort_fp32": ms[("onnxruntime", "fp32")] / ms[("onnxruntime", "int8")],
        "ort_int8_vs_tflite_int8": ms[("onnxruntime", "int8")] / ms[("litert", "int8")],
        "int8_size_ratio": max(sizes[(f, "int8")] / sizes[(f, "fp32")] for f in ("tflite", "onnx")),
    }
    if fp32.get("bound_ms"):  # benchmarks from before the roofline have no per-layer bound
        measured["fp32_vs_roofline_bound"] = fp32["median_ms"] / fp32["bound_ms"]
    goals = {
        name: {
            "measured": round(value, 3),
            "goal": (">= " if name in AT_LEAST else "<= ") + str(GOALS[name]),
            "met": bool(value >= GOALS[name] if name in AT_LEAST else value <= GOALS[name]),
        }
        for name, value in measured.items()
    }
    return {
        "threads": {f"{k[0]} {k[1]}": r["threads"] for k, r in timing.items()},
        "median_ms": {f"{k[0]} {k[1]}": v for k, v in ms.items()},
        "gemm_bound_ms": round(bound_ms, 3),
        "best_fp32": f"{fp32['runtime']} {fp32['precision']}",
        "best_fp32_roofline_bound_ms": fp32.get("bound_ms"),
        "gemm_peak_gflops": peak,
        "int8_gemm_bound_ms": round(2e-6 * point["macs"] / int8_peak, 3),
        "int8_gemm_peak_gops": int8_peak,
        "cpu_flags": point["machine"]["cpu_flags"],
        "best_int8": f"{int8_key[0]} {int8_key[1]}",
        "int8_top1_agreement": {f"{k[0]} {k[1]}": v for k, v in agreement.items() if k[1] == "int8"},
        "load_average": point["machine"]["load_average"],
        "goals": goals,
    }


def story_arguments(args) -> list[str]:
    """The ``export_mobilenet.py`` command line for the goal point."""
    version, width, resolution = GOAL_POINT
    argv = ["--versions", version, "--widths", str(width), "--resolutions", str(resolution),
            "--dataset", args.dataset, "--runs", str(args.runs), "--seed", str(args.seed), "--out", args.out]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.threads:
        argv += ["--threads", ",".join(map(str, args.threads))]
    return argv + (["--force"] if args.force else [])


def rebench(args) -> dict:
    """The goal point of an earlier run in ``--out``, benchmarked again."""
    folder = Path(args.out) / story.point_name(*GOAL_POINT)
    if not (folder / "point.json").is_file():
        raise UsageError(f"No earlier run in {args.out} to benchmark again (no {folder / 'point.json'}).")
    from kerascnn.runtime import default_threads

    args.threads = args.threads or [default_threads()]
    point = json.loads((folder / "point.json").read_text())
    return {**point, **story.benchmark_point(args, folder / "export", point["name"])}


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.rebench:
        point = rebench(args)
    else:
        check_output_folder(args.out, force=args.force)  # before minutes of training
        point = next(p for p in story.main(story_arguments(args))["points"]
                     if (p["version"], p["width"], p["resolution"]) == GOAL_POINT)
    from kerascnn.core.files import atomic_write_json

    report = check_goals(point)
    print(json.dumps(report, indent=2))
    met = [name for name, goal in report["goals"].items() if goal["met"]]
    print(f"goals met: {len(met)} of {len(report['goals'])}")
    atomic_write_json(Path(args.out) / "goals.json", {"point": point, "goals": report})
    print(f"wrote {Path(args.out) / 'goals.json'}")
    return report


if __name__ == "__main__":
    run_script(main)
