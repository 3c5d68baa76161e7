"""Title: MobileNet V1/V2 to device formats: train, export, benchmark, sweep
Description: Train MobileNets on real images, export them to TFLite and ONNX (float32 and int8), time them, plot latency against MACs.

MobileNets (Howard et al., 2017; Sandler et al., 2018) have two knobs for the
accuracy/speed trade-off: the width multiplier alpha (channels) and the input
resolution. Both cut multiply-adds roughly quadratically. For each combination
this script

1. trains the zoo's MobileNet (``kerascnn.models``) with the library trainer,
   ``kerascnn.training.train``: once per (version, width) at 96x96 (SGD with
   Nesterov momentum, a cosine decay from 0.05, batch 32, 4 epochs on up to 7,000
   images of ``--dataset``), then one epoch of fine-tuning at each other resolution;
2. exports it with ``kerascnn.export.export_model``: TFLite and ONNX, float32 and
   full-integer int8, every artifact checked against Keras on real images;
3. times every artifact with ``kerascnn.bench`` (batch 1);
4. writes a size/params/accuracy/latency table and a latency-vs-MACs plot.

Why train at all: an untrained MobileNet outputs the same probabilities for every
image, so the export's parity and int8 checks would prove nothing. The models
take raw 0-255 pixels at ``resolution x resolution x 3``.

    python apps/export_mobilenet.py --versions v2 --widths 0.5 --resolutions 96,160  # a small sweep
    python apps/export_mobilenet.py                      # V1/V2 x widths 0.35-1.0 x 96-224 (hours)
    python apps/export_mobilenet.py --dataset mnist --data-dir ../shared/data

The performance goals of MobileNetV2 1.0 at 224 are checked by
``apps/benchmark_export.py``, which runs these steps for that point.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from kerascnn.core.layout import RunLayout
from kerascnn.core.options import comma_list, non_negative_int, positive_int
from kerascnn.core.script import check_output_folder, run_script

VERSIONS = {"v1": "mobilenet_v1", "v2": "mobilenet_v2"}
WIDTHS = (0.35, 0.5, 0.75, 1.0)
RESOLUTIONS = (96, 128, 160, 192, 224)
#: Widths each version's builder offers.
VALID_WIDTHS = {"v1": (0.25, 0.5, 0.75, 1.0), "v2": (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)}
TRAIN_RESOLUTION = 96

#: The training recipe, as ``kerascnn.training.train`` options. SGD with Nesterov
#: momentum and a cosine decay from 0.05: on 2,000 MNIST digits at 64x64 it reached
#: 93 % in 3 epochs where Adam at 1e-3 reached 83 %.
TRAIN_RECIPE = dict(optimizer="nesterov", lr=0.05, schedule="cosine", batch_size=32, epochs=4, validation_split=0.0)
#: One epoch at the target resolution (Touvron et al., 2019, "Fixing the train-test
#: resolution discrepancy"): digits 2.3x larger than in training are otherwise
#: recognised poorly (25 % on MNIST at 224).
FINETUNE_RECIPE = dict(optimizer="adam", lr=3e-4, schedule="constant", batch_size=16, epochs=1, validation_split=0.0)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].removeprefix("Description: "))
    parser.add_argument("--versions", type=comma_list(str, VERSIONS), default=list(VERSIONS),
                        help="v1 and/or v2 (default: both)")
    parser.add_argument("--widths", type=comma_list(float), default=list(WIDTHS),
                        help="width multipliers alpha (default: 0.35,0.5,0.75,1.0; a width a version "
                             "does not offer is skipped)")
    parser.add_argument("--resolutions", type=comma_list(positive_int), default=list(RESOLUTIONS),
                        help="input sizes in pixels (default: 96,128,160,192,224)")
    parser.add_argument("--dataset", default="digits",
                        help="the real images trained on, calibrated on and verified on (default: digits, bundled)")
    parser.add_argument("--data-dir", default=None, help="folder holding offline data sets (e.g. mnist/)")
    parser.add_argument("--train-samples", type=positive_int, default=7000,
                        help="training images at 96x96 (default: 7000)")
    parser.add_argument("--epochs", type=positive_int, default=TRAIN_RECIPE["epochs"],
                        help="training epochs at 96x96 (default: 4)")
    parser.add_argument("--finetune-samples", type=positive_int, default=1000,
                        help="images for the one-epoch fine-tune at each other resolution (default: 1000)")
    parser.add_argument("--test-samples", type=positive_int, default=500, help="test images scored (default: 500)")
    parser.add_argument("--verify-samples", type=positive_int, default=500,
                        help="images each exported artifact is checked on (default: 500)")
    parser.add_argument("--threads", type=comma_list(positive_int), default=None,
                        help="benchmark thread counts (default: all cores)")
    parser.add_argument("--runs", type=positive_int, default=50, help="timed calls per artifact (default: 50)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--out", default="exports/mobilenet", help="output folder, new or empty (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="replace --out once the new sweep is complete")
    return parser.parse_args(argv)


def sweep_points(args) -> list[tuple[str, float, int]]:
    """The (version, width, resolution) combinations to run; a width a version lacks is skipped."""
    points = []
    for version in args.versions:
        for width in args.widths:
            if width not in VALID_WIDTHS[version]:
                print(f"skipping {version} width {width}: not one of {VALID_WIDTHS[version]}")
                continue
            points.extend((version, width, resolution) for resolution in args.resolutions)
    return points


def point_name(version: str, width: float, resolution: int | str) -> str:
    return f"{VERSIONS[version]}_{width}_{resolution}"


"""
## The data: real images at the sweep's resolution

The training, calibration and verification images all come from ``--dataset``.
Each is resized to ``resolution x resolution x 3`` once (grey digits repeated to
three channels), so the trained model takes full-size raw pixels, as a camera
would hand them over.
"""


def at_resolution(dataset, resolution: int, *, train: slice, test: int):
    """``dataset`` with ``train`` images and ``test`` test images resized to ``resolution``."""
    from kerascnn.data import ImageDataset
    from kerascnn.tasks.classification import fit_images

    def resize(x):  # in chunks: 7,000 float32 images at 96x96x3 would be 0.8 GB at once
        shape = (resolution, resolution, 3)
        return np.concatenate([fit_images(x[i:i + 500], shape).round().astype(np.uint8)
                               for i in range(0, len(x), 500)])

    return ImageDataset(
        name=dataset.name,
        x_train=resize(dataset.x_train[train]), y_train=dataset.y_train[train],
        x_test=resize(dataset.x_test[:test]), y_test=dataset.y_test[:test],
        class_names=dataset.class_names,
        source=f"{dataset.source}; at {resolution}x{resolution}x3",
    )


"""
## Training with the library trainer

``train`` builds the model as every kerascnn run does: raw pixels ->
``Normalization`` -> the zoo MobileNet, compiles it with the recipe's optimizer and
schedule, fits, evaluates, and writes a run folder. One short-run detail: Keras'
BatchNorm keeps 99 % of its moving statistics per step, so after ~100 steps over a
third of them would still be the initial 0/1 and inference would fall apart
(25-40 % accuracy, or the same output for every image). A callback lowers the
momentum to 0.9 for these short runs.
"""


def short_run_batchnorm():
    """A Keras callback: BatchNorm momentum 0.9 in every (nested) layer, set before the first step."""
    import keras

    class ShortRunBatchNorm(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            for layer in _all_layers(self.model):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = 0.9

    return ShortRunBatchNorm()


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):  # the nested backbone
            yield from _all_layers(layer)


def train_base(args, version: str, width: float, dataset, run_dir: Path):
    """Train the zoo MobileNet at 96x96 (``TRAIN_RECIPE``); returns the ``TrainResult``."""
    from kerascnn.training import train

    images = at_resolution(dataset, TRAIN_RESOLUTION, train=slice(0, args.train_samples), test=args.test_samples)
    print(f"training {VERSIONS[version]} {width} on {len(images.x_train)} {args.dataset} images "
          f"at {TRAIN_RESOLUTION}x{TRAIN_RESOLUTION} ...", flush=True)
    result = train(VERSIONS[version], images, run_dir=run_dir, seed=args.seed, data_dir=args.data_dir,
                   model_kwargs={"alpha": width}, callbacks=[short_run_batchnorm()],
                   **{**TRAIN_RECIPE, "epochs": args.epochs})
    print(result.summary(), flush=True)
    return result


def fine_tune(args, version: str, width: float, resolution: int, base_model: Path, dataset, folder: Path):
    """The 96x96 weights in a MobileNet built at ``resolution``, fine-tuned there for one epoch.

    MobileNets are fully convolutional up to global pooling: the same weights fit
    the network at any input size, so the backbone is rebuilt at ``resolution`` and
    handed to ``train(init_from=...)``.
    """
    from kerascnn import models
    from kerascnn.nn.saving import load_model
    from kerascnn.training.modeling import find_backbone
    from kerascnn.training import train

    trained = find_backbone(load_model(base_model))
    backbone = models.build(VERSIONS[version], alpha=width, input_shape=(resolution, resolution, 3),
                            classes=dataset.num_classes)
    backbone.set_weights(trained.get_weights())
    start = folder / f"backbone_{resolution}.keras"  # the starting point train() loads
    backbone.save(start)
    images = at_resolution(dataset, resolution, train=slice(-args.finetune_samples, None), test=args.test_samples)
    print(f"fine-tuning {VERSIONS[version]} {width} at {resolution}x{resolution} on {len(images.x_train)} images ...",
          flush=True)
    result = train(VERSIONS[version], images, run_dir=folder / "run", seed=args.seed, data_dir=args.data_dir,
                   init_from=str(start), callbacks=[short_run_batchnorm()], **FINETUNE_RECIPE)
    print(result.summary(), flush=True)
    return result


"""
## Export, verify, benchmark
"""


def export_point(args, model_path: Path, folder: Path) -> dict:
    """TFLite + ONNX, float32 + int8, calibrated and verified on ``--dataset``; returns the manifest."""
    from kerascnn.export import export_model

    return export_model(
        model_path, formats=["tflite", "onnx"], quantize=["none", "int8"], calibration=args.dataset,
        data_dir=args.data_dir, out=folder, samples=args.verify_samples,
        progress=lambda message: print(f"    {message}", flush=True),
    )


def benchmark_point(args, export_dir: Path, name: str) -> dict:
    """Time the exported artifacts of one sweep point at batch 1 (``kerascnn.bench``)."""
    from kerascnn import bench

    report = bench.benchmark([export_dir], batches=(1,), threads=args.threads, runs=args.runs)
    for result in report["results"]:  # file names, not paths: the sweep folder may move
        result["file"] = Path(result["file"]).name
    threads = max(r["threads"] for r in report["results"])
    print(f"  {name} ({threads} threads, load {report['machine']['load_average'][0]:.1f}): "
          + ", ".join(f"{r['file']} {r['median_ms']:.2f} ms" for r in report["results"] if r["threads"] == threads),
          flush=True)
    return {"bench": report["results"], "machine": report["machine"]}


def run_point(args, version, width, resolution, dataset, folder: Path, base: Path) -> dict:
    """Train (or reuse the 96x96 run), export and benchmark one point; writes ``point.json`` in ``folder``."""
    from kerascnn.core.files import atomic_write_json

    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    if resolution == TRAIN_RESOLUTION:
        model_path, metrics = RunLayout(base).model, json.loads(RunLayout(base).metrics.read_text())
    else:
        result = fine_tune(args, version, width, resolution, RunLayout(base).model, dataset, folder)
        model_path, metrics = RunLayout(result.run_dir).model, result.metrics
    manifest = export_point(args, model_path, folder / "export")
    point = {
        "version": version, "width": width, "resolution": resolution,
        "name": point_name(version, width, resolution),
        "params": manifest["model"]["params"], "macs": _macs(model_path),
        "accuracy": metrics["test_accuracy"], "dataset": args.dataset,
        "artifacts": [{k: a[k] for k in ("file", "format", "precision", "bytes", "parity")}
                      for a in manifest["artifacts"]],
        "export_seconds": round(time.perf_counter() - start, 1),
    }
    point.update(benchmark_point(args, folder / "export", point["name"]))
    atomic_write_json(folder / "point.json", point)
    return point


def _macs(model_path: Path) -> int:
    from kerascnn.analysis.summary import summarize
    from kerascnn.nn.saving import load_model

    return int(summarize(load_model(model_path)).macs)


"""
## Tables and the latency-vs-MACs plot
"""

#: (runtime, precision) -> label, in table and plot order.
SERIES = {("litert", "fp32"): "TFLite fp32", ("litert", "int8"): "TFLite int8",
          ("onnxruntime", "fp32"): "ORT fp32", ("onnxruntime", "int8"): "ORT int8"}
ARTIFACTS = (("tflite", "fp32"), ("tflite", "int8"), ("onnx", "fp32"), ("onnx", "int8"))


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.2f} MB"


def latencies(point: dict) -> dict:
    """``{(runtime, precision): median ms}`` at the point's largest thread count, batch 1."""
    threads = max(r["threads"] for r in point["bench"])
    return {(r["runtime"], r["precision"]): r["median_ms"] for r in point["bench"]
            if r["threads"] == threads and r["batch"] == 1}


def format_table(points: list[dict]) -> str:
    """One markdown row per point: size of each artifact and its median latency."""
    lines = [
        "| model | width | res | params | MACs | acc | " + " | ".join(f"{p} .{f}" for f, p in ARTIFACTS)
        + " | " + " | ".join(f"{name} ms" for name in SERIES.values()) + " |",
        "|---" * (6 + len(ARTIFACTS) + len(SERIES)) + "|",
    ]
    for p in points:
        size = {(a["format"], a["precision"]): a["bytes"] for a in p["artifacts"]}
        ms = latencies(p)
        lines.append(
            f"| {p['version']} | {p['width']} | {p['resolution']} | {p['params'] / 1e6:.2f} M | "
            f"{p['macs'] / 1e6:.0f} M | {p['accuracy']:.1%} | "
            + " | ".join(_megabytes(size[k]) for k in ARTIFACTS) + " | "
            + " | ".join(f"{ms[k]:.2f}" if k in ms else "-" for k in SERIES) + " |"
        )
    return "\n".join(lines)


def plot_latency_vs_macs(points: list[dict], path: Path) -> str:
    """Median latency against MACs, log-log with plain numbers on the axes.

    One colour per runtime and precision, one marker per MobileNet version; the
    points of one (version, width) are joined across resolutions. The points are
    not labelled (the labels of a sweep overlap): ``sweep.md`` names them.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from kerascnn.analysis import plots

    threads = max(r["threads"] for p in points for r in p["bench"])
    fig, ax = plots.new_figure(figsize=(7, 4.8))
    markers = {"v1": "o", "v2": "s"}
    for index, (key, label) in enumerate(SERIES.items()):
        color = f"C{index}"
        groups: dict[tuple, list[dict]] = {}
        for p in points:
            groups.setdefault((p["version"], p["width"]), []).append(p)
        for (version, _), group in groups.items():
            group = sorted(group, key=lambda p: p["macs"])
            ax.plot([p["macs"] / 1e6 for p in group], [latencies(p).get(key, np.nan) for p in group],
                    color=color, marker=markers[version], markersize=4, linewidth=0.8, alpha=0.85)
        ax.plot([], [], color=color, linewidth=2, label=label)
    for version in sorted({p["version"] for p in points}):
        ax.plot([], [], color="grey", marker=markers[version], linestyle="none", label=f"MobileNet{version.upper()}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("multiply-adds per image (millions)")
    ax.set_ylabel(f"median latency, batch 1, {threads} threads (ms)")
    ax.set_title("MobileNet latency vs. MACs (widths and resolutions: sweep.md)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return plots.save_figure(fig, path)


"""
## The sweep
"""


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = check_output_folder(args.out, force=args.force)  # before minutes of training
    combinations = sweep_points(args)
    if not combinations:
        raise ValueError("Nothing to sweep: no width is offered by the chosen versions.")

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn import data
    from kerascnn.core.files import atomic_directory, atomic_write_json, atomic_write_text
    from kerascnn.runtime import default_threads

    args.threads = args.threads or [default_threads()]
    dataset = data.load(args.dataset, args.data_dir)
    points, bases = [], {}
    with atomic_directory(out, force=args.force) as folder:  # moved into place when complete
        for version, width, resolution in combinations:
            if (version, width) not in bases:
                bases[(version, width)] = base = folder / point_name(version, width, f"train{TRAIN_RESOLUTION}")
                train_base(args, version, width, dataset, base)
            points.append(run_point(args, version, width, resolution, dataset,
                                    folder / point_name(version, width, resolution), bases[(version, width)]))
        table = format_table(points)
        atomic_write_json(folder / "sweep.json", {"points": points})
        atomic_write_text(folder / "sweep.md", table + "\n")
        plot_latency_vs_macs(points, folder / "latency_vs_macs.png")
    print(table)
    print(f"wrote {out / 'sweep.json'}, {out / 'sweep.md'}, {out / 'latency_vs_macs.png'}")
    return {"points": points, "out": str(out)}


if __name__ == "__main__":
    run_script(main)
