"""Triplet loss and online mining: batch-all, batch-hard and semi-hard side by side, and a collapse caught.

Title: Triplet-loss mining strategies compared
Description: FaceNet's triplet loss (Schroff et al. 2015) only learns from
triplets that violate the margin, so *which* triplets a batch uses decides
what is learned. With batches of P classes x K examples every anchor has
positives and negatives in the batch, and the loss mines them online:

- ``batch-all``: every valid triplet with a positive loss (Hermans et al. 2017);
- ``batch-hard``: per anchor, its farthest positive and nearest negative (Hermans et al.);
- ``semi-hard``: per anchor-positive pair, the nearest negative that is still farther
  than the positive (FaceNet section 3.2).

Each strategy trains the same small tower from the same seed; the log shows the
mean positive and negative squared distances and the fraction of active
triplets, and the table compares test retrieval (precision@1, MAP@R) and
verification AUC. Hard mining from the very first step can pull every embedding
onto one point: all distances near 0, the loss stuck at the margin. The script
detects that *collapse* and says so (``--lr 0.3 --strategies batch-hard`` shows it
on digits). A BatchNorm right before the L2 normalisation ("BNNeck", Luo et al.
2019) or a semi-hard warm-up are the usual cures.

References: Schroff, Kalenichenko, Philbin, "FaceNet", CVPR 2015; Hermans, Beyer,
Leibe, "In Defense of the Triplet Loss for Person Re-Identification", 2017.

Run it::

    python apps/triplet_mining.py                          # digits, three strategies, ~1 CPU minute
    python apps/triplet_mining.py --dataset mnist --data-dir ../shared/data --epochs 5
    python apps/triplet_mining.py --lr 0.3 --strategies batch-hard       # watch it collapse
"""

from __future__ import annotations

import argparse

from kerascnn.core.options import non_negative_int, positive_float, positive_int
from kerascnn.core.script import run_script

MININGS = ("batch-all", "batch-hard", "semi-hard")
#: Mean negative squared distance (of 0..4 on the unit sphere) below which, with the loss near the margin, the
#: embeddings have collapsed onto one point.
COLLAPSED_NEGATIVE_DISTANCE = 0.01


def strategies(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in MININGS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"strategies are {', '.join(MININGS)}; got {text!r}")
    return names


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="digits", help="any labelled data set (digits, mnist, omniglot, ...)")
    parser.add_argument("--data-dir", help="folder of the offline data (default: $KERASCNN_DATA)")
    parser.add_argument("--strategies", type=strategies, default=list(MININGS), help="comma list of minings")
    parser.add_argument("--margin", type=positive_float, default=0.2, help="margin on squared L2 (default 0.2)")
    parser.add_argument("--embedding-dim", type=positive_int, default=32)
    parser.add_argument("--classes-per-batch", type=positive_int, default=8, help="P of the P x K batches")
    parser.add_argument("--examples-per-class", type=positive_int, default=4, help="K of the P x K batches")
    parser.add_argument("--epochs", type=positive_int, default=6)
    parser.add_argument("--steps", type=positive_int, default=None, help="batches per epoch (default: one pass)")
    parser.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras
    import numpy as np

    from kerascnn import data
    from kerascnn.analysis.retrieval import retrieval_scores
    from kerascnn.analysis.verification import roc
    from kerascnn.data import samplers
    from kerascnn.nn import losses
    from kerascnn.tasks.metric import build_embedding_network, embed, raw_pixel_model
    from kerascnn.training.modeling import channel_statistics
    from kerascnn.training.seeding import set_global_seed

    # ## The data: P x K batches of the training split; retrieval and verification on the test split.
    dataset = data.load(args.dataset, args.data_dir)
    p, k = args.classes_per_batch, args.examples_per_class
    steps = args.steps or max(1, len(dataset.x_train) // (p * k))
    print(f"{dataset.name}: {len(dataset.x_train)} training images of {dataset.num_classes} classes, batches of "
          f"{p} classes x {k} examples, {steps} batches per epoch")
    statistics = channel_statistics(dataset.x_train)

    rows = {}
    for mining in args.strategies:
        # ## One run per strategy: same seed, same tower, same batches.
        set_global_seed(args.seed)
        batches = samplers.balanced_batches(dataset.x_train, dataset.y_train, classes_per_batch=p,
                                            examples_per_class=k, seed=args.seed, batches_per_epoch=steps)
        network = build_embedding_network("triplet", dataset.input_shape, None,
                                          {"tower": "small", "embedding_dim": args.embedding_dim})
        model = raw_pixel_model(network, dataset.input_shape, *statistics, name=f"triplet_{mining}")
        model.compile(optimizer=keras.optimizers.Adam(args.lr),
                      loss=losses.TripletLoss(margin=args.margin, mining=mining),
                      metrics=losses.epoch_metrics(args.margin))
        print(f"\n--- {mining} mining ---")
        log = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(
            f"epoch {epoch + 1}: loss {logs['loss']:.4f}, positive d^2 {logs['positive_distance']:.3f}, "
            f"negative d^2 {logs['negative_distance']:.3f}, active triplets {logs['active_triplets']:.1%}"))
        history = model.fit(batches, epochs=args.epochs, shuffle=False, verbose=0, callbacks=[log]).history

        # ## Evaluate: retrieval on the test split, verification AUC on random test pairs.
        embeddings = embed(model, dataset.x_test)
        scores = retrieval_scores(embeddings, dataset.y_test)
        first, second, same = samplers.make_pairs(dataset.y_test, 2000, np.random.default_rng(0))
        auc = roc(((embeddings[first] - embeddings[second]) ** 2).sum(1), same)["auc"]
        negatives = history["negative_distance"][-1]
        collapsed = bool(negatives < COLLAPSED_NEGATIVE_DISTANCE and history["loss"][-1] > 0.5 * args.margin)
        if collapsed:
            print(f"WARNING: {mining} mining collapsed the embeddings (mean negative d^2 {negatives:.3f}, loss "
                  f"{history['loss'][-1]:.3f} stuck near the margin {args.margin}): every image maps to about the "
                  "same point. Lower --lr, use semi-hard mining first, or put a BatchNorm before the L2 layer.")
        rows[mining] = {"precision_at_1": scores["precision_at_1"], "map_at_r": scores["map_at_r"], "auc": auc,
                        "final_loss": history["loss"][-1], "collapsed": collapsed}

    # ## The comparison.
    print(f"\n{'mining':<11} {'precision@1':>11} {'MAP@R':>7} {'AUC':>6} {'loss':>7}")
    for mining, row in rows.items():
        flag = "  collapsed" if row["collapsed"] else ""
        print(f"{mining:<11} {row['precision_at_1']:>11.2%} {row['map_at_r']:>7.3f} {row['auc']:>6.3f} "
              f"{row['final_loss']:>7.4f}{flag}")
    return rows


if __name__ == "__main__":
    run_script(main)
