"""Pictures of an embedding: a PCA scatter coloured by class, and a one-shot query grid.

- :func:`pca_2d`: the two principal components of a set of embeddings (NumPy SVD) and
  the fraction of the variance they keep.
- :func:`plot_embedding_pca`: the scatter, one colour per class (the lectures' "similar
  images land close together"; t-SNE, van der Maaten & Hinton 2008, is the usual
  non-linear alternative and is not needed to see clusters of a metric embedding).
- :func:`plot_query_grid`: for queries of a one-shot episode, the query, its nearest
  support images in embedding space (green frame: the right class, red: wrong) and the
  true match, as in the figures of Koch et al. (2015) and Vinyals et al. (2016).

Both write PNG atomically (:func:`kerascnn.analysis.plots.save_figure`); NumPy and
matplotlib only, so exported (ONNX / TFLite) embeddings are plotted without TensorFlow.
"""

from __future__ import annotations

import os

import numpy as np

from kerascnn.analysis.plots import legend_below, new_figure, save_figure
from kerascnn.core.errors import UsageError

MAX_LEGEND_CLASSES = 20


def pca_2d(embeddings: np.ndarray) -> tuple[np.ndarray, float]:
    """``(points (N, 2), explained variance fraction)`` of the embeddings' first two principal components."""
    x = np.asarray(embeddings, dtype=np.float64).reshape(len(embeddings), -1)
    if len(x) < 2 or x.shape[1] < 2:
        raise UsageError(f"A 2-D PCA needs at least 2 embeddings of 2+ dimensions; got shape {x.shape}.")
    centred = x - x.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    total = float((singular ** 2).sum())
    kept = float((singular[:2] ** 2).sum() / total) if total > 0 else 1.0
    return centred @ components[:2].T, kept


def plot_embedding_pca(embeddings: np.ndarray, labels, path: str | os.PathLike, *, class_names=None,
                       title: str | None = None) -> str:
    """Scatter the 2-D PCA of ``embeddings``, one colour per label; returns ``path``."""
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(embeddings):
        raise UsageError(f"{len(embeddings)} embeddings but {len(labels)} labels.")
    points, kept = pca_2d(embeddings)
    classes = list(dict.fromkeys(labels.tolist()))
    fig, ax = new_figure(figsize=(6.5, 6))
    import matplotlib.pyplot as plt

    colours = plt.get_cmap("tab20" if len(classes) > 10 else "tab10")
    for k, c in enumerate(classes):
        mask = labels == c
        name = class_names[k] if class_names is not None else str(c)
        ax.scatter(points[mask, 0], points[mask, 1], s=14, color=colours(k % colours.N), label=name)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(title or f"embeddings, PCA ({kept:.0%} of the variance), {len(classes)} classes")
    if len(classes) <= MAX_LEGEND_CLASSES:
        legend_below(fig, [ax])
    return save_figure(fig, path)


def _show(ax, image, frame: str | None = None, caption: str = "") -> None:
    image = np.asarray(image)
    ax.imshow(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image.astype("uint8"),
              cmap="gray", vmin=0, vmax=255)
    ax.set_xticks([]), ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(frame is not None)
        if frame is not None:
            spine.set_color(frame), spine.set_linewidth(3)
    ax.set_title(caption, fontsize=7)


def plot_query_grid(images: np.ndarray, embeddings: np.ndarray, episode, path: str | os.PathLike, *,
                    rows: int = 6, neighbours: int = 4, title: str | None = None) -> str:
    """One row per query of ``episode``: the query, its ``neighbours`` nearest supports, the true match.

    Args:
        images: the data set's images (raw pixels, ``(N, H, W, C)``).
        embeddings: ``(N, D)`` embeddings aligned with ``images`` (only the episode's rows are read).
        episode: a :class:`kerascnn.data.samplers.Episode`.
        rows: queries shown (the first ones of the episode).
        neighbours: nearest support images shown per query, nearest first.
    """
    support = np.asarray(episode.support)
    rows = min(rows, len(episode.query))
    neighbours = min(neighbours, len(support))
    if rows < 1:
        raise UsageError("The episode has no queries to show.")
    fig, axes = new_figure(rows, neighbours + 2, figsize=(1.3 * (neighbours + 2), 1.45 * rows), squeeze=False)
    for r in range(rows):
        query, label = int(episode.query[r]), int(episode.query_labels[r])
        distances = ((embeddings[support] - embeddings[query]) ** 2).sum(axis=1)
        order = np.argsort(distances, kind="stable")[:neighbours]
        _show(axes[r, 0], images[query], caption="query")
        for col, s in enumerate(order, start=1):
            right = int(episode.support_labels[s]) == label
            _show(axes[r, col], images[support[s]], "green" if right else "red", f"#{col}  d={distances[s]:.2f}")
        match = int(np.flatnonzero(np.asarray(episode.support_labels) == label)[0])
        _show(axes[r, -1], images[support[match]], "green", f"true  d={distances[match]:.2f}")
    fig.suptitle(title or f"{len(support)}-way one-shot: query, nearest supports (green = right class), true match",
                 fontsize=9)
    return save_figure(fig, path)
