"""What the temporal dimension adds: a 2D CNN on one frame against a 3D CNN on the whole clip.

Title: moving MNIST, 2D vs 3D convolutions
Description: every clip of ``moving_mnist`` shows one MNIST digit moving in one
of 8 directions; the label is the direction. The digit and its place in a single
frame are the same whatever the direction, so a 2D CNN (LeNet-5) trained on the
first frame of each clip cannot do better than chance (12.5 %). C3D's 3x3x3
convolutions see several frames at once and read the motion.

References: Tran, Bourdev, Fergus, Torresani, Paluri, "Learning Spatiotemporal
Features with 3D Convolutional Networks", ICCV 2015 (C3D); Srivastava, Mansimov,
Salakhutdinov, "Unsupervised Learning of Video Representations using LSTMs", ICML
2015 (moving MNIST).

Run it (the clips are generated from the offline MNIST file)::

    python apps/volumes_3d.py --data-dir ../shared/data
    python apps/volumes_3d.py --data-dir ../shared/data --frames 8 --size 48 --epochs 3   # shorter clips

Both models train through ``kerascnn.training.train`` (the ``kerascnn train`` recipe:
Adam, cosine decay, a 10 % validation split, raw pixels in) into run folders
``--out``/frame_2d and ``--out``/clip_3d, and the script prints both test accuracies.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kerascnn.core.options import non_negative_int, positive_int
from kerascnn.core.script import check_output_folder, run_script


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding mnist/ (default: $KERASCNN_DATA)")
    parser.add_argument("--frames", type=positive_int, default=16, help="frames per clip (default 16)")
    parser.add_argument("--size", type=positive_int, default=64, help="frame side in pixels (default 64)")
    parser.add_argument("--clips", type=positive_int, default=None,
                        help="use only the first N training clips (and N/4 test clips); default all 8,000")
    parser.add_argument("--epochs", type=positive_int, default=6, help="epochs for each model (default 6)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--steps", type=positive_int, default=None, help="cap batches per epoch (smoke runs)")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default="runs/volumes_3d", help="folder for the two runs (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="write into a non-empty --out")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = check_output_folder(args.out, force=args.force)  # before minutes of training

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from kerascnn import data
    from kerascnn.data import moving_mnist
    from kerascnn.data.base import ImageDataset
    from kerascnn.training import train

    # ## The clips: N x frames x size x size x 1 raw pixels, label = direction of motion (8 classes).
    mnist = data.load("mnist", args.data_dir)
    if args.clips:
        keep_train, keep_test = args.clips, max(1, args.clips // 4)
        mnist.x_train, mnist.y_train = mnist.x_train[:keep_train], mnist.y_train[:keep_train]
        mnist.x_test, mnist.y_test = mnist.x_test[:keep_test], mnist.y_test[:keep_test]
    clips = moving_mnist.from_mnist(mnist, frames=args.frames, size=args.size)
    print(clips)

    # ## The 2D baseline sees only the first frame of each clip: where the digit is, not where it goes.
    first_frames = ImageDataset("moving_mnist_first_frame", clips.x_train[:, 0], clips.y_train,
                                clips.x_test[:, 0], clips.y_test, clips.class_names, "first frame of each clip")
    options = dict(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, steps_per_epoch=args.steps,
                   quiet=True)
    results = {}
    for key, model, dataset in (("frame_2d", "lenet5", first_frames), ("clip_3d", "c3d", clips)):
        result = train(model, dataset, run_dir=Path(out) / key, **options)
        print(result.summary())
        results[key] = {"model": model, "test_accuracy": result.metrics["test_accuracy"],
                        "train_seconds": result.metrics["train_seconds"], "params": result.metrics["params"]}

    # ## One frame: chance. The clip: the direction.
    chance = 1 / clips.num_classes
    print(f"2D LeNet-5 on one frame: {results['frame_2d']['test_accuracy']:.1%}  "
          f"3D C3D on {args.frames} frames: {results['clip_3d']['test_accuracy']:.1%}  (chance {chance:.1%})")
    return results


if __name__ == "__main__":
    run_script(main)
