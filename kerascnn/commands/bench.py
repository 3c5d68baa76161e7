"""``kerascnn bench DIR|FILES``: latency, throughput, size, memory, GFLOP/s and the roofline bound per runtime.

``--profile`` adds a per-layer profile of the ONNX models beside each layer's bound, grouped by kind.

TensorFlow is imported only when a ``.keras`` model is among the files.
"""

from __future__ import annotations

import argparse
import sys

from kerascnn.core.options import comma_list, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="DIR|FILE",
        help="export folders (every .onnx, .tflite and .keras inside) or model files",
    )
    parser.add_argument("--batch", type=comma_list(positive_int), default=[1, 8], help="batch sizes (default: 1,8)")
    parser.add_argument(
        "--threads", type=comma_list(positive_int), default=None, help="CPU thread counts (default: 1 and all cores)"
    )
    parser.add_argument(
        "--runs", type=positive_int, default=50,
        help="timed calls per configuration, spread over up to 10 interleaved rounds (default: 50)",
    )
    parser.add_argument("--warmup", type=positive_int, default=5, help="untimed calls per configuration (default: 5)")
    parser.add_argument(
        "--profile", action="store_true",
        help="also time every layer of the ONNX models (onnxruntime profiling) beside its roofline bound, "
             "grouped by kind: where the time goes",
    )
    parser.add_argument("--json", dest="json_path", default=None, metavar="PATH", help="write the report as JSON")
    parser.add_argument(
        "--plot", default=None, metavar="PATH", help="write a PNG chart of median latency, one panel per batch size"
    )


def check(args: argparse.Namespace) -> None:
    """Paths and file types, before anything heavy is imported."""
    from kerascnn.bench import model_files

    model_files(args.paths)


def run(args: argparse.Namespace) -> int:
    from kerascnn import bench
    from kerascnn.core.files import atomic_write_json
    from kerascnn.core.layout import format_of
    from kerascnn.core.quiet import import_tensorflow_quietly

    if any(format_of(path) == "keras" for path in bench.model_files(args.paths)):
        import_tensorflow_quietly()
    report = bench.benchmark(
        args.paths,
        batches=args.batch,
        threads=args.threads,
        runs=args.runs,
        warmup=args.warmup,
        profile=args.profile,
        progress=lambda message: print(message, file=sys.stderr),
    )
    print(bench.format_table(report))
    for profile in report.get("profiles", []):
        print()
        print(bench.format_profile(profile))
    for note in report.get("profile_notes", []):
        print(note)
    if args.json_path:
        atomic_write_json(args.json_path, report)
        print(f"wrote {args.json_path}")
    if args.plot:
        bench.plot(report, args.plot)
        print(f"wrote {args.plot}")
    return 0
