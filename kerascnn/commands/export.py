"""``kerascnn export MODEL.keras``: TFLite and ONNX artifacts, verified against Keras."""

from __future__ import annotations

import argparse
import sys

from kerascnn.export import CALIBRATION_SAMPLES, DEFAULT_QUANTIZE, FORMATS, VERIFY_SAMPLES
from kerascnn.core.options import comma_list, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="a .keras model file, or a training run folder holding model.keras")
    parser.add_argument(
        "--formats", type=comma_list(), default=list(FORMATS),
        help=f"comma-separated formats from {', '.join(FORMATS)} (default: both)",
    )
    parser.add_argument(
        "--quantize", type=comma_list(), default=list(DEFAULT_QUANTIZE),
        help="comma-separated precisions: none (float32), fp16 (TFLite), dynamic, int8 "
        "(default: none,int8)",
    )
    parser.add_argument(
        "--calibration", default=None, metavar="DATASET|random",
        help="data set whose images calibrate int8 and verify every artifact (a kerascnn data set "
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
    parser.add_argument("--out", default=None, help="output folder (default: exports/<model name>)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty output folder")


def run(args: argparse.Namespace) -> int:
    from kerascnn.export import export_model

    manifest = export_model(
        args.model,
        formats=args.formats,
        quantize=args.quantize,
        calibration=args.calibration,
        data_dir=args.data_dir,
        opset=args.opset,
        out=args.out,
        force=args.force,
        samples=args.samples,
        calibration_samples=args.calibration_samples,
        progress=lambda line: print(line, file=sys.stderr),
    )
    print(format_table(manifest))
    return 0


def format_table(manifest: dict) -> str:
    """One row per artifact: file, format, precision, size, parity."""
    header = f"{'file':<22} {'format':<7} {'precision':<9} {'size MB':>8} {'max |diff|':>10} {'top-1 agree':>11}"
    rows = [header, "-" * len(header)]
    for item in manifest["artifacts"]:
        check = item["parity"]
        rows.append(
            f"{item['file']:<22} {item['format']:<7} {item['precision']:<9} {item['bytes'] / 1e6:>8.3f} "
            f"{check['max_abs_diff']:>10.2e} {check['top1_agreement']:>10.1%}"
        )
    rows.append(f"verified on {manifest['verification']['samples']} samples: {manifest['verification']['inputs']}")
    return "\n".join(rows)
