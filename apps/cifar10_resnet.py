"""ResNet-20 on CIFAR-10 (He et al. 2016, section 4.2), with augmentation in the input pipeline.

Title: ResNet-20 on CIFAR-10
Description: the CIFAR ResNet recipe through ``kerascnn.training.train``: SGD with
Nesterov momentum 0.9, weight decay 1e-4, a cosine decay with one warm-up epoch,
random crops (4-pixel translation) and horizontal flips, batch 128. He et al.
report 91.25 % test accuracy for ResNet-20 (their step schedule, 164 epochs).

CIFAR-10 comes from tensorflow-datasets, so the first run needs the network::

    python apps/cifar10_resnet.py --download                  # fetch CIFAR-10 once (~160 MB)
    python apps/cifar10_resnet.py --data-dir ~/tensorflow_datasets
    python apps/cifar10_resnet.py --dataset digits --epochs 1  # offline smoke run

Each run writes a run directory (model.keras, history.csv, curves.png, ...).
"""

from __future__ import annotations

import argparse

from kerascnn.core.options import non_negative_int, positive_float, positive_int
from kerascnn.core.script import check_output_folder, run_script


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="cifar10", help="cifar10 (TFDS), or any kerascnn data set")
    parser.add_argument("--data-dir", help="prepared TFDS data dir or offline data folder")
    parser.add_argument("--download", action="store_true", help="let tensorflow-datasets download CIFAR-10")
    parser.add_argument("--model", default="resnet20", help="resnet20 / resnet32 / resnet44 / resnet56 / resnet110")
    parser.add_argument("--epochs", type=positive_int, default=60)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--lr", type=positive_float, default=0.1)
    parser.add_argument("--steps", type=positive_int, default=None, help="cap batches per epoch (smoke runs)")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--run-dir", help="output folder, new or empty (default runs/<model>-<dataset>-<time>)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.run_dir:  # before loading data and training
        check_output_folder(args.run_dir)

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn.training import train

    # Horizontal flips keep a CIFAR label (a mirrored cat is a cat); not so for digits.
    augment = "flip,translate:0.125" if args.dataset.startswith("cifar") else "translate:0.125"
    result = train(
        args.model,
        args.dataset,
        data_dir=args.data_dir,
        download=args.download,
        epochs=args.epochs,
        batch_size=args.batch_size,
        optimizer="nesterov",
        lr=args.lr,
        schedule="cosine:warmup=1" if args.epochs > 1 else "cosine",
        weight_decay=1e-4,
        augment=augment,
        steps_per_epoch=args.steps,
        seed=args.seed,
        run_dir=args.run_dir,
    )
    print(result.summary())
    return result


if __name__ == "__main__":
    run_script(main)
