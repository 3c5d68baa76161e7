"""Volume data sets: moving MNIST (direction of motion) and shapes3d (occupancy grids)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from kerascnn import data
from kerascnn.core.errors import DataNotFoundError
from kerascnn.data import moving_mnist, shapes3d
from kerascnn.data.base import ImageDataset, VolumeDataset


def random_digits(count: int, seed: int = 0) -> np.ndarray:
    """Blobs standing in for MNIST digits (no file needed)."""
    rng = np.random.default_rng(seed)
    digits = np.zeros((count, 28, 28), np.uint8)
    digits[:, 6:22, 8:20] = rng.integers(64, 256, (count, 16, 12))
    return digits


def hashes(x: np.ndarray) -> set[str]:
    return {hashlib.sha1(example.tobytes()).hexdigest() for example in x}


def test_moving_clips_are_deterministic_and_seeded():
    digits = random_digits(50)
    clips, labels = moving_mnist.make_clips(digits, seed=3)
    again, labels_again = moving_mnist.make_clips(digits, seed=3)
    assert clips.shape == (50, 16, 64, 64, 1) and clips.dtype == np.uint8
    np.testing.assert_array_equal(clips, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(moving_mnist.make_clips(digits, seed=4)[0], clips)


def test_the_direction_is_recoverable_from_the_first_two_frames():
    clips, labels = moving_mnist.make_clips(random_digits(400), frames=6, size=40, speed=3, seed=0)
    np.testing.assert_array_equal(moving_mnist.first_step(clips), labels)
    assert set(labels) == set(range(8))


def test_the_digit_stays_whole_inside_the_frame_while_bouncing():
    digits = random_digits(64)
    clips, _ = moving_mnist.make_clips(digits, frames=40, size=36, speed=2, seed=1)
    ink = digits.astype(np.int64).sum(axis=(1, 2))
    np.testing.assert_array_equal(clips.astype(np.int64).sum(axis=(2, 3, 4)), np.repeat(ink[:, None], 40, 1))


def test_one_frame_carries_no_direction_but_two_frames_do():
    """A classifier on where the digit is in the first frame stays at chance; on the step to the next it is exact."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clips, labels = moving_mnist.make_clips(random_digits(4000), frames=4, size=48, seed=0)
    weights = clips[..., 0].astype(np.float64)
    grid = np.arange(48)
    rows = (weights.sum(3) * grid).sum(2) / weights.sum((2, 3))
    cols = (weights.sum(2) * grid).sum(2) / weights.sum((2, 3))
    one_frame = np.stack([rows[:, 0], cols[:, 0], rows[:, 0] ** 2, cols[:, 0] ** 2], 1)
    two_frames = np.stack([rows[:, 1] - rows[:, 0], cols[:, 1] - cols[:, 0]], 1)
    train, test = slice(0, 3000), slice(3000, None)

    def accuracy(features):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        return model.fit(features[train], labels[train]).score(features[test], labels[test])

    single, motion = accuracy(one_frame), accuracy(two_frames)
    assert single < 0.2  # chance is 1/8
    assert motion > 0.99


def test_moving_mnist_from_the_offline_files(shared_data):
    dataset = data.load("moving_mnist", shared_data)
    assert isinstance(dataset, VolumeDataset)
    assert (len(dataset.x_train), len(dataset.x_test)) == (8000, 2000)
    assert dataset.input_shape == (16, 64, 64, 1)
    assert dataset.class_names == list(moving_mnist.DIRECTIONS)
    np.testing.assert_array_equal(moving_mnist.first_step(dataset.x_test), dataset.y_test)
    assert np.bincount(dataset.y_train).min() > 900  # 8 directions, balanced
    assert hashes(dataset.x_test[:, :1]).isdisjoint(hashes(dataset.x_train[:, :1]))  # first frames: no shared clip
    mnist = data.load("mnist", shared_data)  # the test clips are images 8,000-9,999, regenerated identically
    again, labels = moving_mnist.make_clips(mnist.x_test, seed=moving_mnist.TEST_SEED)
    np.testing.assert_array_equal(again, dataset.x_test)
    np.testing.assert_array_equal(labels, dataset.y_test)


def test_moving_mnist_without_files_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.delenv("KERASCNN_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="t10k"):
        data.load("moving_mnist", tmp_path)


def test_shapes3d_is_a_fixed_balanced_split_of_occupancy_grids():
    dataset = data.load("shapes3d")
    assert isinstance(dataset, VolumeDataset)
    assert dataset.x_train.shape == (1000, 32, 32, 32, 1) and dataset.x_test.shape == (250, 32, 32, 32, 1)
    assert set(np.unique(dataset.x_train)) == {0, 255}
    assert np.bincount(dataset.y_train).tolist() == [200] * 5
    assert dataset.class_names == ["sphere", "cube", "cylinder", "cone", "torus"]
    assert hashes(dataset.x_train).isdisjoint(hashes(dataset.x_test))
    volumes, labels = shapes3d.make_volumes(shapes3d.TEST_COUNT, seed=shapes3d.TEST_SEED)
    np.testing.assert_array_equal(volumes, dataset.x_test)
    np.testing.assert_array_equal(labels, dataset.y_test)


def test_shapes3d_solids_differ_in_how_much_they_fill():
    volumes, labels = shapes3d.make_volumes(200, seed=5, noise=0.0)
    filled = (volumes > 0).mean(axis=(1, 2, 3, 4))
    sphere, torus = filled[labels == 0].mean(), filled[labels == 4].mean()
    assert sphere > 2 * torus > 0  # a torus is a thin ring, a sphere a full ball


def test_datasets_check_their_rank():
    four_d = np.zeros((2, 8, 8, 1), np.uint8)
    five_d = np.zeros((2, 4, 8, 8, 1), np.uint8)
    labels = np.zeros(2)
    with pytest.raises(ValueError, match="NDHWC"):
        VolumeDataset("v", four_d, labels, four_d, labels, ["a"], "test")
    with pytest.raises(ValueError, match="NHWC"):
        ImageDataset("i", five_d, labels, five_d, labels, ["a"], "test")
    assert VolumeDataset("v", five_d, labels, five_d, labels, ["a"], "test").input_shape == (4, 8, 8, 1)


def test_volume_data_sets_are_registered():
    assert {"moving_mnist", "shapes3d"} <= set(data.names())
    assert data.check_name("shapes3d") == "registered"
