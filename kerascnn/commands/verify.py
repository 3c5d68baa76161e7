"""``kerascnn verify MODEL --dataset NAME``: face-verification-style report of an embedding model.

Pairs (half same class, half different) from the training split choose the
distance threshold; pairs from the test split are scored: ROC AUC, EER, accuracy at
the chosen threshold (never a fixed 0.5), VAL@FAR=1e-3 (FaceNet), and a ROC plot.
``--plots DIR`` puts the ROC plot in ``DIR`` with ``embedding_pca.png``: the PCA of the
test images of the (up to 20) largest test classes, coloured by class and named in the
legend (the picture ``kerascnn oneshot --plots`` draws).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kerascnn.core.errors import UsageError
from kerascnn.core.options import non_negative_int, positive_int

ROC_FILE, PCA_FILE = "verify_roc.png", "embedding_pca.png"
PCA_IMAGES_PER_CLASS = 100  # at most this many test images of each plotted class


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="an embedding model: embedding.keras, or its .onnx / .tflite / export folder")
    parser.add_argument("--dataset", required=True, help="data set of labelled images (digits, mnist, omniglot ...)")
    parser.add_argument("--data-dir", metavar="DIR", help="where offline data lives")
    parser.add_argument("--pairs", type=positive_int, default=2000, help="test pairs, half same (default 2000)")
    parser.add_argument("--far", type=float, default=1e-3, help="false accept rate for VAL@FAR (default 1e-3)")
    parser.add_argument("--plot", metavar="FILE.png",
                        help=f"ROC plot (default: {ROC_FILE} in --plots DIR, else beside the model)")
    parser.add_argument("--plots", metavar="DIR", help=f"write {ROC_FILE} and {PCA_FILE} (test embeddings) here")
    parser.add_argument("--download", action="store_true", help="allow a tensorflow-datasets download (online only)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="pair seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def check(args: argparse.Namespace) -> None:
    from kerascnn import data

    if not Path(args.model).exists():
        raise UsageError(f"Model not found: {args.model}")
    data.check_name(args.dataset)
    if not 0 < args.far < 1:
        raise UsageError(f"--far must be in (0, 1). Received: {args.far}")
    if args.plots is not None and Path(args.plots).exists() and not Path(args.plots).is_dir():
        raise UsageError(f"--plots must be a folder; {args.plots} is a file.")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from kerascnn import data
    from kerascnn.analysis import verification
    from kerascnn.analysis.embedder import open_embedder
    from kerascnn.data import samplers

    embedder = open_embedder(args.model)
    dataset = data.load(args.dataset, args.data_dir, download=args.download)
    rng = np.random.default_rng(args.seed)

    def pair_distances(x, y):
        first, second = samplers.make_pairs(y, args.pairs, rng)[:2]
        used, inverse = np.unique(np.concatenate([first, second]), return_inverse=True)
        embeddings = embedder.images(x[used])
        a, b = embeddings[inverse[:len(first)]], embeddings[inverse[len(first):]]
        return ((a - b) ** 2).sum(1), (y[first] == y[second]).astype(int)

    validation = pair_distances(dataset.x_train, dataset.y_train)
    test_x, test_y, _ = samplers.evaluation_images(dataset)
    distances, same = pair_distances(test_x, test_y)
    report = verification.report(distances, same, validation=validation, far=args.far)
    title = f"{Path(args.model).name} on {dataset.name}"
    folder = Path(args.plots) if args.plots else Path(args.model).resolve().parent
    plot = Path(args.plot) if args.plot else folder / ROC_FILE
    if args.plots:  # first: a PCA that cannot be drawn stops here, before any file is written
        report["embedding_plot"] = _plot_embeddings(embedder, test_x, test_y, dataset.class_names,
                                                    folder / PCA_FILE, title)
    verification.plot_roc(distances, same, plot, title=title)
    report.update(dataset=dataset.name, plot=str(plot))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"verification on {report['pairs']} {dataset.name} test pairs: AUC {report['auc']:.4f}, EER {report['eer']:.2%}, "
          f"accuracy {report['accuracy']:.2%} at distance <= {report['threshold']:.4f} (chosen on "
          f"{report['threshold_from']}), VAL@FAR={report['far']:g} {report['val_at_far']:.2%}; ROC -> {plot}"
          + (f", PCA -> {report['embedding_plot']}" if args.plots else ""))
    return 0


def _plot_embeddings(embedder, images, labels, class_names, path: Path, title: str) -> str:
    """PCA of the test embeddings of the largest test classes (at most 20, names in the legend) -> ``path``."""
    import numpy as np

    from kerascnn.analysis.embedding_plots import MAX_LEGEND_CLASSES, plot_embedding_pca

    classes, counts = np.unique(labels, return_counts=True)
    shown = classes[np.argsort(-counts, kind="stable")[:MAX_LEGEND_CLASSES]]
    index = np.concatenate([np.flatnonzero(labels == c)[:PCA_IMAGES_PER_CLASS] for c in shown])
    embeddings = np.asarray(embedder.images(images[index]))
    return plot_embedding_pca(embeddings, labels[index], path, class_names=[class_names[int(c)] for c in shown],
                              title=f"{title}: test embeddings of {len(shown)} classes, PCA")
