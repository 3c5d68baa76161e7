"""One-shot Omniglot with a metric-learning embedding: train on some alphabets, test on unseen ones.

Title: Siamese / triplet networks for one-shot Omniglot
Description: the story of Koch et al. (2015) and FaceNet (Schroff et al. 2015) on
the two offline Omniglot "background small" sets. A shared convolutional tower
maps each 105x105 character to an L2-normalised embedding; batches of P
characters x K drawings let the loss mine its pairs or triplets inside the batch;
a character never seen in training is then recognised from a single example by
its nearest neighbour in embedding space. Evaluated as the papers do: 20-way
one-shot trials on held-out alphabets, *within-alphabet* (the 20 classes of a trial
from one alphabet, Lake et al. 2015, the hard protocol) and *unstructured* (classes
from anywhere, Vinyals et al. 2016), each result labelled with its protocol.

References: Koch, Zemel, Salakhutdinov, "Siamese Neural Networks for One-shot Image
Recognition", ICML DL workshop 2015; Schroff, Kalenichenko, Philbin, "FaceNet", CVPR
2015; Hermans, Beyer, Leibe, "In Defense of the Triplet Loss", 2017.

Run it (``--data-dir`` holds ``omniglot/images_background_small{1,2}.zip``)::

    python apps/siamese_oneshot.py --data-dir ../shared/data
    python apps/siamese_oneshot.py --data-dir ../shared/data --loss contrastive
    python apps/siamese_oneshot.py --data-dir ../shared/data --loss softmax    # the classification baseline

It saves the embedding model (raw pixels in, unit vector out) for
``kerascnn oneshot embedding.keras --dataset omniglot --alphabets Korean,Sanskrit``.
"""

from __future__ import annotations

import argparse
import time

from kerascnn.core.options import non_negative_int, positive_float, positive_int
from kerascnn.core.script import check_output_file, run_script

LOSSES = ("triplet", "contrastive", "soft-margin", "cosine-triplet", "angular", "softmax")
MININGS = ("semi-hard", "batch-hard", "batch-all")
EVAL_ALPHABETS = "Korean,Sanskrit"  # 82 characters never trained on; 20-way trials fit in each


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding omniglot/ (default: $KERASCNN_DATA)")
    parser.add_argument("--eval-alphabets", default=EVAL_ALPHABETS,
                        help=f"alphabets held out of training for the one-shot test (default {EVAL_ALPHABETS})")
    parser.add_argument("--tower", default="small", help="small (conv-4), koch, or a zoo classifier name")
    parser.add_argument("--embedding-dim", type=positive_int, default=128)
    parser.add_argument("--loss", choices=LOSSES, default="triplet")
    parser.add_argument("--mining", choices=MININGS, default="semi-hard")
    parser.add_argument("--margin", type=positive_float, default=None,
                        help="margin (default: 0.2 on squared distances; contrastive 1.0)")
    parser.add_argument("--classes-per-batch", type=positive_int, default=32, help="P of the P x K batches")
    parser.add_argument("--examples-per-class", type=positive_int, default=4, help="K of the P x K batches")
    parser.add_argument("--epochs", type=positive_int, default=30)
    parser.add_argument("--steps", type=positive_int, default=None, help="batches per epoch (default: one pass)")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="peak learning rate of the cosine decay")
    parser.add_argument("--augment", default="rotate:10,translate:0.08,zoom:0.1",
                        help="augmentation spec ('none' to switch off); Koch et al. used affine distortions")
    parser.add_argument("--episodes", type=positive_int, default=100,
                        help="20-way one-shot episodes per protocol (20 trials each; default 100)")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default="embedding.keras", help="where to save the embedding model (.keras)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    check_output_file(args.out, suffixes=(".keras",), force=args.force)

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras
    import numpy as np

    from kerascnn import data
    from kerascnn.analysis import oneshot
    from kerascnn.core.errors import UsageError
    from kerascnn.core.files import atomic_save_path
    from kerascnn.data import samplers
    from kerascnn.nn import losses
    from kerascnn.tasks.metric import build_embedding_network, raw_pixel_model
    from kerascnn.training import schedules
    from kerascnn.training.modeling import channel_statistics
    from kerascnn.training.seeding import set_global_seed

    set_global_seed(args.seed)

    # ## The data: every drawing of the training alphabets; the evaluation alphabets are never seen.
    dataset = data.load("omniglot", args.data_dir)
    held_out = [a.strip() for a in args.eval_alphabets.split(",") if a.strip()]
    test_x, test_y, test_alphabet = samplers.evaluation_images(dataset, held_out)
    train_alphabets = [a for a in dataset.extra["alphabets"] if a not in held_out]
    train_x, train_y, _ = samplers.evaluation_images(dataset, train_alphabets)
    train_y = np.unique(train_y, return_inverse=True)[1]  # classes 0..C-1 for the softmax baseline
    print(f"training on {len(train_alphabets)} alphabets ({len(np.unique(train_y))} characters, {len(train_x)} "
          f"drawings); one-shot test on {', '.join(held_out)} ({len(np.unique(test_y))} characters)")

    # ## Batches of P characters x K drawings, new every epoch, augmented in the pipeline.
    p, k = args.classes_per_batch, args.examples_per_class
    steps = args.steps or max(1, len(train_x) // (p * k))
    augment = None if args.augment in ("", "none") else args.augment
    train_ds = samplers.balanced_batches(train_x, train_y, classes_per_batch=p, examples_per_class=k,
                                         seed=args.seed, batches_per_epoch=steps, augment=augment)

    # ## The model: raw pixels -> normalisation -> tower -> L2-normalised embedding.
    network = build_embedding_network("triplet", dataset.input_shape, None,
                                      {"tower": args.tower, "embedding_dim": args.embedding_dim})
    embedding = raw_pixel_model(network, dataset.input_shape, *channel_statistics(train_x), name="omniglot_embedding")
    if args.loss == "softmax":
        # Baseline: classify the training characters (softmax on a scaled cosine), keep the tower.
        logits = keras.layers.Dense(int(train_y.max()) + 1, name="classes")(
            keras.layers.Rescaling(16.0, name="scale")(embedding.output))
        trained = keras.Model(embedding.input, keras.layers.Softmax(name="softmax")(logits))
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        trained = embedding
        loss = losses.make_loss(args.loss, margin=args.margin, mining=args.mining)
        metrics = losses.epoch_metrics(0.2 if args.margin is None else args.margin)
    learning_rate = schedules.build("cosine", initial_lr=args.lr, steps_per_epoch=steps, epochs=args.epochs)
    trained.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)

    # ## Train.
    start = time.perf_counter()
    history = trained.fit(train_ds, epochs=args.epochs, shuffle=False, verbose=2).history  # new batches each epoch
    seconds = time.perf_counter() - start
    final = {name: float(values[-1]) for name, values in history.items()}
    if final.get("negative_distance", 1.0) < 1e-3:
        raise UsageError("The embeddings collapsed (all distances near 0): lower --lr or change --mining.")

    # ## One-shot 20-way trials on the unseen alphabets, under both protocols.
    results = {}
    for protocol in ("within-alphabet", "unstructured"):
        episodes = samplers.episodes(test_y, ways=20, shots=1, queries=1, count=args.episodes,
                                     rng=np.random.default_rng(0),
                                     groups=test_alphabet if protocol == "within-alphabet" else None)
        embed = lambda images: embedding.predict(images.astype("float32"), batch_size=256, verbose=0)  # noqa: E731
        results[protocol] = oneshot.evaluate_episodes(embed, test_x, episodes, protocol=protocol)
        print(f"20-way one-shot, {protocol} protocol, {results[protocol]['trials']} trials: accuracy "
              f"{results[protocol]['accuracy']:.2%}")
    with atomic_save_path(args.out) as tmp:
        embedding.save(tmp)
    label = args.loss if args.loss in ("softmax", "contrastive", "angular") else f"{args.loss} ({args.mining})"
    print(f"{label}, tower {args.tower}: trained {args.epochs} epochs in {seconds:.0f} s; saved {args.out}")
    return {"loss": args.loss, "mining": args.mining, "seconds": seconds, "final": final,
            "within_alphabet": results["within-alphabet"]["accuracy"],
            "unstructured": results["unstructured"]["accuracy"]}


if __name__ == "__main__":
    run_script(main)
