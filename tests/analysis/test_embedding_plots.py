"""kerascnn.analysis.embedding_plots: PCA in closed form, PNG files written, bad input in one line."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.analysis.embedding_plots import pca_2d, plot_embedding_pca, plot_query_grid
from kerascnn.core.errors import UsageError
from kerascnn.data import samplers


def test_pca_keeps_a_plane_exactly():
    rng = np.random.default_rng(0)
    plane = rng.normal(size=(50, 2)) @ rng.normal(size=(2, 6))  # rank-2 data in 6-D
    points, kept = pca_2d(plane)
    assert points.shape == (50, 2) and kept == pytest.approx(1.0)
    # Distances survive the projection (an isometry on the plane).
    d = lambda a: ((a[:, None] - a[None]) ** 2).sum(-1)  # noqa: E731
    np.testing.assert_allclose(d(points), d(plane - plane.mean(0)), atol=1e-9)
    with pytest.raises(UsageError):
        pca_2d(np.ones((1, 4)))


def test_plots_are_written(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 4)
    embeddings = np.eye(5)[labels] + rng.normal(0, 0.05, (20, 5))
    images = rng.integers(0, 255, (20, 8, 8, 1)).astype(np.uint8)
    pca = plot_embedding_pca(embeddings, labels, tmp_path / "pca.png")
    episode = samplers.episodes(labels, ways=5, shots=1, queries=1, count=1, rng=np.random.default_rng(0))[0]
    grid = plot_query_grid(images, embeddings, episode, tmp_path / "grid.png", rows=3, neighbours=3)
    for path in (pca, grid):
        assert open(path, "rb").read(4) == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png", "pca.png"]  # no temporary files left
    with pytest.raises(UsageError, match="labels"):
        plot_embedding_pca(embeddings, labels[:3], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
