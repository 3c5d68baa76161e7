"""``moving_mnist``: clips of one MNIST digit moving in one of 8 directions; label = the direction.

A synthetic video data set in the spirit of Srivastava et al. (2015), "Unsupervised
Learning of Video Representations using LSTMs", made for classification: each clip
is ``frames`` frames (default 16) of ``size x size`` pixels (default 64) in which one
28x28 digit starts at a random place and moves ``speed`` pixels per frame along one
of the 8 compass directions, bouncing off the borders. The label is the direction of
the first step (``DIRECTIONS``, counter-clockwise from east; image rows grow
downwards, so "N" is up on the screen). The start is at least one step from every
border, so the first step is never a bounce.

One frame cannot tell the direction (every position and digit goes with every
label), so a 2D CNN on one frame stays at chance (12.5 %) while a 3D CNN on the clip
learns it: what the temporal dimension adds.

Split (fixed): training clips from the offline MNIST split's training images
(images 0-7,999 of the t10k file), test clips from its test images (8,000-9,999):
one clip per image, digits never shared between the splits. Generation is seeded
(train seed 0, test seed 1) and deterministic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerascnn.core.checks import check_positive
from kerascnn.core.errors import UsageError
from kerascnn.data.base import VolumeDataset

DIRECTIONS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")
#: (row step, column step) of each direction for a speed of 1 (rows grow downwards).
STEPS = np.array([(0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1)])
FRAMES, SIZE, SPEED = 16, 64, 2
TRAIN_SEED, TEST_SEED = 0, 1
DIGIT = 28
LOCAL_FILES = "mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz"


def make_clips(digits: np.ndarray, *, frames: int = FRAMES, size: int = SIZE, speed: int = SPEED, seed: int = 0):
    """Clips ``(N, frames, size, size, 1)`` uint8 and direction labels ``(N,)``, one clip per digit.

    Args:
        digits: uint8 ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` images.
        frames, size, speed: clip length, frame side in pixels, pixels moved per frame.
        seed: draws the directions and start positions.
    """
    for name, value in (("frames", frames), ("size", size), ("speed", speed)):
        check_positive(name, value, int)
    digits = np.asarray(digits, dtype=np.uint8).reshape(len(digits), DIGIT, DIGIT)
    room = size - DIGIT  # largest top-left coordinate
    if room < 2 * speed:
        raise UsageError(f"Frames of {size}x{size} leave no room for a {DIGIT}x{DIGIT} digit moving {speed} "
                         f"pixels per frame. Received: size={size}, speed={speed}")
    rng = np.random.default_rng(seed)
    count = len(digits)
    labels = rng.integers(0, len(DIRECTIONS), count)
    position = rng.integers(speed, room - speed + 1, (count, 2))
    velocity = STEPS[labels] * speed
    clips = np.zeros((count, frames, size, size), np.uint8)
    index = np.arange(count)[:, None, None]
    offsets = np.arange(DIGIT)
    for t in range(frames):
        rows = position[:, 0, None, None] + offsets[None, :, None]
        cols = position[:, 1, None, None] + offsets[None, None, :]
        clips[:, t][index, rows, cols] = digits
        moved = position + velocity
        bounce = (moved < 0) | (moved > room)
        velocity = np.where(bounce, -velocity, velocity)
        position = position + velocity
    return clips[..., np.newaxis], labels.astype(np.int64)


def from_mnist(mnist, *, frames: int = FRAMES, size: int = SIZE, speed: int = SPEED) -> VolumeDataset:
    """Moving-MNIST clips from an MNIST :class:`~kerascnn.data.base.ImageDataset` (one clip per image)."""
    x_train, y_train = make_clips(mnist.x_train, frames=frames, size=size, speed=speed, seed=TRAIN_SEED)
    x_test, y_test = make_clips(mnist.x_test, frames=frames, size=size, speed=speed, seed=TEST_SEED)
    return VolumeDataset(
        name="moving_mnist",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        class_names=list(DIRECTIONS),
        source=(
            f"moving MNIST generated from {mnist.source}: {len(x_train)} train / {len(x_test)} test clips of "
            f"{frames}x{size}x{size}, {speed} px/frame, seeds {TRAIN_SEED}/{TEST_SEED}"
        ),
        extra={"train": {"digit": mnist.y_train}, "test": {"digit": mnist.y_test}},
    )


def load(folder: Path) -> VolumeDataset:
    """The default clips (16 frames of 64x64, 2 px/frame) from the MNIST IDX files in ``folder``."""
    from kerascnn.data import MNIST_CLASSES, idx

    return from_mnist(idx.load_idx_dataset("mnist", folder, MNIST_CLASSES))


def first_step(clips: np.ndarray) -> np.ndarray:
    """The direction label of each clip, read from the digit's centre of mass in frames 0 and 1."""
    weights = clips[:, :2, ..., 0].astype(np.float64)
    rows = np.arange(clips.shape[2])[:, None]
    cols = np.arange(clips.shape[3])[None, :]
    total = weights.sum(axis=(2, 3))
    centre = np.stack([(weights * rows).sum(axis=(2, 3)) / total, (weights * cols).sum(axis=(2, 3)) / total], -1)
    step = np.sign(np.round(centre[:, 1] - centre[:, 0])).astype(int)
    return np.array([int(np.flatnonzero((STEPS == s).all(axis=1))[0]) for s in step])
