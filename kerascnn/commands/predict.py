"""``kerascnn predict MODEL.onnx|MODEL.tflite IMAGE...``: classify images without TensorFlow.

Only onnxruntime (or LiteRT for ``.tflite``), numpy and Pillow are imported.
"""

from __future__ import annotations

import argparse
import json

from kerascnn.core.options import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="an exported .onnx or .tflite model (takes raw 0-255 pixels)")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG or JPEG files")
    parser.add_argument("--top-k", type=positive_int, default=5, help="classes to show per image (default: 5)")
    parser.add_argument(
        "--labels",
        default=None,
        help="class names, one per line (or a JSON list); default: the manifest.json beside the model",
    )
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")


def run(args: argparse.Namespace) -> int:
    from kerascnn.runtime import infer

    runtime = infer.load_runtime(args.model, threads=args.threads)
    labels = infer.load_labels(args.labels) if args.labels else infer.labels_from_manifest(args.model)
    result = infer.predict_files(runtime, args.images, k=args.top_k, labels=labels)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for prediction in result["predictions"]:
        print(prediction["file"])
        for rank, entry in enumerate(prediction["top_k"], start=1):
            name = entry["label"] if entry["label"] != str(entry["class"]) else ""
            print(f"  {rank}. class {entry['class']:>4} {entry['probability']:8.2%}  {name}".rstrip())
    return 0
