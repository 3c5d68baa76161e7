"""One-shot Omniglot with a metric-learning embedding: train on some alphabets, test on unseen ones.

Title: Siamese / triplet networks for one-shot Omniglot
Description: the story of Koch et al. (2015) and FaceNet (Schroff et al. 2015) on the two
offline Omniglot "background small" sets. A shared convolutional tower maps each 105x105
character to an L2-normalised embedding; a character never seen in training is then recognised
from a single example by its nearest neighbour in embedding space. The default recipe trains the
tower like a classifier with a large-margin softmax (CosFace, Wang et al. 2018: cosines to
learned class centres, a margin on the true class), with each character turned by 90, 180 and
270 degrees as three more classes (Vinyals et al. 2016) and Koch et al.'s random affine
distortions, on shuffled batches of 128 drawings for 20 epochs; the ``wide`` tower is a conv-4
with 64-128-256-256 filters whose last block is averaged without a max-pool, and two of them
train side by side as an ensemble (Dvornik et al. 2019: each with its own CosFace head; their
embeddings are concatenated). After training, the embedding is whitened by the training
characters' within-class covariance (WCCN, Hatch et al. 2006), so distances weigh what tells
characters apart more than what varies between drawers. ``--loss triplet|contrastive|...``
trains the same tower with a metric loss instead, mining its pairs or triplets inside batches of
P characters x K drawings. Evaluated as the papers do: 20-way one-shot trials on held-out
alphabets, *within-alphabet* (the 20 classes of a trial from one alphabet, Lake et al. 2015, the
hard protocol) and *unstructured* (classes from anywhere, Vinyals et al. 2016), each result
labelled with its protocol.

References: Koch, Zemel, Salakhutdinov, "Siamese Neural Networks for One-shot Image
Recognition", ICML DL workshop 2015; Hatch, Kajarekar, Stolcke, "Within-Class Covariance
Normalization for SVM-Based Speaker Recognition", Interspeech 2006; Schroff, Kalenichenko,
Philbin, "FaceNet", CVPR 2015; Dvornik, Schmid, Mairal, "Diversity with Cooperation: Ensemble
Methods for Few-Shot Classification", ICCV 2019; Hermans, Beyer, Leibe, "In Defense of the
Triplet Loss", 2017; Wang et al., "CosFace", CVPR 2018; Deng et al., "ArcFace", CVPR 2019;
Vinyals et al., "Matching Networks for One Shot Learning", NeurIPS 2016.

Run it (``--data-dir`` holds ``omniglot/images_background_small{1,2}.zip``)::

    python apps/siamese_oneshot.py --data-dir ../shared/data                  # the recipe: CosFace, 2 wide towers
    python apps/siamese_oneshot.py --data-dir ../shared/data --loss arcface
    python apps/siamese_oneshot.py --data-dir ../shared/data --loss triplet --mining semi-hard
    python apps/siamese_oneshot.py --data-dir ../shared/data --loss softmax   # no margin: the baseline

It saves the embedding model (raw pixels in, unit vector out) for
``kerascnn oneshot embedding.keras --dataset omniglot --alphabets Korean,Sanskrit``; with
``--runs all_runs.zip`` (Lake's 20 official runs, github.com/brendenlake/omniglot) it also
scores the benchmark the papers report, on the 20 evaluation alphabets.
"""

from __future__ import annotations

import argparse
import os
import time

from kerascnn.core.options import non_negative_int, positive_float, positive_int
from kerascnn.core.script import check_output_file, run_script

LOSSES = ("cosface", "arcface", "softmax", "triplet", "contrastive", "soft-margin", "cosine-triplet", "angular")
CLASSIFIER_LOSSES = ("cosface", "arcface", "softmax")  # trained through a cosine head over the training classes
MININGS = ("semi-hard", "batch-hard", "batch-all")
EVAL_ALPHABETS = "Korean,Sanskrit"  # 82 characters never trained on; 20-way trials fit in each


def shrinkage_or_none(text: str):
    """``--whiten``: a number in [0, 1] or ``none``."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or 'none', got {text!r}")
    return value


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding omniglot/ (default: $KERASCNN_DATA)")
    parser.add_argument("--eval-alphabets", default=EVAL_ALPHABETS,
                        help=f"alphabets held out of training for the one-shot test (default {EVAL_ALPHABETS})")
    parser.add_argument("--tower", default="wide", help="wide (conv-4, 64-128 filters, ~26 px), small, koch, or a zoo "
                        "classifier name")
    parser.add_argument("--embedding-dim", type=positive_int, default=128)
    parser.add_argument("--members", type=positive_int, default=2,
                        help="an ensemble of that many towers trained side by side, embeddings concatenated "
                             "(default 2; 3: +0.4 points for 1.75x the time)")
    parser.add_argument("--loss", choices=LOSSES, default="cosface",
                        help="cosface / arcface / softmax (classification-style; softmax: no margin) or a metric loss")
    parser.add_argument("--mining", choices=MININGS, default="semi-hard")
    parser.add_argument("--margin", type=positive_float, default=None,
                        help="margin (default: CosFace 0.2, ArcFace 0.3 rad; triplet 0.2 on d^2; contrastive 1.0)")
    parser.add_argument("--scale", type=positive_float, default=16.0, help="CosFace / ArcFace / softmax: the scale s")
    parser.add_argument("--rotations", type=positive_int, default=4, choices=(1, 2, 3, 4),
                        help="training characters turned by k * 90 degrees as new classes (default 4: x4 classes)")
    parser.add_argument("--classes-per-batch", type=positive_int, default=32,
                        help="P of the P x K batches (metric losses; classification-style losses train on shuffled "
                             "batches of P x K images)")
    parser.add_argument("--examples-per-class", type=positive_int, default=4, help="K of the P x K batches")
    parser.add_argument("--balanced", action="store_true",
                        help="P x K batches for a classification-style loss too (metric losses always use them)")
    parser.add_argument("--whiten", type=shrinkage_or_none, default=0.3, metavar="SHRINKAGE",
                        help="after training, whiten the embedding by the within-class covariance of the training "
                             "characters, shrunk by SHRINKAGE in [0, 1] (default 0.3; 'none': no whitening)")
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--steps", type=positive_int, default=None, help="batches per epoch (default: one pass)")
    parser.add_argument("--lr", type=positive_float, default=2e-3, help="peak learning rate of the cosine decay")
    parser.add_argument("--augment", default="koch",
                        help="'koch': Koch et al.'s random affine distortions (default), 'none', or a kerascnn "
                        "augmentation spec")
    parser.add_argument("--episodes", type=positive_int, default=100,
                        help="20-way one-shot episodes per protocol (20 trials each; default 100)")
    parser.add_argument("--runs", metavar="DIR_OR_ZIP",
                        help="also score the saved embedding on Lake's 20 official one-shot runs (20 evaluation "
                             "alphabets, within-alphabet): a folder of runNN/ or all_runs.zip from "
                             "github.com/brendenlake/omniglot (python/one-shot-classification/)")
    parser.add_argument("--mixed-precision", nargs="?", const="float16", default=False,
                        choices=("float16", "bfloat16"), metavar="float16|bfloat16",
                        help="16-bit activations: bfloat16 takes 1.3x less CPU time (1.1x less wall time on 2 "
                             "cores) at the same accuracy on CPUs with AVX512-BF16 or AMX-BF16 (emulated and slower "
                             "elsewhere); float16 pays off on GPUs")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default="embedding.keras", help="where to save the embedding model (.keras)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    check_output_file(args.out, suffixes=(".keras",), force=args.force)
    if args.runs:  # a wrong path fails now, not after training
        from kerascnn.analysis import oneshot

        with oneshot.opened_runs(args.runs) as folder:
            oneshot.read_runs(folder)

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras
    import numpy as np

    from kerascnn import data
    from kerascnn.core.errors import UsageError
    from kerascnn.core.files import atomic_save_path
    from kerascnn.data import samplers
    from kerascnn.data.distortions import RandomAffine
    from kerascnn.nn import losses, whitening
    from kerascnn.nn.margin_model import ClassifierTrainedEmbedding
    from kerascnn.tasks.metric import build_embedding_network, raw_pixel_model
    from kerascnn.training import schedules
    from kerascnn.training.modeling import channel_statistics
    from kerascnn.training.resources import float32_output, mixed_precision_note, precision
    from kerascnn.training.seeding import set_global_seed

    set_global_seed(args.seed)
    note = mixed_precision_note(args.mixed_precision)  # None in float32
    if note:
        print(f"note: {note}")

    # ## The data: every drawing of the training alphabets; the evaluation alphabets are never seen.
    dataset = data.load("omniglot", args.data_dir)
    held_out = [a.strip() for a in args.eval_alphabets.split(",") if a.strip()]
    test_x, test_y, test_alphabet = samplers.evaluation_images(dataset, held_out)
    train_alphabets = [a for a in dataset.extra["alphabets"] if a not in held_out]
    train_x, train_y, _ = samplers.evaluation_images(dataset, train_alphabets)
    train_y = np.unique(train_y, return_inverse=True)[1]  # classes 0..C-1 for the classifier head
    characters = len(np.unique(train_y))
    print(f"training on {len(train_alphabets)} alphabets ({characters} characters, {len(train_x)} "
          f"drawings); one-shot test on {', '.join(held_out)} ({len(np.unique(test_y))} characters)")
    statistics = channel_statistics(train_x)
    # ## Class augmentation: a character turned by 90 degrees is another character (x4 classes).
    train_x, train_y = samplers.rotated_classes(train_x, train_y, args.rotations)

    # ## Batches, augmented in the pipeline: a classification-style loss trains on plain shuffled batches (~116 of
    # ## the 640 classes each; vs 32 x 4: +1.6 points at 10 epochs, +0.3 at 30); a metric loss mines P x K batches.
    p, k = args.classes_per_batch, args.examples_per_class
    steps = args.steps or max(1, len(train_x) // (p * k))
    augment = {"": None, "none": None, "koch": RandomAffine(fill_value=255.0, seed=args.seed)}.get(
        args.augment, args.augment)
    if args.loss in CLASSIFIER_LOSSES and not args.balanced:
        train_ds = data.pipeline(train_x, train_y, batch_size=p * k, shuffle=True, seed=args.seed, augment=augment)
        train_ds = train_ds.take(steps) if args.steps else train_ds  # one pass: len(train_x) / (P x K) batches
    else:
        train_ds = samplers.balanced_batches(train_x, train_y, classes_per_batch=p, examples_per_class=k,
                                             seed=args.seed, batches_per_epoch=steps, augment=augment)

    # ## The model: raw pixels -> normalisation -> tower -> L2-normalised embedding (built under --mixed-precision's
    # ## 16-bit policy, if any; the embedding and the cosine head stay float32).
    with precision(args.mixed_precision):
        network = build_embedding_network("triplet", dataset.input_shape, None,
                                          {"tower": args.tower, "embedding_dim": args.embedding_dim,
                                           "members": args.members})
        embedding = float32_output(raw_pixel_model(network, dataset.input_shape, *statistics,
                                                   name="omniglot_embedding", whiten=args.whiten))
        metrics = losses.epoch_metrics(0.2 if args.margin is None or args.loss in CLASSIFIER_LOSSES else args.margin)
        if args.loss in CLASSIFIER_LOSSES:
            # Classify the training characters through cosines to learned class centres; keep the tower.
            trained = ClassifierTrainedEmbedding(embedding, classes=int(train_y.max()) + 1, members=args.members,
                                                 name="omniglot_classifier")
            if args.loss == "arcface":
                loss = losses.ArcFaceLoss(scale=args.scale, margin=args.margin)
            else:  # softmax: CosFace without a margin (NormFace's scaled cosine softmax)
                loss = losses.CosFaceLoss(scale=args.scale, margin=0.0 if args.loss == "softmax" else args.margin)
        else:
            trained = embedding
            loss = losses.make_loss(args.loss, margin=args.margin, mining=args.mining)
        learning_rate = schedules.build("cosine", initial_lr=args.lr, steps_per_epoch=steps, epochs=args.epochs)
        trained.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss, metrics=metrics)

    # ## Train.
    start, cpu_start = time.perf_counter(), sum(os.times()[:4])
    history = trained.fit(train_ds, epochs=args.epochs, shuffle=False, verbose=2).history  # new batches each epoch
    seconds, cpu_seconds = time.perf_counter() - start, sum(os.times()[:4]) - cpu_start
    final = {name: float(values[-1]) for name, values in history.items()}
    if final.get("negative_distance", 1.0) < 1e-3:
        raise UsageError("The embeddings collapsed (all distances near 0): lower --lr or change --mining.")

    # ## One-shot 20-way trials on the unseen alphabets, under both protocols.
    embed = lambda images: embedding.predict(images.astype("float32"), batch_size=256, verbose=0)  # noqa: E731
    if args.whiten is not None:  # the same trials before the whitening, for comparison
        before = one_shot_trials(embed, test_x, test_y, test_alphabet, args.episodes, "before whitening")
        # ## Whitening: the within-class covariance of the training drawings' embeddings, divided out.
        whitening.fit(embedding, train_x, train_y)
    results = one_shot_trials(embed, test_x, test_y, test_alphabet, args.episodes,
                              "whitened" if args.whiten is not None else "")
    with atomic_save_path(args.out) as tmp:
        embedding.save(tmp)
    lake = lake_runs(args.out, args.runs) if args.runs else {}
    mined = args.loss in ("triplet", "soft-margin", "cosine-triplet")
    label = f"{args.loss} ({args.mining})" if mined else args.loss
    print(f"{label}, tower {args.tower}: trained {args.epochs} epochs in {seconds:.0f} s ({cpu_seconds:.0f} s CPU); "
          f"saved {args.out}")
    return {"loss": args.loss, "mining": args.mining, "seconds": seconds, "cpu_seconds": cpu_seconds, "final": final,
            "within_alphabet": results["within-alphabet"]["accuracy"],
            "unstructured": results["unstructured"]["accuracy"],
            "within_alphabet_centred": results["within-alphabet-centred"]["accuracy"],
            "unstructured_centred": results["unstructured-centred"]["accuracy"],
            **({"within_alphabet_before_whitening": before["within-alphabet"]["accuracy"],
                "within_alphabet_centred_before_whitening": before["within-alphabet-centred"]["accuracy"]}
               if args.whiten is not None else {}), **lake}


def one_shot_trials(embed, test_x, test_y, test_alphabet, count: int, label: str) -> dict:
    """20-way one-shot accuracy on ``count`` episodes under both protocols, plain and support-centred, printed
    and returned by key."""
    import numpy as np

    from kerascnn.analysis import oneshot
    from kerascnn.data import samplers

    results = {}
    for protocol in ("within-alphabet", "unstructured"):
        episodes = samplers.episodes(test_y, ways=20, shots=1, queries=1, count=count,
                                     rng=np.random.default_rng(0),
                                     groups=test_alphabet if protocol == "within-alphabet" else None)
        for centre in (False, True):  # plain nearest neighbour; after centring on the support set's mean
            key = protocol + ("-centred" if centre else "")
            results[key] = oneshot.evaluate_episodes(embed, test_x, episodes, protocol=protocol, centre=centre)
            print(f"20-way one-shot, {protocol} protocol{', support-centred' if centre else ''}"
                  f"{', ' + label if label else ''}, {results[key]['trials']} trials: "
                  f"accuracy {results[key]['accuracy']:.2%}")
    return results


def lake_runs(model_path: str, runs: str) -> dict:
    """The saved embedding on Lake-format runs, read back from disk exactly as ``kerascnn oneshot --runs`` does:
    plain and support-centred, printed and returned by key."""
    from kerascnn.analysis import oneshot
    from kerascnn.analysis.embedder import open_embedder

    embedder = open_embedder(model_path)
    results = {}
    for centre in (False, True):
        result = oneshot.evaluate_runs(embedder.files, runs, centre=centre)
        results["lake_runs" + ("_centred" if centre else "")] = result["accuracy"]
        print(f"Lake's runs ({result['runs']} runs, 20-way within-alphabet{', support-centred' if centre else ''}), "
              f"{result['trials']} trials: accuracy {result['accuracy']:.2%}")
    return results


if __name__ == "__main__":
    run_script(main)
