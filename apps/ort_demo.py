"""Title: Image classification with onnxruntime, no TensorFlow needed
Description: Load a kerascnn ONNX export, classify images, and time the model.

Training happens in Keras, but the device that runs the model usually has no
TensorFlow: only onnxruntime (a few MB), numpy and Pillow. This demo is that
device's side of the story, built on `kerascnn.runtime.infer` (the same code as
`kerascnn predict`). It never imports TensorFlow.

    kerascnn quickstart                                  # trains and exports a LeNet-5
    python apps/ort_demo.py exports/quickstart/model.onnx            # bundled digits
    python apps/ort_demo.py exports/quickstart/model_int8.onnx my_digit.png
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kerascnn.runtime import infer

"""
## 1. Open the model in onnxruntime

`infer.load_runtime` creates an `onnxruntime.InferenceSession` with the settings
kerascnn uses everywhere: all graph optimisations (constant folding, Conv+BN+ReLU
fusion, int8 kernels for quantised models), one thread per core inside each
operator, and sequential execution (a CNN is a chain of layers).
"""


def open_model(path: str, threads: int | None):
    runtime = infer.load_runtime(path, threads=threads)
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
    labels = infer.load_labels(labels_file) if labels_file else infer.labels_from_manifest(runtime.path)
    batch = infer.load_images(paths, runtime.input_shape)
    print(f"\nbatch: {batch.shape} {batch.dtype}, pixel range {batch.min():.0f}..{batch.max():.0f}")
    probabilities = runtime.run(batch)
    for path, row in zip(paths, probabilities):
        best = infer.top_k(row, k=top_k, labels=labels)
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
    parser.add_argument("model", help="an .onnx file exported by kerascnn (e.g. exports/quickstart/model.onnx)")
    parser.add_argument("images", nargs="*", help="PNG/JPEG files (default: four bundled digits)")
    parser.add_argument("--top-k", type=int, default=3)
    parser.add_argument("--labels", default=None, help="class names, one per line (default: from manifest.json)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    parser.add_argument("--runs", type=int, default=100, help="timed calls (default: 100)")
    args = parser.parse_args(argv)
    if not args.model.lower().endswith(".onnx"):
        parser.error("this demo runs .onnx models (use `kerascnn predict` for .tflite)")
    try:
        runtime = open_model(args.model, args.threads)
        with tempfile.TemporaryDirectory() as folder:
            paths = args.images
            if not paths:
                paths, truth = example_digits(Path(folder))
                print(f"\nno images given: classifying bundled digits labelled {truth}")
            classify(runtime, paths, args.top_k, args.labels)
        time_model(runtime, args.runs)
    except ValueError as err:  # kerascnn's UsageError: bad file, wrong shape ...
        print(f"ort_demo: error: {err}", file=sys.stderr)
        return 2
    assert "tensorflow" not in sys.modules  # the point of the demo
    return 0


if __name__ == "__main__":
    sys.exit(main())
