"""``kerascnn export MODEL.keras``: TFLite and ONNX artifacts, verified against Keras."""

from __future__ import annotations

import argparse
import sys

from kerascnn.core.options import comma_list, non_negative_float, positive_int
from kerascnn.export import CALIBRATION_SAMPLES, DEFAULT_QUANTIZE, FORMATS, VERIFY_SAMPLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .keras model file, or a training run folder holding model.keras")
    parser.add_argument(
        "--formats", type=comma_list(), default=None,
        help=f"comma-separated formats from {', '.join(FORMATS)} (default: every format the model's task supports)",
    )
    parser.add_argument(
        "--quantize", type=comma_list(), default=list(DEFAULT_QUANTIZE),
        help="comma-separated precisions: none (float32), fp16 (TFLite), dynamic, int8 "
        "(default: none,int8)",
    )
    parser.add_argument(
        "--task", default=None,
        help="the model's task, e.g. classification (default: the run folder's, else classification)",
    )
    parser.add_argument(
        "--calibration", default=None, metavar="DATASET|random",
        help="data set whose samples calibrate int8 and verify every artifact (a kerascnn data set "
        "name or folder:PATH), or 'random' (default: the model's training data set, else random)",
    )
    parser.add_argument("--data-dir", default=None, help="folder holding the calibration data set")
    parser.add_argument("--opset", type=positive_int, default=None, help="ONNX opset (default: the exporter's)")
    parser.add_argument(
        "--samples", type=positive_int, default=VERIFY_SAMPLES,
        help=f"test-split inputs each artifact is verified on (default: {VERIFY_SAMPLES})",
    )
    parser.add_argument(
        "--calibration-samples", type=positive_int, default=CALIBRATION_SAMPLES,
        help=f"training-split inputs int8 activation ranges are calibrated on (default: {CALIBRATION_SAMPLES})",
    )
    parser.add_argument(
        "--int8", action="append", default=None, metavar="KEY=VALUE",
        help="override the int8 recipe chosen from this CPU's flags (repeatable): format=qdq|qoperator, "
        "activations=uint8|int8, weights=int8|uint8, per_channel=true|false, reduce_range=true|false "
        "(true: exact on every x86 CPU, needed without AVX-512 VNNI)",
    )
    parser.add_argument(
        "--max-accuracy-drop", type=non_negative_float, default=None, metavar="POINTS",
        help="top-1 accuracy points an int8 artifact may lose against float32 on the labelled test split; "
        "the layers int8 hurts most are kept in float until it fits",
    )
    parser.add_argument(
        "--debug-quant", action="store_true",
        help="write a per-layer quantisation error table and plot for each int8 artifact (quant_debug_*.csv/png)",
    )
    parser.add_argument("--out", default=None, help="output folder (default: exports/<model name>)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty output folder")


def run(args: argparse.Namespace) -> int:
    from kerascnn.core.quiet import import_tensorflow_quietly
    from kerascnn.export import plan_export

    options = dict(
        formats=args.formats, quantize=args.quantize, task=args.task, opset=args.opset, out=args.out,
        force=args.force, samples=args.samples, calibration_samples=args.calibration_samples, int8=args.int8,
        max_accuracy_drop=args.max_accuracy_drop, debug_quant=args.debug_quant,
    )  # fmt: skip
    plan = plan_export(args.model, **options)  # names, paths, formats: a typo answers before TensorFlow loads
    import_tensorflow_quietly()
    manifest = plan.task.export_artifacts(  # a Task may export its own way (text: + vocabulary)
        args.model,
        calibration=args.calibration,
        data_dir=args.data_dir,
        progress=lambda line: print(line, file=sys.stderr),
        **options,
    )
    print(format_table(manifest))
    return 0


def format_table(manifest: dict) -> str:
    """One row per artifact: file, format, precision, size, and the Task's parity summary."""
    from kerascnn import tasks

    task = tasks.get(manifest.get("task"))
    header = f"{'file':<22} {'format':<7} {'precision':<9} {'size MB':>8}  parity vs Keras"
    rows = [header, "-" * len(header)]
    for item in manifest["artifacts"]:
        rows.append(
            f"{item['file']:<22} {item['format']:<7} {item['precision']:<9} {item['bytes'] / 1e6:>8.3f}  "
            f"{task.parity_summary(item['parity'], item['precision'])}"
        )
    rows.append(f"verified on {manifest['verification']['samples']} samples: {manifest['verification']['inputs']}")
    return "\n".join(rows)
