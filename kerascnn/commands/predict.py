"""``kerascnn predict MODEL IMAGE...``: run an exported model on files without TensorFlow.

Only onnxruntime (or LiteRT for ``.tflite``), numpy and Pillow are imported. The
model's Task (named in the export manifest) reads the files and presents the
outputs: a classifier prints its top-k classes.
"""

from __future__ import annotations

import argparse
import json

from kerascnn.core.options import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model",
        help="an exported .onnx or .tflite model (takes raw 0-255 pixels), or an export folder "
        "(its float32 ONNX model, else the first artifact its manifest lists)",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="PNG or JPEG files")
    parser.add_argument("--text", action="append", metavar="SENTENCE",
                        help="text models: a sentence to classify (repeatable), tokenised as in training")
    parser.add_argument(
        "--artifact",
        metavar="FILE",
        default=None,
        help="with an export folder: the artifact to run, e.g. model_int8.tflite",
    )
    parser.add_argument("--top-k", type=positive_int, default=5, help="classes to show per image (default: 5)")
    parser.add_argument(
        "--labels",
        default=None,
        help="class names, one per line (or a JSON list); default: those in the export manifest beside the model",
    )
    parser.add_argument(
        "--invert",
        action="store_true",
        help="feed 255 - pixels: for dark-on-light images (black ink on white paper) into a model trained on "
        "light-on-dark ones (MNIST digits are white on black), or the reverse; predict warns when an image's "
        "polarity is the opposite of the training images'",
    )
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--json", action="store_true", help="print the predictions as JSON")


def check(args: argparse.Namespace) -> None:
    """Cheap checks before any runtime loads: the model path, its format, its task."""
    from kerascnn.runtime import model_format, resolve_model, task_of

    model = resolve_model(args.model, args.artifact)
    model_format(model)
    task_of(model)


def run(args: argparse.Namespace) -> int:
    from kerascnn.runtime import labels_from_manifest, load_labels, load_runtime, predict_files, task_of

    runtime = load_runtime(args.model, threads=args.threads, artifact=args.artifact)
    task = task_of(runtime.path)
    labels = load_labels(args.labels) if args.labels else labels_from_manifest(runtime.path)
    if args.text or not args.images:  # a text model reads sentences (kerascnn.runtime.text)
        from kerascnn.runtime.text import predict_texts

        result = predict_texts(runtime, args.text or [], k=args.top_k, labels=labels, task=task)
    else:
        result = predict_files(runtime, args.images, k=args.top_k, labels=labels, task=task, invert=args.invert)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for record in result["predictions"]:
        print(f"{record.get('file', record.get('text'))}  {task.format_record(record)}")
    return 0
