"""Transfer learning with little, similar data: linear probe vs fine-tuning vs from scratch.

Title: Transfer learning, the lecture's "little data / similar data" case
Description: pretrain LeNet-5 on MNIST digits 0-4, then learn digits 5-9 from only
50 images per class three ways:

* **from scratch**: a fresh LeNet-5 on the 250 images;
* **linear probe**: the pretrained network frozen (``freeze="base"``), only a new
  classifier trained: the lecture's advice for very little, similar data;
* **fine-tune**: then every layer of the probed network trained on, with a 10x
  smaller learning rate than the probe's (train the new head first, then fine-tune).

Features learned on 0-4 (strokes, curves, junctions) transfer to 5-9, so both
pretrained variants beat training from scratch on so little data.

Reference: Yosinski, Clune, Bengio, Lipson, "How transferable are features in deep
neural networks?", NeurIPS 2014.

Run it (offline, the project's MNIST split)::

    python apps/transfer_learning.py --data-dir ../shared/data
    python apps/transfer_learning.py --dataset digits --per-class 20   # bundled 8x8 digits

Writes one run directory per model under ``--out`` and ``transfer.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from kerascnn.core.layout import RunLayout
from kerascnn.core.options import non_negative_int, positive_float, positive_int
from kerascnn.core.script import check_output_folder, run_script


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", help="mnist (default) or digits")
    parser.add_argument("--data-dir", help="folder holding mnist/ (default: $KERASCNN_DATA)")
    parser.add_argument("--per-class", type=positive_int, default=50,
                        help="training images per new class (default 50)")
    parser.add_argument("--pretrain-epochs", type=positive_int, default=8)
    parser.add_argument("--epochs", type=positive_int, default=30, help="epochs on the small data set")
    parser.add_argument("--lr", type=positive_float, default=1e-3,
                        help="LR from scratch and for fine-tuning; the linear probe uses 10x this")
    parser.add_argument("--steps", type=positive_int, default=None, help="cap batches per epoch (smoke runs)")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default="runs/transfer", help="output folder (must be new or empty)")
    return parser.parse_args(argv)


def subset(dataset, classes, *, name: str, per_class: int | None = None, seed: int = 0):
    """The images of ``classes`` relabelled 0..k-1, optionally ``per_class`` training images each."""
    from kerascnn.data import ImageDataset

    rng = np.random.default_rng(seed)
    train = np.flatnonzero(np.isin(dataset.y_train, classes))
    if per_class is not None:
        train = np.concatenate([rng.choice(np.flatnonzero(dataset.y_train == c), per_class, replace=False)
                                for c in classes])
    test = np.flatnonzero(np.isin(dataset.y_test, classes))
    relabel = np.vectorize({c: i for i, c in enumerate(classes)}.get)
    return ImageDataset(
        name=name,
        x_train=dataset.x_train[np.sort(train)],
        y_train=relabel(dataset.y_train[np.sort(train)]),
        x_test=dataset.x_test[test],
        y_test=relabel(dataset.y_test[test]),
        class_names=[dataset.class_names[c] for c in classes],
        source=f"{dataset.name} classes {classes}" + (f", {per_class} training images each" if per_class else ""),
    )


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = check_output_folder(args.out)  # before any training

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn import data
    from kerascnn.analysis import plots
    from kerascnn.core.files import atomic_write_json
    from kerascnn.training import train

    digits = data.load(args.dataset, args.data_dir)
    old = subset(digits, [0, 1, 2, 3, 4], name=f"{digits.name}-0to4")
    new = subset(digits, [5, 6, 7, 8, 9], name=f"{digits.name}-5to9-small", per_class=args.per_class,
                 seed=args.seed)
    print(f"pretraining set: {old}\nsmall new set:   {new}")
    common = dict(seed=args.seed, steps_per_epoch=args.steps, quiet=True)

    # 1. Pretrain on the five old classes (plenty of data).
    pretrained = train("lenet5", old, epochs=args.pretrain_epochs, run_dir=out / "pretrain-0to4", **common)
    print("pretrained:  ", pretrained.summary())
    source = str(RunLayout(pretrained.run_dir).model)

    # 2. The same small data three ways. A 20 % validation split keeps the curves honest.
    small = dict(epochs=args.epochs, validation_split=0.2, **common)
    results = {}

    def run(label: str, **options):
        result = train("lenet5", new, run_dir=out / label.replace(" ", "-"), **small, **options)
        results[label] = result.metrics["test_accuracy"]
        print(f"{label:<13}", result.summary())
        return result

    run("from scratch", lr=args.lr)
    # A fresh linear classifier on frozen features: only 5 x 85 weights learn, so a
    # 10x larger learning rate is safe (and needed in so few steps).
    probe = run("linear probe", init_from=source, new_head=True, freeze="base", lr=10 * args.lr)
    # Then unfreeze everything and fine-tune from the probe (its classifier is already
    # trained, so the pretrained features are not wrecked by a random head's gradients)
    # with a 10x smaller learning rate.
    run("fine-tune", init_from=str(RunLayout(probe.run_dir).model), lr=args.lr)

    plots.plot_bars(list(results), [100 * v for v in results.values()], out / "transfer.png",
                    xlabel="test accuracy on digits 5-9 (%)", value_format="{:.1f}",
                    title=f"LeNet-5, {args.per_class} images per class of 5-9")
    atomic_write_json(out / "transfer.json", results)
    for label, accuracy in results.items():
        print(f"{label:<13} {accuracy:.2%}")
    return results


if __name__ == "__main__":
    run_script(main)
