"""Title: int8 recipes on this CPU: which ones pay off, and which ones lose accuracy
Description: Quantise one trained model with each onnxruntime int8 recipe and LiteRT's, then time every artifact x session option and measure its accuracy.

`kerascnn export --quantize int8` ships one int8 recipe, chosen from this CPU's
flags (`kerascnn/export/int8_settings.py`). This app shows why it is that recipe.
It quantises the same trained model with each alternative, starting from the same
pre-processed graph and the same calibration ranges, and with the library's own
quantisation, so it measures what the export ships. The input normalisation stays
in float, after the NHWC -> NCHW transpose. It then times every artifact x session
option in interleaved rounds at batch 1, and measures top-1 agreement with the
Keras model and top-1 accuracy on held-out test images.

    kerascnn train lenet5 --dataset digits --epochs 5 --run-dir runs/lenet5-digits
    python apps/int8_recipes.py runs/lenet5-digits --out exports/int8-recipes-lenet5
    python apps/int8_recipes.py exports/mobilenet-issue15/mobilenet_v2_1.0_224/run \\
        --out exports/int8-recipes --rounds 10                  # the MobileNetV2 224 table in README.md

It writes every artifact and `int8_options.json` (all rows, the CPU, the load average) to
`--out`, and prints the table. The numbers are only as quiet as the machine: read the
ratios, and check the load average printed beside them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.core.options import comma_list, positive_int
from kerascnn.core.script import run_script

"""
## 1. The recipes

onnxruntime's x86 integer GEMM (MLAS) has its fast kernels for **uint8 activations x
int8 weights** (U8S8). The products are summed differently depending on the CPU:

* **AVX-512 VNNI / AVX-VNNI / AMX-INT8** have `vpdpbusd` (or a tile multiply). It adds
  four uint8 x int8 products straight into int32, so full 8-bit weights are exact.
* **AVX2 or AVX-512 without VNNI** use `vpmaddubsw`, which first adds *pairs* of
  products into a saturating int16. 255 x 127 x 2 overflows it. **7-bit weights**
  (`reduce_range`) cannot overflow, and they cost no speed. On such a CPU, 8-bit
  weights cut MobileNetV2's agreement to 84.8 %.

So the export uses 8-bit weights on a VNNI CPU and 7-bit weights elsewhere. Everything else is
the same on every CPU, and each alternative below shows why:

* **QDQ against QOperator**: QuantizeLinear/DequantizeLinear pairs around float ops,
  which the CPU provider fuses into `QLinearConv`/`QGemm`, against integer ops written
  out. They run at the same speed, and QDQ is the format onnxruntime recommends.
* **s8s8** (int8 activations, onnxruntime's QDQ default): the residual `Add`s stay
  unfused, with layout `Transpose`s between them, so it is slower. The session option
  `session.qdqisint8allowed=1` forces that path through unfused kernels, and it is
  slower still.
* **per-tensor against per-channel weights**: BatchNorm folded into a depthwise
  filter gives each channel its own range, so one scale per tensor wipes the small
  channels out. MobileNetV2 fell to about half its accuracy.
"""

#: The onnxruntime recipes compared: name -> every ``--int8`` setting (``kerascnn.export.int8_settings.OPTIONS``).
#: Names read ``<format>_<activations><weights>_<per-channel|per-tensor>_<weight bits>``.
RECIPES = {
    "qdq_u8s8_pc_7bit": {"reduce_range": True},
    "qdq_u8s8_pc_8bit": {"reduce_range": False},
    "qdq_s8s8_pc_8bit": {"activations": "int8", "reduce_range": False},
    "qop_u8s8_pc_8bit": {"format": "qoperator", "reduce_range": False},
    "qdq_u8s8_pt_8bit": {"per_channel": False, "reduce_range": False},
}
#: The float32 and LiteRT artifacts they are compared with.
ONNX_FP32, TFLITE_FP32, TFLITE_INT8 = "onnx_fp32", "tflite_fp32", "tflite_int8"


def write_artifacts(model, signature, x_calibrate, folder: Path, scratch: Path) -> dict[str, Path]:
    """Every compared artifact in ``folder``: name -> file, written with the export's own functions."""
    from kerascnn.export import int8_settings, quantize, tflite
    from kerascnn.export import onnx as onnx_export

    shape, dtype = signature
    files = {ONNX_FP32: folder / f"{ONNX_FP32}.onnx"}
    onnx_export.export_onnx(model, files[ONNX_FP32], input_shape=shape, input_dtype=dtype)
    for name, settings in RECIPES.items():
        files[name] = folder / f"{name}.onnx"
        quantize.quantize_onnx_static(files[ONNX_FP32], files[name], x_calibrate, onnx_export.INPUT_NAME, scratch,
                                      settings=int8_settings.choose(settings))
    saved_model = tflite.export_saved_model(model, scratch / "saved_model", input_shape=shape, input_dtype=dtype)
    for name, precision in ((TFLITE_FP32, "fp32"), (TFLITE_INT8, "int8")):
        files[name] = folder / f"{name}.tflite"
        files[name].write_bytes(tflite.convert_tflite(saved_model, precision, x_calibrate, name=model.name))
    return files


def recipe_here() -> str:
    """The name of the recipe ``kerascnn export`` chooses on this CPU."""
    from kerascnn.export import int8_settings

    chosen = int8_settings.this_cpu()
    return next(name for name, settings in RECIPES.items()
                if int8_settings.choose(settings, flags=chosen.chosen_for) == chosen)


"""
## 2. The session options

The same file can run very differently depending on how the runtime is set up:

* onnxruntime's **graph optimisation level**. `ORT_ENABLE_BASIC` only folds
  constants and removes redundant nodes, so the QDQ pairs stay unfused and every
  quantised op runs in float between a dequantise and a quantise. `ORT_ENABLE_EXTENDED`
  fuses them into integer ops, but without the layout transformer (NCHWc for float
  convolutions, NHWC for quantised ones). `ORT_ENABLE_ALL`, what kerascnn uses, has both.
* LiteRT's **XNNPACK delegate** is applied by default. `BUILTIN_WITHOUT_DEFAULT_DELEGATES`
  runs TFLite's reference builtin kernels instead.
"""


class Setting(NamedTuple):
    """One timed configuration: an artifact in a session option."""

    artifact: str
    option: str  # ORT_ENABLE_<option> (+ a session config entry) for ONNX; xnnpack / builtin for TFLite

    @property
    def changes_outputs(self) -> bool:
        """Whether the option may change the numbers (then accuracy is measured in it, not only time)."""
        return self.option in ("ALL", "xnnpack") or "=" in self.option


#: ``ORT_ENABLE_ALL`` plus the session config entry that lets int8 activations take the s8s8 kernels.
INT8_ALLOWED = "ALL+session.qdqisint8allowed=1"


def settings_compared() -> list[Setting]:
    """The artifact x option pairs in the table, in its order."""
    rows = [Setting(ONNX_FP32, "ALL"), Setting(ONNX_FP32, "EXTENDED")]
    rows += [Setting(name, "ALL") for name in RECIPES]
    rows += [Setting("qdq_u8s8_pc_8bit", "EXTENDED"), Setting("qdq_u8s8_pc_8bit", "BASIC")]
    rows.append(Setting("qdq_s8s8_pc_8bit", INT8_ALLOWED))
    rows += [Setting(name, delegate) for delegate in ("xnnpack", "builtin") for name in (TFLITE_FP32, TFLITE_INT8)]
    return rows


def open_runtime(path: Path, option: str, threads: int):
    """A :class:`kerascnn.runtime.Runtime` on ``path``, its session replaced by one with ``option``."""
    from kerascnn.runtime import sessions

    if path.suffix == ".tflite":
        runtime = sessions.TFLiteRuntime(path, threads)
        if option == "builtin":
            from ai_edge_litert.interpreter import Interpreter, OpResolverType

            runtime.interpreter = Interpreter(
                model_path=str(path), num_threads=threads,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )  # fmt: skip
            runtime.interpreter.allocate_tensors()
        return runtime
    import onnxruntime as ort

    runtime = sessions.OnnxRuntime(path, threads)
    level, _, entry = option.partition("+")
    if (level, entry) != ("ALL", ""):
        options = sessions.onnx_session_options(threads)  # kerascnn's settings, then the one changed
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, f"ORT_ENABLE_{level}")
        if entry:
            options.add_session_config_entry(*entry.split("="))
        runtime.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return runtime


"""
## 3. Measure: agreement and accuracy once, speed in interleaved rounds

Accuracy is measured at the largest thread count, in each option that may change the
numbers. Timing uses `kerascnn.bench.timing.time_rounds`: every round runs a burst of
`--calls` calls of each configuration in turn, so a burst of load from another process
slows them all alike. The table reports the median over rounds and the fastest round.
"""


def measure(files: dict[str, Path], inputs: dict, reference: np.ndarray, labels: np.ndarray, task, args) -> list[dict]:
    """One row per setting x thread count: median and fastest-round ms, bytes, agreement, accuracy."""
    from kerascnn.bench.discover import RUNTIMES, Artifact
    from kerascnn.bench.timing import Config, time_rounds
    from kerascnn.export import accuracy

    threads = sorted(set(args.threads))
    configs, quality = [], {}
    for setting in settings_compared():
        path = files[setting.artifact]
        for count in threads:
            runtime = open_runtime(path, setting.option, count)
            if count == threads[-1] and setting.changes_outputs:
                x = inputs["verify"]
                outputs = np.concatenate([runtime.run(x[i : i + 50]) for i in range(0, len(x), 50)])
                quality[setting] = {
                    "agreement": task.compare(reference, outputs)["top1_agreement"],
                    "accuracy": accuracy.top1_accuracy(outputs, labels),
                }
            tensor = runtime.prepare(inputs["verify"][:1])
            call = (lambda r, t: lambda: r.invoke(t))(runtime, tensor)
            for _ in range(5):  # warm-up: buffers, packed weights
                call()
            precision = "fp32" if setting.artifact in (ONNX_FP32, TFLITE_FP32) else "int8"
            artifact = Artifact(path, RUNTIMES[runtime.format], precision, path.stat().st_size)
            configs.append((setting, Config(artifact, setting.option, count, 1, call)))
    time_rounds([config for _, config in configs], runs=args.rounds * args.calls, rounds=args.rounds)
    rows = []
    for setting, config in configs:
        rounds_ms = [1e3 * statistics.fmean(config.times[i : i + args.calls])
                     for i in range(0, len(config.times), args.calls)]
        rows.append({
            "artifact": setting.artifact, "option": setting.option, "threads": config.threads,
            "median_ms": statistics.median(rounds_ms), "min_ms": min(rounds_ms),
            "bytes": config.artifact.size_bytes, **quality.get(setting, {}),
        })  # fmt: skip
    return rows


def format_table(result: dict) -> str:
    """The rows as a text table (agreement and accuracy where they were measured)."""
    load = " -> ".join(f"{value[0]:.2f}" if value else "?" for value in (result["load_before"], result["load_after"]))
    lines = [f"{result['cpu'][0]} ({', '.join(result['cpu'][1])}); load average {load}; "
             f"recipe `kerascnn export` chooses here: {result['recipe_here']}",
             f"{'artifact':<20} {'option':<32} {'threads':>7} {'median ms':>10} {'fastest':>8} {'MB':>6} "
             f"{'agree':>6} {'acc':>6}"]
    for row in result["rows"]:
        quality = "".join(f" {row[k]:6.1%}" if k in row else f" {'':>6}" for k in ("agreement", "accuracy"))
        lines.append(f"{row['artifact']:<20} {row['option']:<32} {row['threads']:>7} {row['median_ms']:10.2f} "
                     f"{row['min_ms']:8.2f} {row['bytes'] / 1e6:6.2f}{quality}")
    return "\n".join(lines)


"""
## 4. Putting it together
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1].removeprefix("Description: "))
    parser.add_argument("model", help="a training run folder holding model.keras, or a .keras file")
    parser.add_argument("--out", default="exports/int8-recipes", help="output folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty --out once the new one is complete")
    parser.add_argument("--rounds", type=positive_int, default=15, help="interleaved timing rounds (default: 15)")
    parser.add_argument("--calls", type=positive_int, default=10, help="timed calls per round (default: 10)")
    parser.add_argument("--samples", type=positive_int, default=500,
                        help="held-out test images for agreement and accuracy (default: 500)")
    parser.add_argument("--threads", type=comma_list(positive_int), default=None,
                        help="thread counts to time (default: 1 and all cores)")
    parser.add_argument("--dataset", default=None,
                        help="labelled data set to calibrate and measure on (default: the run's)")
    parser.add_argument("--data-dir", default=None, help="folder holding offline data sets (default: the run's)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    from kerascnn.export import CALIBRATION_SAMPLES, plan_export
    from kerascnn.export.calibration import RANDOM, resolve_source
    from kerascnn.runtime import default_threads

    args.threads = args.threads or sorted({1, default_threads()})
    # The checks `kerascnn export --quantize none,int8` makes, before anything is loaded.
    plan = plan_export(args.model, formats=["onnx", "tflite"], quantize=["none", "int8"], out=args.out,
                       force=args.force, samples=args.samples)
    source, data_dir = resolve_source(args.dataset, args.data_dir, plan.run)
    if source == RANDOM:
        raise UsageError(f"{plan.model_path} has no training run beside it that names its data set: "
                         "pass --dataset (accuracy needs labelled test images).")

    from kerascnn.core.files import atomic_directory, atomic_write_json
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn.bench.machine import cpu_info, load_average
    from kerascnn.core.versions import versions
    from kerascnn.export import accuracy, parity
    from kerascnn.export.calibration import sample_inputs
    from kerascnn.nn.saving import load_model

    model = load_model(plan.model_path)
    signature = plan.task.input_signature(model)
    inputs = sample_inputs(plan.task, source, data_dir, signature, args.samples, CALIBRATION_SAMPLES)
    labels = accuracy.verify_labels(inputs, len(inputs["verify"]), plan.task.name)
    reference = parity.reference_outputs(model, inputs["verify"])
    with tempfile.TemporaryDirectory() as scratch, atomic_directory(plan.out, args.force) as folder:
        print(f"quantising {plan.model_path} ({len(RECIPES)} onnxruntime recipes, LiteRT fp32 and int8) ...")
        files = write_artifacts(model, signature, inputs["calibrate"], folder, Path(scratch))
        print(f"timing {len(settings_compared()) * len(args.threads)} configurations x {args.rounds} rounds "
              f"of {args.calls} calls; measuring on {len(labels)} test samples: {inputs['description']} ...")
        load_before = load_average()
        rows = measure(files, inputs, reference, labels, plan.task, args)
        result = {
            "model": str(plan.model_path), "dataset": source, "samples": len(labels),
            "calibration_samples": len(inputs["calibrate"]), "rounds": args.rounds, "calls": args.calls,
            "cpu": cpu_info(), "load_before": load_before, "load_after": load_average(),
            "recipe_here": recipe_here(), "recipes": RECIPES, "rows": rows,
            "date": time.strftime("%Y-%m-%d %H:%M"), "versions": versions(),
        }  # fmt: skip
        atomic_write_json(folder / "int8_options.json", result)
    print(format_table(result))
    print(f"wrote {plan.out / 'int8_options.json'}")
    return result


if __name__ == "__main__":
    run_script(main)
