"""Kim's CNN on movie-review sentences: 1D convolution, max-over-time pooling, and what the filters learned.

Title: Text classification with a 1D CNN (Kim 2014) on MR
Description: a sentence is an image of width one: each word a 300-d vector, filters 3, 4 and 5 words
wide slide along it, max-over-time pooling keeps each filter's strongest response wherever it occurs,
and a softmax reads the 300 pooled features. Trained on one stratified fold of MR (the raw strings go
in: ``TextVectorization`` is inside the model), evaluated on the held-out tenth, then each of a few
filters is explained by the n-grams that excite it most.

Reference: Y. Kim, "Convolutional Neural Networks for Sentence Classification", EMNLP 2014.

Run it (MR sentence polarity, Latin-1 files in ../shared/data/rt-polarity/)::

    python apps/text_cnn_mr.py --data-dir ../shared/data
    python apps/text_cnn_mr.py --data-dir ../shared/data --filters-shown 6 --out mr_textcnn.keras

About 1-2 minutes on two idle CPU cores; test accuracy ~77 % (Kim's CNN-rand: 76.1 % over 10 folds;
``kerascnn train textcnn --dataset mr --cv 10`` runs the whole cross-validation).
"""

from __future__ import annotations

import argparse
import time

from kerascnn.core.options import non_negative_int, positive_int
from kerascnn.core.script import check_output_file, run_script


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="folder holding rt-polarity/ (default: $KERASCNN_DATA)")
    parser.add_argument("--epochs", type=positive_int, default=10, help="at most this many (early stopping)")
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--steps", type=positive_int, default=None, help="cap batches per epoch (smoke runs)")
    parser.add_argument("--filters-shown", type=positive_int, default=4, help="filters to explain by n-grams")
    parser.add_argument("--seed", type=non_negative_int, default=42)
    parser.add_argument("--out", default=None, help="save the trained model here (.keras; strings in)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    return parser.parse_args(argv)


def top_ngrams(numeric, tokenizer, texts, width: int, filter_index: int, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` distinct ``width``-grams of ``texts`` where filter ``filter_index`` of ``conv<width>`` fires most."""
    import numpy as np

    from kerascnn.models.common import intermediate_outputs

    ids = tokenizer.encode(texts).astype("int32")
    layer = f"conv{width}"
    maps = intermediate_outputs(numeric, [layer]).predict(ids, batch_size=512, verbose=0)[layer]
    responses = maps[:, :, filter_index]  # (sentences, positions)
    found: dict[str, float] = {}
    for flat in np.argsort(responses, axis=None)[::-1]:
        row, position = np.unravel_index(flat, responses.shape)
        gram = " ".join(tokenizer.vocabulary[i] or "<pad>" for i in ids[row, position:position + width])
        found.setdefault(gram, float(responses[row, position]))
        if len(found) == k:
            break
    return list(found.items())


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.out:
        check_output_file(args.out, suffixes=(".keras",), force=args.force)

    from kerascnn.core.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras
    import numpy as np

    from kerascnn import data, tasks
    from kerascnn.core.files import atomic_save_path
    from kerascnn.data.text import fold_split, stratified_folds
    from kerascnn.tasks.text import build_text_model, numeric_part
    from kerascnn.training.seeding import set_global_seed
    from kerascnn.training.trainer import split_validation

    set_global_seed(args.seed)

    # ## The data: 10,662 lower-cased, tokenised sentences (Latin-1), half positive.
    dataset = data.load_text("mr", args.data_dir)
    print(dataset)
    # Kim evaluates with 10-fold CV; here one stratified fold is the test set, 10 % of the rest validates.
    train_index, test_index = stratified_folds(dataset.labels, 10, args.seed)[0]
    split = fold_split(dataset, train_index, test_index)
    (x_train, y_train), (x_val, y_val) = split_validation(split, 0.1, args.seed)

    # ## The model: TextVectorization (vocabulary of the training sentences only) -> token ids ->
    # embedding 300 -> Conv1D widths 3, 4, 5 x 100 (ReLU) -> max over time -> dropout 0.5 -> softmax (max-norm 3).
    model = build_text_model("textcnn", x_train, classes=2, seed=args.seed)
    numeric, tokenizer = numeric_part(model)
    numeric.summary()
    print(f"vocabulary: {len(tokenizer.vocabulary):,} tokens; sentences padded/cut to {tokenizer.sequence_length}")

    # ## Train with Adam; early stopping on the validation accuracy keeps the best epoch's weights.
    task = tasks.get("text")
    pipe = dict(batch_size=args.batch_size, seed=args.seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    train_ds = task.pipeline(x_train, y_train, shuffle=True, **pipe)
    model.fit(train_ds.take(args.steps) if args.steps else train_ds, epochs=args.epochs, verbose=2, shuffle=False,
              validation_data=task.pipeline(x_val, y_val, shuffle=False, **pipe),
              callbacks=[keras.callbacks.EarlyStopping("val_accuracy", patience=1, mode="max",
                                                       restore_best_weights=True)])
    seconds = time.perf_counter() - start
    test_loss, test_accuracy = model.evaluate(task.pipeline(split.x_test, split.y_test, shuffle=False, **pipe),
                                              verbose=0)
    print(f"test accuracy {test_accuracy:.2%} on {len(split.x_test):,} held-out sentences ({seconds:.0f} s)")

    # ## What the filters respond to: the classifier weight of each pooled feature says which class it
    # votes for; the n-grams that maximise those filters show what the network learned to look for.
    weights = model.get_layer(numeric.name).get_layer("predictions").kernel.numpy()  # (300, 2)
    vote = weights[:, 1] - weights[:, 0]  # > 0: the feature pushes towards "positive"
    strongest = np.argsort(np.abs(vote[:100]))[::-1][: args.filters_shown]  # among the width-3 filters
    explained = {}
    for f in strongest:
        grams = top_ngrams(numeric, tokenizer, list(split.x_train), 3, int(f))
        side = "positive" if vote[f] > 0 else "negative"
        explained[int(f)] = {"votes_for": side, "ngrams": grams}
        print(f"filter conv3/{f:<3d} votes {side:8s}: " + " | ".join(f"{g} ({r:.2f})" for g, r in grams))

    if args.out:
        with atomic_save_path(args.out) as tmp:
            model.save(tmp)
        print(f"saved {args.out}: model.predict(np.array(['a gripping film'], dtype=object))")
    return {"test_accuracy": float(test_accuracy), "test_loss": float(test_loss), "seconds": seconds,
            "filters": explained}


if __name__ == "__main__":
    run_script(main)
