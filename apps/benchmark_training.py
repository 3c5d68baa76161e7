"""Training benchmarks on the offline MNIST split (the numbers in the README).

Title: training benchmarks
Description: three measurements, each runnable alone:

* ``lenet``: ``kerascnn train lenet5 --dataset mnist`` with the default recipe
  (target >= 98.0 % test accuracy within 15 epochs), with its wall time;
* ``best``: the project's best zoo recipe on the same split (target >= 98.8 %):
  ResNet-20 with translation + rotation augmentation, Adam and a cosine decay;
* ``pipeline``: training steps/s when fed by the ``tf.data`` pipeline with
  augmentation on, relative to the same model fed from tensors already in memory
  (target >= 0.9x): the pipeline prepares the next batches on other threads while
  the model trains (``prefetch``), so augmentation should cost (almost) nothing.

Run (``../shared/data`` holds the MNIST test file; the split is images 0-7,999
train, 8,000-9,999 test)::

    python apps/benchmark_training.py --data-dir ../shared/data            # all three
    python apps/benchmark_training.py --data-dir ../shared/data --only pipeline

Results go to ``--out`` (``runs/benchmarks/training.json``), one JSON object per benchmark.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from kerascnn.core.options import non_negative_int, positive_int
from kerascnn.core.script import check_output_file, run_script

BENCHMARKS = ("lenet", "best", "pipeline")

# The documented best recipe (also: kerascnn train resnet20 --dataset mnist --epochs 15
#   --batch-size 128 --augment translate:0.1,rotate:10).
BEST_RECIPE = dict(model="resnet20", epochs=15, batch_size=128, augment="translate:0.1,rotate:10")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding mnist/ (default: $KERASCNN_DATA)")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="override the epochs of the recipes (smoke runs)")
    parser.add_argument("--steps", type=positive_int, default=None, help="cap batches per epoch (smoke runs)")
    parser.add_argument("--pipeline-model", default="resnet20", help="model for the pipeline benchmark")
    parser.add_argument("--pipeline-steps", type=positive_int, default=16, help="timed steps per feed and round")
    parser.add_argument("--rounds", type=positive_int, default=3, help="alternating timing rounds (median reported)")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default="runs/benchmarks/training.json",
                        help="results JSON; the recipe run directories go beside it")
    return parser.parse_args(argv)


def recipe_benchmark(name: str, args, **recipe) -> dict:
    """Train a recipe into ``<out folder>/<name>-run`` and report accuracy and time."""
    from kerascnn.training import train

    model = recipe.pop("model")
    if args.epochs:
        recipe["epochs"] = args.epochs
    run_dir = Path(args.out).parent / f"{name}-run-{time.strftime('%Y%m%d-%H%M%S')}"
    start = time.perf_counter()
    result = train(model, args.dataset, data_dir=args.data_dir, run_dir=run_dir, seed=args.seed,
                   steps_per_epoch=args.steps, quiet=True, **recipe)
    wall = time.perf_counter() - start
    print(result.summary())
    m = result.metrics
    return {"model": model, "recipe": recipe, "test_accuracy": m["test_accuracy"],
            "epochs": m["epochs_completed"], "train_seconds": m["train_seconds"], "wall_seconds": round(wall, 1),
            "run_dir": str(result.run_dir)}


def pipeline_benchmark(args) -> dict:
    """Steps/s of ``model.fit`` fed by the augmenting tf.data pipeline vs by in-memory tensors.

    The two feeds train two copies of the same model and take turns, epoch by
    epoch, for ``--rounds`` rounds after a warm-up (tracing) epoch each; the
    ratio of the median rates is reported, so a change in machine load affects
    both alike.
    """
    import statistics

    import numpy as np
    import tensorflow as tf

    from kerascnn import data
    from kerascnn.training.seeding import set_global_seed
    from kerascnn.training.trainer import compile_model
    from kerascnn.training.config import TrainConfig

    set_global_seed(args.seed, deterministic=False)  # measure speed, as a user running for speed would
    dataset = data.load(args.dataset, args.data_dir)
    config = TrainConfig.from_options(args.pipeline_model, args.dataset, **BEST_RECIPE_FOR_PIPELINE)
    steps = args.steps or args.pipeline_steps
    batch = config.batch_size
    x, y = dataset.x_train, dataset.y_train

    # In memory: float32 tensors already decoded and batched; nothing is computed per step.
    images, labels = tf.constant(x.astype(np.float32)), tf.constant(y)
    in_memory = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch).repeat()
    # The training pipeline: uint8 cache -> seeded shuffle -> batch -> float32 -> augment -> prefetch.
    pipeline = data.pipeline(x, y, batch_size=batch, shuffle=True, seed=args.seed, augment=config.augment).repeat()

    feeds = {"memory": (compile_model(config, dataset, x, 1e-3), in_memory),
             "pipeline": (compile_model(config, dataset, x, 1e-3), pipeline)}
    for model, feed in feeds.values():  # warm-up: tracing, cache filling
        model.fit(feed, epochs=1, steps_per_epoch=max(2, steps // 4), shuffle=False, verbose=0)
    rates: dict[str, list[float]] = {name: [] for name in feeds}
    for _ in range(args.rounds):
        for name, (model, feed) in feeds.items():
            start = time.perf_counter()
            model.fit(feed, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
            rates[name].append(steps / (time.perf_counter() - start))
    memory_rate, pipeline_rate = (statistics.median(rates[name]) for name in ("memory", "pipeline"))
    ratio = pipeline_rate / memory_rate
    print(f"input pipeline ({args.pipeline_model}, batch {batch}, augment {config.augment}): "
          f"{pipeline_rate:.2f} steps/s vs {memory_rate:.2f} in memory = {ratio:.2f}x")
    return {"model": args.pipeline_model, "batch_size": batch, "augment": config.augment, "steps": steps,
            "rounds": args.rounds, "pipeline_steps_per_s": round(pipeline_rate, 3),
            "memory_steps_per_s": round(memory_rate, 3), "ratio": round(ratio, 3),
            "rates": {k: [round(v, 3) for v in r] for k, r in rates.items()}, "load_average": os.getloadavg()[0]}


BEST_RECIPE_FOR_PIPELINE = {k: v for k, v in BEST_RECIPE.items() if k not in ("model", "epochs")}


def main(argv=None) -> dict:
    args = parse_args(argv)
    check_output_file(args.out, suffixes=(".json",))  # before minutes of training

    from kerascnn.core.files import atomic_write_json
    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()

    chosen = args.only or list(BENCHMARKS)
    results = {"load_average_before": os.getloadavg()[0]}
    if "lenet" in chosen:
        results["lenet"] = recipe_benchmark("lenet", args, model="lenet5")
    if "best" in chosen:
        results["best"] = recipe_benchmark("best", args, **BEST_RECIPE)
    if "pipeline" in chosen:
        results["pipeline"] = pipeline_benchmark(args)
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    run_script(main)
