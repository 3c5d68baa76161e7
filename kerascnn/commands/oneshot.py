"""``kerascnn oneshot MODEL --runs DIR`` or ``--dataset omniglot --episodes N``: N-way one-shot error rate.

Nearest neighbour in the embedding space of an embedding model (``embedding.keras``,
or its ONNX / TFLite export: then no TensorFlow is imported). Two sources:

- ``--runs DIR``: Lake et al.'s run folders (``runNN/class_labels.txt``, ``training/``,
  ``test/``), or a zip of them such as Lake's own ``all_runs.zip`` (the 20 official runs
  over the evaluation alphabets); prints the error rate; ``--json`` gives ``{"runs",
  "trials", "error_rate", "per_run"}``.
- ``--dataset NAME``: random ``--ways``-way ``--shots``-shot episodes, under a named
  ``--protocol`` (``within-alphabet``: all classes of a trial from one alphabet, Lake et
  al. / Koch et al.; ``unstructured``: across alphabets, Vinyals et al.). Use
  ``--alphabets`` to evaluate on alphabets never used in training;
  ``--write-runs DIR`` also writes the episodes in Lake's format, and ``--plots DIR``
  draws ``embedding_pca.png`` (the first episode's classes, all their images, PCA
  coloured by class) and ``query_grid.png`` (its queries, their nearest supports and
  the true matches).
"""

from __future__ import annotations

import argparse
import json

from kerascnn.core.errors import UsageError
from kerascnn.core.options import non_negative_int, positive_int

PROTOCOLS = ("within-alphabet", "unstructured")  # kerascnn.analysis.oneshot.PROTOCOLS, without importing numpy


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="an embedding model: embedding.keras, or its .onnx / .tflite / export folder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--runs", metavar="DIR_OR_ZIP", help="Lake-format run folders (runNN/class_labels.txt ...) or a zip of "
                        "them (Lake's all_runs.zip)")
    source.add_argument("--dataset", help="draw episodes from a data set (omniglot, digits, mnist, folder:PATH)")
    parser.add_argument("--data-dir", metavar="DIR", help="where offline data lives")
    parser.add_argument("--alphabets", type=comma_list, metavar="A,B",
                        help="omniglot: evaluate on these alphabets only, all 20 drawers (unseen in training)")
    parser.add_argument("--episodes", type=positive_int, default=400, help="episodes (default 400)")
    parser.add_argument("--ways", type=positive_int, default=20, help="classes per episode (default 20)")
    parser.add_argument("--shots", type=positive_int, default=1, help="support examples per class (default 1)")
    parser.add_argument("--protocol", choices=PROTOCOLS,
                        help="within-alphabet (default for omniglot) or unstructured (default otherwise)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="episode seed (default 0)")
    parser.add_argument("--write-runs", metavar="DIR", help="also write the episodes as Lake-format runs (one-shot)")
    parser.add_argument("--centre", action="store_true",
                        help="compare embeddings after subtracting each episode's (run's) support mean (SimpleShot)")
    parser.add_argument("--plots", metavar="DIR", help="--dataset: write embedding_pca.png and query_grid.png here")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def check(args: argparse.Namespace) -> None:
    from pathlib import Path

    if not Path(args.model).exists():
        raise UsageError(f"Model not found: {args.model}")
    if args.runs is not None:
        import zipfile

        if not Path(args.runs).exists():
            raise UsageError(f"Runs folder not found: {args.runs}")
        if not Path(args.runs).is_dir() and not zipfile.is_zipfile(args.runs):
            raise UsageError(f"{args.runs} is neither a folder nor a zip of Lake-format runs.")
    if args.dataset is not None:
        from kerascnn import data

        data.check_name(args.dataset)
    if args.runs is not None and (args.alphabets or args.write_runs or args.protocol or args.plots):
        raise UsageError("--alphabets, --protocol, --write-runs and --plots go with --dataset, not --runs.")
    if args.write_runs:
        from kerascnn.core.files import check_output_folder

        check_output_folder(args.write_runs)
    if args.ways < 2:
        raise UsageError(f"--ways must be at least 2. Received: {args.ways}")


def run(args: argparse.Namespace) -> int:
    from kerascnn.analysis import oneshot
    from kerascnn.analysis.embedder import open_embedder

    embedder = open_embedder(args.model)
    if args.runs is not None:
        result = oneshot.evaluate_runs(embedder.files, args.runs, centre=args.centre)
        result = {"protocol": "lake-runs", **result}
    else:
        result = _episodes(args, embedder)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    where = (f"{result['runs']} runs" if "runs" in result else
             f"{result['episodes']} {result['ways']}-way {result['shots']}-shot episodes, {result['protocol']} protocol")
    where += ", support-centred" if result.get("centred") else ""
    print(f"one-shot error rate {result['error_rate']:.2%} (accuracy {1 - result['error_rate']:.2%}) over "
          f"{result['trials']} trials in {where}")
    return 0


def _episodes(args, embedder) -> dict:
    import numpy as np

    from kerascnn import data
    from kerascnn.analysis import oneshot
    from kerascnn.data import samplers

    dataset = data.load(args.dataset, args.data_dir)
    images, labels, groups = samplers.evaluation_images(dataset, args.alphabets)
    protocol = args.protocol or ("within-alphabet" if groups is not None else "unstructured")
    if protocol == "within-alphabet" and groups is None:
        raise UsageError(f"The within-alphabet protocol needs alphabets (omniglot); {dataset.name} has none: "
                         f"use --protocol unstructured.")
    rng = np.random.default_rng(args.seed)
    episodes = samplers.episodes(labels, ways=args.ways, shots=args.shots, queries=1, count=args.episodes, rng=rng,
                                 groups=groups if protocol == "within-alphabet" else None)
    result = oneshot.evaluate_episodes(embedder.images, images, episodes, protocol=protocol, centre=args.centre)
    result["dataset"] = dataset.name
    result["alphabets"] = sorted(set(groups.tolist())) if groups is not None else None
    if args.write_runs:
        oneshot.write_runs(args.write_runs, images, episodes, seed=args.seed)
        result["runs_written"] = args.write_runs
    if args.plots:
        result["plots"] = _plots(args.plots, embedder, images, labels, episodes[0], dataset.class_names)
    return result


def _plots(folder: str, embedder, images, labels, episode, class_names) -> list[str]:
    """``embedding_pca.png`` (every image of the first episode's classes) and ``query_grid.png`` in ``folder``."""
    import os

    import numpy as np

    from kerascnn.analysis.embedding_plots import plot_embedding_pca, plot_query_grid

    os.makedirs(folder, exist_ok=True)
    shown = np.flatnonzero(np.isin(labels, episode.classes))
    vectors = np.asarray(embedder.images(images[shown]))
    embeddings = np.zeros((len(images), vectors.shape[1]), dtype=vectors.dtype)
    embeddings[shown] = vectors
    where = f" ({episode.group})" if episode.group else ""
    return [
        plot_embedding_pca(vectors, labels[shown], os.path.join(folder, "embedding_pca.png"),
                           class_names=[class_names[int(c)] for c in dict.fromkeys(labels[shown].tolist())],
                           title=f"{len(episode.classes)} classes of one episode{where}, all their images: PCA"),
        plot_query_grid(images, embeddings, episode, os.path.join(folder, "query_grid.png")),
    ]
