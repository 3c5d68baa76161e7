"""The one-command tour: train, export, verify, benchmark and predict, offline, in minutes.

``kerascnn quickstart`` runs the whole pipeline of the lab on the bundled
``digits`` data set (scikit-learn's 8x8 handwritten digits: no network, no data
folder) with LeNet-5 (LeCun et al., 1998):

1. train with Keras ``fit`` into ``OUT/run`` (``kerascnn.training.trainer``);
2. export to TFLite and ONNX, float32 and full-integer int8, each verified
   against Keras (``kerascnn.export``) into ``OUT/export``;
3. benchmark every artifact and the Keras model (``kerascnn.bench``);
4. classify held-out test digits, written as PNG files, with onnxruntime
   (``kerascnn.runtime``, as ``kerascnn predict`` does);
5. print one table and the paths of everything written.

The output folder is built in a temporary sibling and moved into place at the
end: an interrupted quickstart leaves nothing half-written, and an existing
non-empty ``OUT`` is replaced only with ``force=True`` (``--force``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerascnn import bench, runtime, tasks
from kerascnn.core.files import atomic_directory, atomic_write_json, atomic_write_text
from kerascnn.core.layout import ExportLayout, RunLayout

DEFAULT_OUT = Path("exports") / "quickstart"
MODEL = "lenet5"
DATASET = "digits"
#: Enough for ~97-99 % test accuracy on digits, well inside the 3-minute budget on 2 cores.
EPOCHS = 20
SAMPLES = 8  # held-out digits classified at the end
#: The sample PNGs are enlarged (nearest neighbour) so they can be seen; predict shrinks them back exactly.
SAMPLE_ZOOM = 8


@dataclasses.dataclass
class QuickstartResult:
    """What the quickstart wrote and measured."""

    out: Path
    metrics: dict
    manifest: dict
    bench: dict
    predictions: dict
    seconds: float
    table: str = ""

    def paths(self, root: Path | None = None) -> dict[str, Path]:
        """Everything worth opening (that exists under ``root``, default ``out``), by what it is."""
        root = Path(root or self.out)
        run, export = RunLayout(root / "run"), ExportLayout(root / "export")
        found = {
            "trained Keras model": run.model,
            "training curves": run.curves,
            "training metrics": run.metrics,
            "export manifest": export.manifest,
            **{f"{a['format']} {a['precision']}": export.path / a["file"] for a in self.manifest["artifacts"]},
            "benchmark report": root / "bench.json",
            "benchmark chart": root / "bench.png",
            "test digits (PNG)": root / "samples",
            "predictions": root / "predictions.json",
        }
        return {name: path for name, path in found.items() if path.exists()}


def run(
    out: str | os.PathLike = DEFAULT_OUT,
    *,
    force: bool = False,
    epochs: int = EPOCHS,
    seed: int = 42,
    bench_runs: int = 30,
    progress: Callable[[str], None] | None = None,
) -> QuickstartResult:
    """Train LeNet-5 on digits, export, verify, benchmark and predict into ``out``.

    Raises:
        UsageError: ``out`` exists and is not empty (and ``force`` is False), or a
            step fails (parity check, unwritable folder): nothing is left behind.
    """
    say = progress or (lambda message: None)
    out = Path(out)
    start = time.perf_counter()
    with atomic_directory(out, force=force) as tmp:  # refuses a non-empty `out` before any work
        from kerascnn.core.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()  # after the output folder was accepted; no start-up banner
        from kerascnn import data
        from kerascnn.export import export_model
        from kerascnn.training.trainer import train

        run, export = RunLayout(tmp / "run"), ExportLayout(tmp / "export")
        say(f"[1/4] training {MODEL} on {DATASET} for {epochs} epochs")
        trained = train(MODEL, DATASET, epochs=epochs, run_dir=run.path, seed=seed, quiet=True)

        say("[2/4] exporting to TFLite and ONNX (float32 and int8), checking each against Keras")
        manifest = export_model(
            run.model,
            formats=["tflite", "onnx"],
            quantize=["none", "int8"],
            calibration=DATASET,
            data_dir=None,
            opset=None,
            out=export.path,
            force=False,
        )

        say("[3/4] benchmarking every artifact (batch 1, 1 thread) and the Keras model")
        # One thread: a 60k-MAC LeNet is too small to gain from a second one (and
        # a busy machine preempts multi-threaded runs, which then wait a time slice).
        # Keras runs on the thread pool TensorFlow started with (training set it): the
        # table's threads column says how many.
        report = bench.benchmark([export.path, run.model], batches=(1,), threads=(1,), runs=bench_runs)
        _relocate(report, tmp, out)
        atomic_write_json(tmp / "bench.json", report)
        bench.plot(report, tmp / "bench.png")

        say(f"[4/4] classifying {SAMPLES} held-out test digits with onnxruntime")
        digits = data.load(DATASET)
        predictions = classify_samples(
            export.path / _artifact(manifest, "onnx", "int8")["file"],
            digits.x_test[:SAMPLES],
            digits.y_test[:SAMPLES],
            tmp / "samples",
            class_names=digits.class_names,
        )
        _relocate(predictions, tmp, out)
        atomic_write_json(tmp / "predictions.json", predictions)

        result = QuickstartResult(
            out=out,
            metrics=dict(trained.metrics),
            manifest=manifest,
            bench=report,
            predictions=predictions,
            seconds=time.perf_counter() - start,
        )
        result.table = format_summary(result, paths_root=tmp)
        atomic_write_text(tmp / "summary.txt", result.table + "\n")
    result.seconds = time.perf_counter() - start
    return result


def _artifact(manifest: dict, fmt: str, precision: str) -> dict:
    for entry in manifest["artifacts"]:
        if entry["format"] == fmt and entry["precision"] == precision:
            return entry
    raise KeyError(f"The export has no {fmt} {precision} artifact.")


def _relocate(obj, old: Path, new: Path):
    """Rewrite paths under the temporary folder ``old`` to their final place under ``new``."""
    old_text, new_text = os.fspath(old), os.fspath(new)
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, str) and value.startswith(old_text):
                obj[key] = new_text + value[len(old_text) :]
            else:
                _relocate(value, old, new)
    elif isinstance(obj, list):
        for item in obj:
            _relocate(item, old, new)
    return obj


def classify_samples(
    model_path: str | os.PathLike,
    images: np.ndarray,
    labels: np.ndarray,
    folder: str | os.PathLike,
    class_names: list[str] | None = None,
) -> dict:
    """Write ``images`` (uint8 NHWC) as PNG files and classify them with ``model_path``.

    The PNGs are enlarged ``SAMPLE_ZOOM`` times (nearest neighbour) to be visible in
    any viewer; the files go through the same decoding as ``kerascnn predict``,
    whose area-averaging shrink gives back the original pixels. Returns the
    ``predict`` JSON plus ``"true"`` per prediction and the overall ``"accuracy"``.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, (image, label) in enumerate(zip(images, labels)):
        path = folder / f"test_{i:02d}_label_{int(label)}.png"
        picture = Image.fromarray(np.asarray(image, np.uint8).squeeze(-1) if image.shape[-1] == 1 else image)
        picture.resize((picture.width * SAMPLE_ZOOM, picture.height * SAMPLE_ZOOM), Image.Resampling.NEAREST).save(path)
        files.append(path)
    result = runtime.predict_files(runtime.load_runtime(model_path), files, k=3, labels=class_names)
    for prediction, label in zip(result["predictions"], labels):
        prediction["true"] = int(label)
    result["model"] = os.fspath(model_path)
    result["accuracy"] = float(np.mean([p["top_k"][0]["class"] == p["true"] for p in result["predictions"]]))
    return result


def format_summary(result: QuickstartResult, paths_root: Path | None = None) -> str:
    """One table (artifact, size, parity, threads, latency) followed by the paths written."""
    batch_one = [r for r in result.bench["results"] if r["batch"] == 1]
    latency = {Path(r["file"]).name: r for r in batch_one if r["runtime"] in ("onnxruntime", "litert")}
    task = tasks.get(result.manifest.get("task"))
    header = (
        f"{'artifact':<24} {'runtime':<22} {'precision':<9} {'size':>9} {'vs Keras':>22} "
        f"{'threads':>7} {'median ms':>10} {'img/s':>9}"
    )
    lines = [
        f"kerascnn quickstart: {MODEL} on {DATASET}, {task.headline(result.metrics)} (Keras)",
        "",
        header,
        "-" * len(header),
    ]
    for row in (r for r in batch_one if r["runtime"].startswith("keras")):
        lines.append(
            f"{RunLayout(result.out / 'run').model.name:<24} {row['runtime']:<22} {'fp32':<9} "
            f"{bench.format_size(row['size_bytes']):>9} {'(reference)':>22} {row['threads']:>7} "
            f"{row['median_ms']:>10.3f} {row['throughput']:>9.0f}"
        )
    for artifact in result.manifest["artifacts"]:
        agreement = task.parity_summary(artifact.get("parity") or {}, artifact["precision"])
        row = latency.get(artifact["file"])
        timing = (
            f"{row['threads']:>7} {row['median_ms']:>10.3f} {row['throughput']:>9.0f}"
            if row else f"{'-':>7} {'-':>10} {'-':>9}"
        )
        runtime_name = row["runtime"] if row else artifact["format"]
        lines.append(
            f"{artifact['file']:<24} {runtime_name:<22} {artifact['precision']:<9} "
            f"{bench.format_size(artifact['bytes']):>9} {agreement:>22} {timing}"
        )
    predictions = result.predictions
    guesses = " ".join(f"{p['top_k'][0]['label']}" for p in predictions["predictions"])
    truth = " ".join(str(p["true"]) for p in predictions["predictions"])
    lines += [
        "",
        f"onnxruntime on {len(predictions['predictions'])} held-out digits ({Path(predictions['model']).name}): "
        f"predicted {guesses} | true {truth} | {predictions['accuracy']:.0%} correct",
        f"machine: {result.bench['machine']['cpu']}, {result.bench['machine']['cores']} cores; "
        f"total time {result.seconds:.0f} s",
        "",
        "written:",
    ]
    root = Path(paths_root or result.out)
    for name, path in result.paths(root).items():
        shown = result.out / path.relative_to(root)
        lines.append(f"  {name:<22} {os.fspath(shown)}")
    lines.append(f"  {'this summary':<22} {os.fspath(result.out / 'summary.txt')}")
    lines += [
        "",
        "next: kerascnn predict " + os.fspath(result.out / "export" / Path(predictions["model"]).name) + " IMAGE.png",
    ]
    return "\n".join(lines)
