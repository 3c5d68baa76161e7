"""Title: Image classification with onnxruntime, no TensorFlow needed
Description: Load a kerascnn ONNX export, classify images, and time the model.

Training happens in Keras, but the device that runs the model usually has no
TensorFlow: only onnxruntime (a few MB), numpy and Pillow. This demo is that
device's side of the story, built on `kerascnn.runtime` (the same code as
`kerascnn predict`). It never imports TensorFlow.

    kerascnn quickstart                       # trains and exports a LeNet-5 to exports/quickstart/
    python apps/ort_demo.py                   # exports/quickstart/export/model.onnx on bundled digits
    python apps/ort_demo.py exports/quickstart/export/model_int8.onnx my_digit.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.core.layout import ExportLayout, format_of
from kerascnn.core.options import positive_int
from kerascnn.core.script import run_script
from kerascnn import runtime as kerascnn_runtime

#: Where `kerascnn quickstart` leaves its float32 ONNX model.
DEFAULT_MODEL = ExportLayout(Path("exports") / "quickstart" / "export").artifact("onnx", "fp32")

"""
## 1. Open the model in onnxruntime

`kerascnn.runtime.load_runtime` creates an `onnxruntime.InferenceSession` with the settings
kerascnn uses everywhere: all graph optimisations (constant folding, Conv+BN+ReLU
fusion, int8 kernels for quantised models), one thread per core inside each
operator, and sequential execution (a CNN is a chain of layers).
"""


def open_model(path: str, threads: int | None):
    runtime = kerascnn_runtime.load_runtime(path, threads=threads)
    session = runtime.session
    print(f"model:   {path}")
    for spec in session.get_inputs():
        print(f"  input  {spec.name!r}: {spec.type} {spec.shape}   (raw 0-255 pixels, NHWC)")
    for spec in session.get_outputs():
        print(f"  output {spec.name!r}: {spec.type} {spec.shape}")
    print(f"  threads: {runtime.threads}, providers: {session.get_providers()}")
    return runtime


"""
## 2. Images in: decode, convert channels, resize

Exported kerascnn models scale pixels themselves (the `Rescaling` layer is part of
the graph), so pre-processing is only decoding and matching the input shape. With
no image on the command line we write a few held-out images of the bundled 8x8
`digits` (scikit-learn's) as PNG files, so the demo runs offline with nothing to download.
"""


def example_digits(folder: Path, count: int = 4) -> tuple[list[Path], list[int]]:
    from PIL import Image

    from kerascnn import data  # the embedded `digits` set: no TensorFlow, no network

    digits = data.load("digits")
    paths, labels = [], []
    for i in range(count):  # held-out test images: the quickstart never trained on them
        path = folder / f"test_{i}_label_{digits.y_test[i]}.png"
        Image.fromarray(digits.x_test[i, ..., 0]).save(path)
        paths.append(path)
        labels.append(int(digits.y_test[i]))
    return paths, labels


"""
## 3. Predict and show the top classes
"""


def classify(runtime, paths, top_k: int, labels_file: str | None) -> None:
    labels = (kerascnn_runtime.labels.load_labels(labels_file) if labels_file
              else kerascnn_runtime.labels.labels_from_manifest(runtime.path))
    batch = kerascnn_runtime.images.load_images(paths, runtime.input_shape)
    print(f"\nbatch: {batch.shape} {batch.dtype}, pixel range {batch.min():.0f}..{batch.max():.0f}")
    probabilities = runtime.run(batch)
    for path, row in zip(paths, probabilities):
        best = kerascnn_runtime.labels.top_k(row, k=top_k, labels=labels)
        guesses = ", ".join(f"{b['label']} ({b['probability']:.1%})" for b in best)
        print(f"  {Path(path).name:<28} -> {guesses}")


"""
## 4. How fast is it here?

Latency is noisy: warm up first (the first call allocates buffers), then report
the median of many calls rather than the mean. `kerascnn bench` does this for
every runtime and precision side by side.
"""


def time_model(runtime, runs: int) -> None:
    x = np.zeros((1, *runtime.input_shape), np.float32)
    for _ in range(5):
        runtime.run(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        runtime.run(x)
        times.append(time.perf_counter() - start)
    times_ms = np.array(times) * 1e3
    print(
        f"\nlatency, batch 1, {runs} runs: median {np.median(times_ms):.3f} ms, "
        f"p90 {np.percentile(times_ms, 90):.3f} ms"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].removeprefix("Description: "))
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL),
                        help=f"an .onnx file exported by kerascnn (default: {DEFAULT_MODEL}, "
                             "written by `kerascnn quickstart`)")
    parser.add_argument("images", nargs="*", help="PNG/JPEG files (default: four bundled digits)")
    parser.add_argument("--top-k", type=positive_int, default=3)
    parser.add_argument("--labels", default=None, help="class names, one per line (default: from manifest.json)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--runs", type=positive_int, default=100, help="timed calls (default: 100)")
    args = parser.parse_args(argv)
    if format_of(args.model) != "onnx":
        parser.error("this demo runs .onnx models (use `kerascnn predict` for .tflite)")
    if args.model == str(DEFAULT_MODEL) and not DEFAULT_MODEL.is_file():
        raise UsageError(f"No model at {DEFAULT_MODEL}: run `kerascnn quickstart` first, or name an .onnx file.")
    runtime = open_model(args.model, args.threads)
    with tempfile.TemporaryDirectory() as folder:
        paths = args.images
        if not paths:
            paths, truth = example_digits(Path(folder))
            print(f"\nno images given: classifying bundled digits labelled {truth}")
        classify(runtime, paths, args.top_k, args.labels)
    time_model(runtime, args.runs)
    assert "tensorflow" not in sys.modules  # the point of the demo
    return 0


if __name__ == "__main__":
    run_script(main)
