"""3D augmentation: shapes and labels kept, the transforms do what they say, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.core.errors import UsageError
from kerascnn.data import augment3d, shapes3d


def test_every_augmentation_keeps_shape_range_and_labels():
    volumes, labels = shapes3d.make_volumes(10, size=16, seed=0)
    layers = augment3d.build("flip_d,flip_h,flip_w,rot90,scale:0.2,shift:0.1,noise:5", (16, 16, 16, 1), seed=0)
    x = volumes.astype("float32")
    out = np.asarray(layers(x, training=True))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 255
    np.testing.assert_array_equal(np.asarray(layers(x, training=False)), x)
    assert labels.shape == (10,)  # augmentation maps inputs only


def test_flips_and_rotations_move_voxels_without_changing_them():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 3, 4, 4, 1)).astype("float32")
    for spec in ("flip_d", "flip_h", "flip_w", "rot90"):
        out = np.asarray(augment3d.build(spec, (3, 4, 4, 1), seed=1)(x, training=True))
        np.testing.assert_array_equal(np.sort(out.reshape(64, -1), 1), np.sort(x.reshape(64, -1), 1))
        changed = (out != x).any(axis=(1, 2, 3, 4))
        assert 0 < changed.sum() < 64, spec  # each example draws its own transform
    out = np.asarray(augment3d.build("rot90", (3, 4, 4, 1), seed=1)(x, training=True))
    candidates = [np.rot90(x, k, axes=(2, 3)) for k in range(4)]  # every result is a quarter-turn of its input
    assert all(any(np.array_equal(out[i], c[i]) for c in candidates) for i in range(64))


def test_intensity_scale_stays_in_its_range():
    x = np.full((200, 2, 2, 2, 1), 100.0, "float32")
    out = np.asarray(augment3d.build("scale:0.1", (2, 2, 2, 1), seed=0)(x, training=True))
    assert 90 - 1e-3 <= out.min() and out.max() <= 110 + 1e-3 and out.std() > 1


@pytest.mark.parametrize(("spec", "words"), [("flip_x", "Unknown 3D augmentation"), ("noise:0", "takes a number"),
                                              ("flip_w:2", "takes no value"), ("scale,scale", "twice")])
def test_bad_specs_are_one_line_errors(spec, words):
    with pytest.raises(UsageError, match=words):
        augment3d.parse(spec)


def test_rotation_needs_square_frames_and_volumes_need_rank_4():
    with pytest.raises(UsageError, match="square"):
        augment3d.build("rot90", (8, 16, 12, 1))
    with pytest.raises(UsageError, match="depth, height, width, channels"):
        augment3d.build("flip_w", (16, 16, 1))
    assert augment3d.build("none", (8, 8, 8, 1)) is None
