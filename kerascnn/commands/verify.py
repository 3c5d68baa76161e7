"""``kerascnn verify MODEL --dataset NAME``: face-verification-style report of an embedding model.

Pairs (half same class, half different) from the training split choose the
distance threshold; pairs from the test split are scored: ROC AUC, EER, accuracy at
the chosen threshold (never a fixed 0.5), VAL@FAR=1e-3 (FaceNet), and a ROC plot.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kerascnn.core.errors import UsageError
from kerascnn.core.options import non_negative_int, positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="an embedding model: embedding.keras, or its .onnx / .tflite / export folder")
    parser.add_argument("--dataset", required=True, help="data set of labelled images (digits, mnist, omniglot ...)")
    parser.add_argument("--data-dir", metavar="DIR", help="where offline data lives")
    parser.add_argument("--pairs", type=positive_int, default=2000, help="test pairs, half same (default 2000)")
    parser.add_argument("--far", type=float, default=1e-3, help="false accept rate for VAL@FAR (default 1e-3)")
    parser.add_argument("--plot", metavar="FILE.png", help="ROC plot (default: verify_roc.png beside the model)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="pair seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def check(args: argparse.Namespace) -> None:
    from kerascnn import data

    if not Path(args.model).exists():
        raise UsageError(f"Model not found: {args.model}")
    data.check_name(args.dataset)
    if not 0 < args.far < 1:
        raise UsageError(f"--far must be in (0, 1). Received: {args.far}")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from kerascnn import data
    from kerascnn.analysis import verification
    from kerascnn.analysis.embedder import open_embedder
    from kerascnn.data import samplers

    embedder = open_embedder(args.model)
    dataset = data.load(args.dataset, args.data_dir)
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
    plot = Path(args.plot) if args.plot else Path(args.model).resolve().parent / "verify_roc.png"
    verification.plot_roc(distances, same, plot, title=f"{Path(args.model).name} on {dataset.name}")
    report.update(dataset=dataset.name, plot=str(plot))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"verification on {report['pairs']} {dataset.name} test pairs: AUC {report['auc']:.4f}, EER {report['eer']:.2%}, "
          f"accuracy {report['accuracy']:.2%} at distance <= {report['threshold']:.4f} (chosen on "
          f"{report['threshold_from']}), VAL@FAR={report['far']:g} {report['val_at_far']:.2%}; ROC -> {plot}")
    return 0
