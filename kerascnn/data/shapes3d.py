"""``shapes3d``: synthetic 32x32x32 occupancy grids of five solids (VoxNet's kind of input).

Classes: sphere, cube, cylinder, cone, torus. Each volume is one solid with a random
orientation (a uniformly random 3D rotation), size (radius 0.45-0.8 of the half
side) and centre offset (up to 0.15 of the half side), voxelised on a 32^3 grid as
occupancy 0 / 255, then a small fraction of voxels (1 %) flipped as sensor noise.
Maturana & Scherer (2015) feed VoxNet such occupancy grids of LiDAR and CAD objects.

Split (fixed): 1,000 training volumes (seed 0) and 250 test volumes (seed 1), the
classes balanced; generated in about a second, needs no files.
"""

from __future__ import annotations

import numpy as np

from kerascnn.data.base import VolumeDataset

CLASSES = ("sphere", "cube", "cylinder", "cone", "torus")
SIZE = 32
TRAIN_COUNT, TEST_COUNT = 1000, 250
TRAIN_SEED, TEST_SEED = 0, 1
NOISE = 0.01


def _rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3D rotation matrix (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _inside(kind: str, u, v, w, radius: float) -> np.ndarray:
    """Occupancy of the solid ``kind`` of ``radius`` in its own coordinates ``(u, v, w)``."""
    axial = np.sqrt(u * u + v * v)
    if kind == "sphere":
        return u * u + v * v + w * w <= radius**2
    if kind == "cube":
        return np.maximum(np.maximum(np.abs(u), np.abs(v)), np.abs(w)) <= 0.7 * radius
    if kind == "cylinder":
        return (axial <= 0.55 * radius) & (np.abs(w) <= radius)
    if kind == "cone":
        return (np.abs(w) <= radius) & (axial <= 0.7 * (radius - w) / 2)
    return (axial - 0.65 * radius) ** 2 + w * w <= (0.3 * radius) ** 2  # torus


def make_volumes(count: int, *, size: int = SIZE, seed: int = 0, noise: float = NOISE):
    """``(volumes uint8 (count, size, size, size, 1), labels)``, classes balanced and shuffled."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(count) % len(CLASSES))
    axis = (np.arange(size) + 0.5) / size * 2 - 1
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)
    volumes = np.zeros((count, size, size, size), np.uint8)
    for i, label in enumerate(labels):
        centre = rng.uniform(-0.15, 0.15, 3)
        local = (grid - centre) @ _rotation(rng)
        occupied = _inside(CLASSES[label], *local.T, radius=rng.uniform(0.45, 0.8))
        occupied ^= rng.random(occupied.shape) < noise
        volumes[i] = occupied.reshape(size, size, size) * np.uint8(255)
    return volumes[..., np.newaxis], labels.astype(np.int64)


def load() -> VolumeDataset:
    """The fixed 1,000 / 250 split of 32^3 occupancy grids."""
    x_train, y_train = make_volumes(TRAIN_COUNT, seed=TRAIN_SEED)
    x_test, y_test = make_volumes(TEST_COUNT, seed=TEST_SEED)
    return VolumeDataset(
        name="shapes3d",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=list(CLASSES),
        source=(f"synthetic {SIZE}^3 occupancy grids (random pose, size, {NOISE:.0%} voxel noise): "
                f"{TRAIN_COUNT} train (seed {TRAIN_SEED}) / {TEST_COUNT} test (seed {TEST_SEED})"),
    )
