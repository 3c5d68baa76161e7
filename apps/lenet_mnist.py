"""LeNet-5 on MNIST, the first CNN of the lecture, step by step with Keras fit.

Title: LeNet-5 on MNIST
Description: the training recipe of ``kerascnn train lenet5 --dataset mnist``
written out (without its validation split and run directory): raw pixels in,
normalisation inside the model, Adam with a cosine learning-rate decay,
``model.fit`` on a ``tf.data`` pipeline, test accuracy out.

Reference: LeCun, Bottou, Bengio, Haffner, "Gradient-Based Learning Applied to
Document Recognition", Proc. IEEE 1998.

Run it (offline MNIST split: images 0-7,999 of the test file train, 8,000-9,999 test)::

    python apps/lenet_mnist.py --data-dir ../shared/data
    python apps/lenet_mnist.py --dataset digits          # the bundled 8x8 digits, no data needed

It reaches >= 98 % on the offline MNIST split in 15 epochs (about 1-2 minutes on
two CPU cores); the saved ``lenet5_mnist.keras`` takes 28x28x1 images with values 0-255.
"""

from __future__ import annotations

import argparse
import math
import time

from kerascnn.core.options import non_negative_int, positive_float, positive_int
from kerascnn.core.script import check_output_file, run_script


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", help="mnist (offline IDX files or TFDS) or digits")
    parser.add_argument("--data-dir", help="folder holding mnist/ (default: $KERASCNN_DATA)")
    parser.add_argument("--epochs", type=positive_int, default=15)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="peak learning rate of the cosine decay")
    parser.add_argument("--steps", type=positive_int, default=None, help="cap batches per epoch (smoke runs)")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default="lenet5_mnist.keras", help="where to save the trained model (.keras)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    # Check where the model goes before minutes of training, not after.
    check_output_file(args.out, suffixes=(".keras",), force=args.force)

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    from kerascnn import data
    from kerascnn.core.files import atomic_save_path
    from kerascnn.training import schedules
    from kerascnn.training.seeding import set_global_seed
    from kerascnn.training.modeling import build_training_model, channel_statistics

    # Same seed -> same weights, same shuffling (TF op determinism is on).
    set_global_seed(args.seed)

    # ## The data: raw uint8 pixels, N x 28 x 28 x 1, labels 0-9.
    dataset = data.load(args.dataset, args.data_dir)
    print(dataset)

    # ## The input pipeline: cache -> shuffle (seeded) -> batch -> float32 -> prefetch.
    train_ds = data.pipeline(dataset.x_train, dataset.y_train, batch_size=args.batch_size, shuffle=True,
                             seed=args.seed)
    test_ds = data.pipeline(dataset.x_test, dataset.y_test, batch_size=256, shuffle=False, seed=args.seed)
    if args.steps:
        train_ds = train_ds.take(args.steps)

    # ## The model: Normalization (mean/variance of the training pixels) -> LeNet-5.
    # Preprocessing lives inside the model, so the saved file takes raw images.
    mean, variance = channel_statistics(dataset.x_train)
    model = build_training_model("lenet5", image_shape=dataset.input_shape, num_classes=dataset.num_classes,
                                 mean=mean, variance=variance)
    model.summary(expand_nested=True)

    # ## Optimiser: Adam, learning rate decayed along a half cosine to 0 over the run.
    steps_per_epoch = args.steps or math.ceil(len(dataset.x_train) / args.batch_size)
    learning_rate = schedules.build("cosine", initial_lr=args.lr, steps_per_epoch=steps_per_epoch,
                                    epochs=args.epochs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])

    # ## Train, then evaluate once on the held-out test images.
    start = time.perf_counter()
    model.fit(train_ds, epochs=args.epochs, shuffle=False, verbose=2)  # the pipeline shuffles, seeded
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(test_ds, verbose=0)
    with atomic_save_path(args.out) as tmp:  # never a half-written model
        model.save(tmp)
    print(f"LeNet-5 on {dataset.name}: test accuracy {test_accuracy:.2%} (loss {test_loss:.4f}) "
          f"after {args.epochs} epochs in {seconds:.0f} s; saved {args.out}")
    return {"test_accuracy": float(test_accuracy), "test_loss": float(test_loss), "seconds": seconds}


if __name__ == "__main__":
    run_script(main)
