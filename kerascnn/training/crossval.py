"""k-fold cross-validation for text classifiers, as Kim (2014) evaluates MR.

    >>> from kerascnn.training.crossval import train_text
    >>> result = train_text("textcnn", "mr", cv=10, data_dir="../shared/data", run_dir="runs/mr-cv")
    >>> result["cv_mean_accuracy"], result["cv_std"]

Each fold is one ordinary training run (:func:`kerascnn.training.train`, the
text Task) in ``RUN_DIR/seed<S>/fold<NN>/``: the fold's own training part builds
the vocabulary (a word seen only in the test fold maps to ``[UNK]``) and 10 %
of it is held out (stratified, seeded) for early stopping, whose best weights
are restored before the test fold is scored. Folds are stratified and seeded
(``StratifiedKFold(shuffle=True, random_state=seed)``); ``seeds=N`` repeats the
whole cross-validation with seeds ``seed .. seed+N-1`` and reports mean ± std
over every fold of every seed (Zhang & Wallace 2015: single runs mislead).
``RUN_DIR/metrics.json`` holds ``cv_accuracies``, ``cv_mean_accuracy``,
``cv_std``, ``fold_seconds`` and per-seed means.

Without ``cv`` one run is made: the data set's fixed train/test split when it has one
(TFDS sets, ``text:`` folders with ``train/`` + ``test/``, a CSV ``split`` column), else
fold 1 of a seeded 10-fold split is the test set.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_write_json, check_output_folder

#: Early-stopping patience (epochs without a better validation accuracy) when none is given.
#: CNN-rand on MR peaks after 2-3 Adam epochs and each epoch costs ~20 s on 2 cores
#: (the dense Adam update of a 5.6 M-weight embedding is half of it): patience 1 keeps
#: the 10-fold run under 20 minutes.
PATIENCE = 1
#: Folds of the split whose first fold is the test set of a run without ``cv``.
HOLDOUT_FOLDS = 10


def fold_splits(dataset, folds: int, seed: int):
    """``[TextSplit, ...]``: the stratified, seeded folds of a :class:`~kerascnn.data.base.TextDataset`."""
    from kerascnn.data.text import fold_split, stratified_folds

    return [
        fold_split(dataset, train, test, description=f"fold {i} of {folds} (stratified, seed {seed})")
        for i, (train, test) in enumerate(stratified_folds(dataset.labels, folds, seed), start=1)
    ]


def summarize(accuracies) -> dict:
    """``{"cv_mean_accuracy", "cv_std"}`` over a flat list (population std, as numpy's default)."""
    values = np.asarray(accuracies, dtype=float)
    return {"cv_mean_accuracy": float(values.mean()), "cv_std": float(values.std())}


def train_text(model_name: str, dataset="mr", *, cv: int | None = None, seeds: int = 1, run_dir=None,
               seed: int = 42, data_dir=None, early_stopping: int | None = None, quiet: bool = False,
               encoding: str | None = None, text_column: str | None = None, label_column: str | None = None,
               **options) -> dict:
    """Train a text model with k-fold cross-validation (``cv``) or on one held-out fold.

    Args:
        model_name: a text model of the zoo (``textcnn``, ``textcnn_2d``, ``textcnn_dilated``).
        dataset: a text data set name (``"mr"``, ``"imdb_reviews"``, ``"sst2"``, ``"text:PATH"``) or a
            loaded :class:`~kerascnn.data.base.TextDataset`.
        cv: number of folds (``None``: one run on the fixed split, or fold 1 of 10 as the test set).
        encoding, text_column, label_column: how ``text:PATH`` files are read (:func:`kerascnn.data.load_text`).
        seeds: repeat the cross-validation with this many consecutive seeds.
        run_dir: output folder (new or empty); default ``runs/<model>-<dataset>-cv<k>-<time>``.
        seed: the first seed (folds, hold-out, initialisation, shuffling).
        early_stopping: patience on the validation accuracy (default :data:`PATIENCE`);
            the best epoch's weights are restored.
        **options: other :func:`kerascnn.training.train` options (``epochs``,
            ``batch_size``, ``lr``, ``model_kwargs`` with ``variant`` / ``vectors`` ...).

    Returns:
        With ``cv``: the cross-validation metrics (also ``run_dir/metrics.json``); without: the
        run's :class:`~kerascnn.training.trainer.TrainResult`.

    Raises:
        UsageError: bad ``cv``/``seeds``, ``cv`` larger than the smallest class, missing data,
            a non-empty ``run_dir``.
    """
    import keras

    from kerascnn import data, tasks
    from kerascnn.data.text import fixed_split
    from kerascnn.training import train
    from kerascnn.training.rundir import default_run_dir

    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UsageError(f"--seeds must be a positive integer. Received: seeds={seeds!r}")
    if seeds > 1 and not cv:
        raise UsageError("--seeds repeats a cross-validation: use it with --cv K.")
    if tasks.for_model(model_name).name != "text":
        from kerascnn import models

        raise UsageError(f"{model_name} is not a text model; text data sets need one of: "
                         f"{', '.join(models.names(task='text'))}.")
    loaded = dataset
    if isinstance(dataset, str):
        loaded = data.load_text(dataset, data_dir, encoding=encoding, text_column=text_column,
                                label_column=label_column, download=options.get("download", False))
    patience = early_stopping or PATIENCE
    task = tasks.get("text")
    folds = cv or HOLDOUT_FOLDS
    plan = {s: fold_splits(loaded, folds, s) for s in range(seed, seed + seeds)}  # bad --cv fails here
    label = f"{loaded.name}-cv{cv}" if cv else loaded.name
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(model_name, label)

    def early_stop():
        return keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=patience,
                                             restore_best_weights=True)

    if not cv:
        split = plan[seed][0] if loaded.is_test is None else fixed_split(loaded)
        result = train(model_name, split, task=task, run_dir=run_dir, seed=seed, quiet=quiet,
                       data_dir=data_dir, callbacks=[early_stop()], **options)
        _drop_checkpoints(result.run_dir)
        return result

    check_output_folder(run_dir)
    started = time.perf_counter()
    accuracies, per_seed, fold_seconds, fold_records = [], {}, [], []
    for s, splits in plan.items():
        per_seed[s] = []
        for index, split in enumerate(splits, start=1):
            fold_started = time.perf_counter()
            result = train(model_name, split, task=task, run_dir=run_dir / f"seed{s}" / f"fold{index:02d}",
                           seed=s, quiet=quiet, data_dir=data_dir, callbacks=[early_stop()], **options)
            seconds = time.perf_counter() - fold_started
            _drop_checkpoints(result.run_dir)
            accuracy = float(result.metrics["test_accuracy"])
            accuracies.append(accuracy)
            per_seed[s].append(accuracy)
            fold_seconds.append(round(seconds, 2))
            fold_records.append({"seed": s, "fold": index, "test_accuracy": accuracy,
                                 "epochs": result.metrics["epochs_completed"],
                                 "best_epoch": result.metrics["best_epoch"],
                                 "vocabulary_size": _vocabulary_size(result.model),
                                 "train_samples": result.metrics["train_samples"],
                                 "validation_samples": result.metrics["validation_samples"],
                                 "test_samples": result.metrics["test_samples"], "seconds": round(seconds, 2)})
            if not quiet:
                print(f"seed {s} fold {index}/{folds}: test accuracy {accuracy:.2%} "
                      f"({result.metrics['epochs_completed']} epochs, {seconds:.0f} s)")
    metrics = {
        "model": model_name,
        "dataset": loaded.name,
        "task": task.name,
        "cv": cv,
        "seeds": list(plan),
        "cv_accuracies": accuracies,
        **summarize(accuracies),
        "cv_seed_means": {str(s): float(np.mean(v)) for s, v in per_seed.items()},
        "fold_seconds": fold_seconds,
        "total_seconds": round(time.perf_counter() - started, 1),
        "early_stopping": {"monitor": "val_accuracy", "patience": patience, "restore_best_weights": True},
        "folds": fold_records,
        "source": loaded.source,
    }
    atomic_write_json(run_dir / "metrics.json", metrics)
    return metrics


def headline(metrics: dict) -> str:
    """``textcnn on mr: 10-fold CV accuracy 76.9% ± 1.2% (10 folds x 1 seed, 512 s) -> runs/...``."""
    runs = len(metrics["cv_accuracies"])
    return (f"{metrics['model']} on {metrics['dataset']}: {metrics['cv']}-fold CV accuracy "
            f"{metrics['cv_mean_accuracy']:.2%} ± {metrics['cv_std']:.2%} ({runs} folds over "
            f"{len(metrics['seeds'])} seed(s), {metrics['total_seconds']:.0f} s)")


def _vocabulary_size(model) -> int | None:
    from kerascnn.tasks.text import VECTORIZER

    try:
        return int(model.get_layer(VECTORIZER).vocabulary_size())
    except ValueError:
        return None


def _drop_checkpoints(run_dir) -> None:
    """Remove ``best.keras`` (its weights were restored into ``model.keras``) and the resume backup."""
    from kerascnn.core.layout import RunLayout

    if run_dir is None:
        return
    run = RunLayout(Path(run_dir))
    run.best.unlink(missing_ok=True)
    shutil.rmtree(run.backup, ignore_errors=True)


# ------------------------------------------------------------ the train command's text options


def add_text_arguments(parser) -> None:
    """``--variant``, ``--vectors``, ``--cv``, ``--seeds``, ``--encoding``, ``--text-column``, ``--label-column``
    for ``kerascnn train`` (text models)."""
    from kerascnn.core.options import positive_int
    from kerascnn.tasks.text import VARIANTS

    parser.add_argument("--variant", choices=VARIANTS,
                        help="text CNN variant (Kim 2014): rand (default), static, non-static, multichannel; "
                             "all but rand need --vectors")
    parser.add_argument("--vectors", metavar="PATH",
                        help="pretrained word vectors: word2vec (binary or text) or GloVe file")
    parser.add_argument("--cv", type=positive_int, metavar="K",
                        help="text data sets: K-fold stratified cross-validation (Kim: --cv 10)")
    parser.add_argument("--seeds", type=positive_int, default=1, metavar="N",
                        help="with --cv: repeat the cross-validation with N seeds (default 1)")
    parser.add_argument("--encoding", metavar="CODEC",
                        help="encoding of text:PATH files (default utf-8; mr: latin-1)")
    parser.add_argument("--text-column", metavar="NAME", help="text:FILE.csv: the text column (default text)")
    parser.add_argument("--label-column", metavar="NAME", help="text:FILE.csv: the label column (default label)")


def text_model_kwargs(args) -> dict:
    """``--variant``/``--vectors`` as builder arguments; a missing vectors file fails before TensorFlow loads."""
    kwargs = {}
    if args.vectors is not None:
        path = Path(args.vectors).expanduser()
        if not path.is_file():
            raise UsageError(f"--vectors file not found: {args.vectors}")
        kwargs["vectors"] = str(path.resolve())
    if args.variant is not None:
        kwargs["variant"] = args.variant
    if kwargs.get("variant", "rand") != "rand" and "vectors" not in kwargs:
        raise UsageError(f"--variant {args.variant} needs --vectors PATH (word2vec binary/text or GloVe).")
    if args.variant == "rand" and "vectors" in kwargs:
        raise UsageError("--variant rand starts from random word vectors: drop --vectors or pick "
                         "static / non-static / multichannel.")
    return kwargs


def check_text_options(args, dataset: str) -> None:
    """The train command's text options, checked before TensorFlow loads (one-line errors)."""
    from kerascnn.data import TEXT_PREFIX, is_text, text_names
    from kerascnn.data.text import check_encoding

    if not is_text(dataset):
        given = [flag for flag, value in (("--cv", args.cv), ("--variant", args.variant), ("--vectors", args.vectors),
                                          ("--seeds", args.seeds if args.seeds > 1 else None),
                                          ("--encoding", args.encoding), ("--text-column", args.text_column),
                                          ("--label-column", args.label_column)) if value]
        if given:
            raise UsageError(f"{given[0]} is for text data sets ({', '.join(text_names())}, {TEXT_PREFIX}PATH); "
                             f"{dataset!r} is an image data set.")
        return
    if args.encoding is not None:
        check_encoding(args.encoding)
    if args.resume:
        raise UsageError("--resume is not supported for text data sets (each fold is a short run).")
    if args.augment:
        raise UsageError("--augment is for images; text data sets take none.")
    if args.seeds > 1 and not args.cv:
        raise UsageError("--seeds repeats a cross-validation: use it with --cv K.")
    text_model_kwargs(args)


def run_command(args, dataset: str, options: dict) -> int:
    """``kerascnn train TEXT_MODEL --dataset mr [--cv K --seeds N]``: one held-out fold, or k-fold CV."""
    from kerascnn.training.rundir import default_run_dir

    check_text_options(args, dataset)
    options = dict(options)
    options["model_kwargs"] = {**options.get("model_kwargs", {}), **text_model_kwargs(args)}
    options.pop("augment", None)
    label = f"{dataset}-cv{args.cv}" if args.cv else dataset
    run_dir = args.run_dir or str(default_run_dir(args.model, label))
    result = train_text(args.model, dataset, cv=args.cv, seeds=args.seeds, run_dir=run_dir, encoding=args.encoding,
                        text_column=args.text_column, label_column=args.label_column, **options)
    if args.cv:
        print(headline(result) + f" -> {run_dir}")
    else:
        print(result.summary())
    return 0
