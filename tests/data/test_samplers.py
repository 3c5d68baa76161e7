"""kerascnn.data.samplers: P x K batches really balanced, pairs and triplets valid, episodes by protocol."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.core.errors import UsageError
from kerascnn.data import samplers

LABELS = np.repeat(np.arange(6), [5, 5, 4, 6, 5, 3])  # smallest class: 3 examples


def test_balanced_batch_indices_are_p_classes_by_k_distinct_examples():
    rng = np.random.default_rng(0)
    batches = samplers.balanced_batch_indices(LABELS, 4, 3, rng, batches=20)
    assert batches.shape == (20, 12)
    for batch in batches:
        assert len(set(batch.tolist())) == 12  # no example twice
        classes, counts = np.unique(LABELS[batch], return_counts=True)
        assert len(classes) == 4 and (counts == 3).all()


def test_balanced_batches_pipeline_yields_float_pixels_and_new_batches_each_epoch():
    x = np.arange(len(LABELS), dtype=np.uint8).reshape(-1, 1, 1, 1) * np.ones((1, 2, 2, 1), np.uint8)
    ds = samplers.balanced_batches(x, LABELS, classes_per_batch=2, examples_per_class=3, seed=0, batches_per_epoch=2)
    first = [(images.numpy(), labels.numpy()) for images, labels in ds]
    second = [labels.numpy() for _, labels in ds]
    assert len(first) == 2 and first[0][0].dtype == np.float32 and first[0][0].shape == (6, 2, 2, 1)
    for images, labels in first:
        assert (LABELS[images[:, 0, 0, 0].astype(int)] == labels).all()  # the images match their labels
        assert sorted(np.unique(labels, return_counts=True)[1]) == [3, 3]
    assert any((a[1] != b).any() for a, b in zip(first, second))


@pytest.mark.parametrize("p, k, message", [
    (2, 4, r"K = 4 examples per class is more than the smallest class has \(3\); use K <= 3"),
    (7, 2, "need 7 classes; the data has 6"),
    (2, 1, "examples_per_class"),
])
def test_impossible_batches_are_one_line_errors(p, k, message):
    with pytest.raises(UsageError, match=message) as info:
        samplers.balanced_batch_indices(LABELS, p, k, np.random.default_rng(0))
    assert "\n" not in str(info.value)


def test_pairs_are_half_same_and_triplets_valid():
    rng = np.random.default_rng(0)
    first, second, same = samplers.make_pairs(LABELS, 100, rng)
    assert same.sum() == 50 and (first != second).all()
    assert ((LABELS[first] == LABELS[second]) == same.astype(bool)).all()
    triplets = samplers.make_triplets(LABELS, 50, rng)
    a, p, n = triplets.T
    assert (LABELS[a] == LABELS[p]).all() and (a != p).all() and (LABELS[a] != LABELS[n]).all()


def test_pairs_need_a_class_with_two_examples():
    with pytest.raises(UsageError, match="two or more examples"):
        samplers.make_pairs(np.arange(5), 4, np.random.default_rng(0))


def test_within_alphabet_episodes_stay_in_one_group_and_unstructured_ones_do_not():
    labels = np.repeat(np.arange(12), 4)
    groups = np.repeat(np.array(["A", "B", "C"]), 16)  # 4 classes per group
    rng = np.random.default_rng(0)
    within = samplers.episodes(labels, ways=4, shots=1, queries=2, count=30, rng=rng, groups=groups)
    for episode in within:
        assert len(set(groups[episode.support])) == 1 and len(set(groups[episode.query])) == 1
        assert (labels[episode.support] == episode.classes[episode.support_labels]).all()
        assert (labels[episode.query] == episode.classes[episode.query_labels]).all()
        assert not set(episode.support) & set(episode.query)
    mixed = samplers.episodes(labels, ways=4, shots=1, queries=2, count=30, rng=rng)
    assert any(len(set(groups[e.support])) > 1 for e in mixed)
    with pytest.raises(UsageError, match="5-way"):
        samplers.episodes(labels, ways=5, shots=1, queries=1, count=1, rng=rng, groups=groups)


def test_rotated_classes_are_new_classes():
    from kerascnn.data.samplers import rotated_classes

    x = np.arange(2 * 3 * 3).reshape(2, 3, 3, 1)
    y = np.array([0, 1])
    rx, ry = rotated_classes(x, y, rotations=4)
    assert rx.shape == (8, 3, 3, 1) and ry.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    np.testing.assert_array_equal(rx[2, :, :, 0], np.rot90(x[0, :, :, 0]))  # class 0 turned 90 degrees = class 2
    np.testing.assert_array_equal(rx[4, :, :, 0], x[0, ::-1, ::-1, 0])  # 180 degrees
    same_x, same_y = rotated_classes(x, y, rotations=1)
    np.testing.assert_array_equal(same_x, x) and np.testing.assert_array_equal(same_y, y)
    with pytest.raises(UsageError, match="rotations"):
        rotated_classes(x, y, rotations=5)
