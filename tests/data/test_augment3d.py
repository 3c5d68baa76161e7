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


# --------------------------------------------------------------------------- --augment on 5-D data


def test_the_data_set_kind_chooses_2d_or_3d_augmentation_in_one_line():
    from kerascnn import data

    data.check_augment("flip_w,rot90,noise:4", "shapes3d")
    data.check_augment("rotate:10,crop", "mnist")
    data.check_augment("flip_d", "toy")  # an unregistered name (a data set loaded in Python): either kind
    for spec, dataset, words in [("rotate:10", "moving_mnist", "'rotate' is a 2D \\(image\\) augmentation"),
                                 ("flip", "shapes3d", "'flip' is a 2D"), ("flip_d", "mnist", "'flip_d' is a 3D"),
                                 ("noise:4", "folder:/x", "'noise' is a 3D"), ("spin", "toy", "Unknown augmentation")]:
        with pytest.raises(UsageError, match=words) as err:
            data.check_augment(spec, dataset)
        assert "\n" not in str(err.value)
    assert data.augmentation_for("nifti:scans") is augment3d and data.augmentation_for(np.zeros((1, 2, 2, 2, 1))) is augment3d


def test_pipeline_augments_volumes_with_the_3d_layers():
    from kerascnn import data

    x = np.full((8, 4, 6, 6, 1), 100, np.uint8)
    batch, labels = next(iter(data.pipeline(x, np.arange(8), batch_size=8, shuffle=False, seed=0, augment="noise:20")))
    assert batch.shape == (8, 4, 6, 6, 1) and labels.numpy().tolist() == list(range(8))
    assert float(np.std(batch)) > 5
    with pytest.raises(UsageError, match="'flip_d' is a 3D augmentation"):
        data.pipeline(np.zeros((4, 6, 6, 1), np.uint8), np.arange(4), batch_size=2, shuffle=False, seed=0,
                      augment="flip_d")


def test_suggestions_keep_the_label_and_flipped_clips_are_warned_about():
    assert augment3d.mirror_warning("flip_w,noise:4", "moving_mnist").startswith("--augment flip_w moves the frames")
    assert augment3d.mirror_warning("flip_w,rot90", "shapes3d") is None
    assert augment3d.mirror_warning(augment3d.suggest("moving_mnist"), "moving_mnist") is None
    assert set(augment3d.describe()) == set(augment3d.names())


def test_augment_preview_writes_slice_montages_of_volumes(tmp_path, capsys):
    from PIL import Image

    from kerascnn.cli import main
    from kerascnn.commands.augment_preview import montage, slice_indices

    assert slice_indices(32, 4) == [4, 12, 20, 28] and slice_indices(3, 4) == [0, 1, 2]
    volumes = np.arange(2 * 8 * 3 * 5, dtype=np.float32).reshape(2, 8, 3, 5, 1)
    strip = montage(volumes, 2)  # slices 2 and 6 side by side, one grey column between
    assert strip.shape == (2, 3, 11, 1)
    np.testing.assert_array_equal(strip[:, :, :5], volumes[:, 2]) and np.testing.assert_array_equal(
        strip[:, :, 6:], volumes[:, 6])
    out = tmp_path / "aug3d.png"
    assert main(["augment-preview", "--dataset", "shapes3d", "--augment", "flip_w,rot90,noise:8", "--samples", "2",
                 "--variants", "2", "--slices", "3", "--out", str(out)]) == 0
    assert "2 shapes3d volumes x 2 variants" in capsys.readouterr().out
    assert Image.open(out).size[0] > Image.open(out).size[1]  # montages are wide
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aug3d.png"]  # written atomically, nothing else
    assert main(["augment-preview", "--dataset", "shapes3d", "--augment", "rotate:10", "--out", str(out)]) == 2
    assert "'rotate' is a 2D (image) augmentation" in capsys.readouterr().err
    assert main(["augment-preview", "--dataset", "moving_mnist", "--augment", "flip_h", "--out", str(out)]) != 0
    assert "moves the frames" in capsys.readouterr().err
