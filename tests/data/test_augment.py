"""Augmentation specs, the layers they build, and the ``augment-preview`` command."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.data import augment
from kerascnn.core.errors import UsageError


@pytest.fixture(scope="module")
def rgb():
    """8 random RGB 32x32 images as float32 raw pixels, all >= 1 (so 0 marks filled pixels)."""
    return np.random.default_rng(0).integers(1, 256, (8, 32, 32, 3)).astype(np.float32)


@pytest.mark.parametrize("name", augment.names())
def test_each_augmentation_changes_training_images_only(name, rgb):
    layers = augment.build(name, rgb.shape[1:], seed=1)
    out = np.asarray(layers(rgb, training=True))
    assert out.shape == rgb.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 255
    changed = [not np.allclose(o, x) for o, x in zip(out, rgb)]
    assert sum(changed) >= (2 if name == "flip" else len(rgb))  # flip mirrors about half of them
    np.testing.assert_array_equal(np.asarray(layers(rgb, training=False)), rgb)


def test_names_cover_the_lecture_list():
    assert set(augment.names()) >= {
        "flip", "crop", "translate", "zoom", "rotate", "contrast", "brightness", "color", "cast", "shear", "cutout",
    }  # fmt: skip


def test_flip_mirrors_left_right(rgb):
    out = np.asarray(augment.build("flip", rgb.shape[1:], seed=3)(rgb, training=True))
    mirrored = [np.array_equal(o, x[:, ::-1]) for o, x in zip(out, rgb)]
    kept = [np.array_equal(o, x) for o, x in zip(out, rgb)]
    assert all(m or k for m, k in zip(mirrored, kept)) and any(mirrored) and any(kept)


def shift(image, dy, dx):
    """``image`` moved by (dy, dx) pixels with zero fill."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_crop_is_pad_and_crop_with_zeros(rgb):
    out = np.asarray(augment.build("crop:0.125", rgb.shape[1:], seed=2)(rgb, training=True))
    pad = 4  # 0.125 * 32
    for o, x in zip(out, rgb):
        matches = [(dy, dx) for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                   if np.array_equal(o, shift(x, dy, dx))]  # fmt: skip
        assert len(matches) == 1


def test_cutout_blanks_one_square(rgb):
    out = np.asarray(augment.build("cutout:0.5", rgb.shape[1:], seed=4)(rgb, training=True))
    for o in out:
        rows, cols = np.nonzero((o == 0).all(axis=-1))
        height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
        assert 15 <= height <= 17 and 15 <= width <= 17  # 0.5 x 32
        assert len(rows) == height * width  # a filled rectangle


def test_brightness_adds_one_offset_per_image():
    grey = np.full((6, 8, 8, 1), 128.0, np.float32)
    out = np.asarray(augment.build("brightness:0.2", grey.shape[1:], seed=5)(grey, training=True))
    offsets = (out - grey).reshape(6, -1)
    np.testing.assert_allclose(offsets, offsets[:, :1].repeat(64, axis=1), atol=1e-3)
    assert np.abs(offsets).max() <= 0.2 * 255 + 1e-3 and len(np.unique(offsets[:, 0].round(3))) == 6


def test_colour_cast_shifts_each_channel():
    grey = np.full((4, 8, 8, 3), 128.0, np.float32)
    out = np.asarray(augment.build("cast:0.1", grey.shape[1:], seed=6)(grey, training=True))
    per_channel = (out - grey)[:, 0, 0, :]
    np.testing.assert_allclose(out - grey, np.broadcast_to(per_channel[:, None, None, :], out.shape), atol=1e-4)
    assert np.abs(per_channel).max() <= 25.5 + 1e-4
    assert all(len(np.unique(p.round(3))) == 3 for p in per_channel)


def test_seed_makes_augmentation_reproducible(rgb):
    spec = "rotate:20,zoom:0.2,contrast:0.3"
    a = np.asarray(augment.build(spec, rgb.shape[1:], seed=7)(rgb, training=True))
    b = np.asarray(augment.build(spec, rgb.shape[1:], seed=7)(rgb, training=True))
    c = np.asarray(augment.build(spec, rgb.shape[1:], seed=8)(rgb, training=True))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_all_augmentations_run_inside_tf_data(rgb):
    import tensorflow as tf

    layers = augment.build(",".join(augment.names()), rgb.shape[1:], seed=0)
    ds = tf.data.Dataset.from_tensor_slices(rgb).batch(4).map(lambda x: layers(x, training=True))
    out = np.concatenate([b.numpy() for b in ds])
    assert out.shape == rgb.shape and 0 <= out.min() and out.max() <= 255


def test_affine_is_kochs_distortion_scaled_with_edges_extended():
    """``affine:v``: :class:`RandomAffine` with Koch et al.'s ranges times v; a background of any colour stays."""
    from kerascnn.data.distortions import KOCH_RANGES, RandomAffine

    layer = augment.build("affine:2", (28, 28, 1), seed=0).layers[0]
    assert isinstance(layer, RandomAffine) and layer.fill_mode == "nearest"
    assert (layer.rotation, layer.shear, layer.scale) == (20.0, 0.6, 0.4)
    assert layer.translation == pytest.approx(2 * KOCH_RANGES["translation"])
    assert augment.parse("affine") == [("affine", 1.0)]
    for paper, ink in ((255.0, 0.0), (0.0, 255.0)):  # Omniglot (white paper), MNIST (black)
        images = np.full((16, 28, 28, 1), paper, np.float32)
        images[:, 12:16, 12:16] = ink
        out = np.asarray(augment.build("affine:2", (28, 28, 1), seed=1)(images, training=True))
        corners = np.concatenate([out[:, :3, :3], out[:, -3:, -3:]], axis=1)
        np.testing.assert_allclose(corners, paper, atol=0.01)  # no filled borders
        assert np.abs(out - images).max(axis=(1, 2, 3)).min() > 100  # every image's ink moved


def test_custom_layer_serialises():
    import keras

    layer = augment.RandomColorCast(0.2, seed=3)
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(clone, augment.RandomColorCast)
    assert clone.get_config()["factor"] == 0.2 and clone.get_config()["seed"] == 3


def test_parse_defaults_and_empty_specs():
    expected = [("flip", None), ("crop", 0.125), ("rotate", 15.0), ("zoom", 0.1)]
    assert augment.parse("flip, crop,rotate:15 ,zoom") == expected
    for empty in (None, "", "none", " , "):
        assert augment.build(empty, (28, 28, 1)) is None


@pytest.mark.parametrize(
    "spec, shape, words",
    [
        ("flop", (28, 28, 1), "Unknown augmentation 'flop'. Did you mean: flip"),
        ("rotate:abc", (28, 28, 1), "takes a number in"),
        ("rotate:200", (28, 28, 1), r"\(0, 180\]"),
        ("affine:4", (28, 28, 1), r"\(0, 3\]"),
        ("zoom:-0.1", (28, 28, 1), "takes a number"),
        ("crop:nan", (28, 28, 1), "takes a number"),
        ("flip:1", (28, 28, 1), "takes no value"),
        ("rotate,rotate:5", (28, 28, 1), "appears twice"),
        ("color", (28, 28, 1), "needs RGB"),
        ("flip", (28, 28), "image shape"),
    ],
)
def test_bad_specs_are_one_line_errors(spec, shape, words):
    with pytest.raises(UsageError, match=words) as err:
        augment.build(spec, shape)
    assert "\n" not in str(err.value)


def test_unknown_name_lists_valid_augmentations():
    with pytest.raises(UsageError) as err:
        augment.parse("mixup")
    assert all(name in str(err.value) for name in augment.names())


def test_suggestions_are_label_safe_and_valid():
    for dataset in ("digits", "mnist", "svhn_cropped", "omniglot", "some_folder"):
        assert "flip" not in augment.suggest(dataset)
    assert "flip" in augment.suggest("cifar10")
    for dataset in ("digits", "mnist", "cifar10", "fashion_mnist", "omniglot"):
        augment.parse(augment.suggest(dataset))


# --------------------------------------------------------------------------- augment-preview


def test_augment_preview_writes_png(tmp_path, monkeypatch):
    from PIL import Image

    from kerascnn import cli

    monkeypatch.delenv("KERASCNN_DATA", raising=False)
    out = tmp_path / "grid.png"
    argv = ["augment-preview", "--dataset", "digits", "--augment", "rotate:20,translate:0.1",
            "--samples", "3", "--variants", "4", "--seed", "1", "--out", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > image.height > 100
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temporary left behind


def test_augment_preview_bad_input(tmp_path, capsys):
    from kerascnn import cli

    bad = [
        ["--augment", "sharpen", "--out", str(tmp_path / "a.png")],
        ["--out", str(tmp_path / "a.jpg")],
        [],
    ]
    for args in bad:
        assert cli.main(["augment-preview", *args]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert not any(tmp_path.iterdir())


# --------------------------------------------------------------------------- label safety and TF-free parsing


@pytest.mark.parametrize("dataset", ["digits", "mnist", "omniglot", "svhn_cropped"])
def test_mirroring_digits_or_letters_is_warned(dataset):
    """Issue 8: --augment flip on digits/letters was accepted without a word (a mirrored 2 is not a 2)."""
    warning = augment.mirror_warning("crop,flip", dataset)
    assert warning and "\n" not in warning and "flip" in warning and dataset in warning
    augment.parse(warning.rsplit("--augment ", 1)[1].rstrip("."))  # the suggested spec is valid
    assert augment.mirror_warning("crop,rotate:10", dataset) is None


def test_mirroring_photos_is_fine():
    assert augment.mirror_warning("flip,crop", "cifar10") is None
    assert augment.mirror_warning("flip", "folder:/photos") is None
    assert augment.mirror_warning(None, "mnist") is None


def test_augment_preview_warns_about_mirrored_digits(tmp_path, capsys):
    from kerascnn import cli

    out = tmp_path / "grid.png"
    assert cli.main(["augment-preview", "--dataset", "digits", "--augment", "flip", "--samples", "2",
                     "--variants", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "warning:" in err[0] and "digits or letters" in err[0]


def test_parsing_and_its_errors_import_no_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from kerascnn.core.errors import UsageError\n"
        "from kerascnn.data import augment\n"
        "assert augment.parse('flip,rotate:15') == [('flip', None), ('rotate', 15.0)]\n"
        "for spec in ('flop', 'rotate:999', 'flip:3', 'crop,crop'):\n"
        "    try:\n"
        "        augment.parse(spec)\n"
        "    except UsageError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit(spec)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
