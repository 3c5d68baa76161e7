"""Identification / retrieval (1:N) scores of embeddings, leave-one-out over a labelled set.

Every example queries all the others by squared L2 distance. The measures are
pytorch-metric-learning's ``AccuracyCalculator`` (Musgrave, Belongie & Lim 2020,
"A Metric Learning Reality Check"):

- ``precision_at_1`` (= rank-1 identification rate) and ``recall_at_k`` (rank-k:
  a same-class example among the k nearest);
- ``r_precision``: with ``R`` = the number of other examples of the query's class,
  the fraction of same-class examples among its ``R`` nearest;
- ``map_at_r``: mean average precision over those ``R`` nearest.

Queries whose class has no other example are skipped.
"""

from __future__ import annotations

import numpy as np

from kerascnn.core.errors import UsageError

_CHUNK = 1024  # queries per distance block (memory ~ chunk x N floats)


def retrieval_scores(embeddings, labels, ks=(1, 5)) -> dict:
    """``{"precision_at_1", "recall_at_<k>", "r_precision", "map_at_r", "queries"}``."""
    x = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if x.ndim != 2 or len(x) != len(labels):
        raise UsageError(f"Expected (N, D) embeddings and N labels. Received: {x.shape} and {labels.shape}")
    counts = {c: n for c, n in zip(*np.unique(labels, return_counts=True))}
    queries = np.flatnonzero([counts[c] > 1 for c in labels])
    if len(queries) == 0:
        raise UsageError("Retrieval needs a class with at least two examples.")
    max_r = max(counts.values()) - 1
    depth = min(len(x) - 1, max(max_r, *ks))
    norms = (x ** 2).sum(1)
    r_precision, average_precision, found = [], [], {k: [] for k in ks}
    for start in range(0, len(queries), _CHUNK):
        chunk = queries[start:start + _CHUNK]
        distances = norms[chunk, None] - 2 * x[chunk] @ x.T + norms[None, :]
        distances[np.arange(len(chunk)), chunk] = np.inf  # never retrieve the query itself
        nearest = np.argsort(distances, axis=1, kind="stable")[:, :depth]
        relevant = labels[nearest] == labels[chunk, None]
        for row, query in enumerate(chunk):
            r = counts[labels[query]] - 1
            hits = relevant[row, :r]
            r_precision.append(hits.mean())
            precision_at_i = np.cumsum(hits) / np.arange(1, r + 1)
            average_precision.append(float((precision_at_i * hits).sum() / r))
            for k in ks:
                found[k].append(relevant[row, :k].any())
    out = {"precision_at_1": float(np.mean(found[1])) if 1 in found else None}
    out.update({f"recall_at_{k}": float(np.mean(found[k])) for k in ks})
    out.update(r_precision=float(np.mean(r_precision)), map_at_r=float(np.mean(average_precision)),
               queries=int(len(queries)))
    return out
