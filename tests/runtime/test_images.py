"""kerascnn.runtime.images: image files -> raw pixels, and the warnings about misleading images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kerascnn.core.errors import UsageError
from kerascnn.runtime.images import load_image, load_images

from helpers import INPUT_SHAPE

MNIST_MEAN = 33.3  # mean raw pixel of the MNIST training digits


def test_load_image_converts_rgb_to_grey_and_resizes(images):
    pixels = load_image(images["rgb"], INPUT_SHAPE)
    assert pixels.shape == INPUT_SHAPE and pixels.dtype == np.float32
    expected = Image.open(images["rgb"]).convert("L").resize((10, 12), Image.Resampling.BILINEAR)
    np.testing.assert_array_equal(pixels[..., 0], np.asarray(expected, np.float32))
    assert pixels.max() > 1.0  # raw 0-255 pixels, not rescaled


def test_load_image_replicates_grey_into_rgb(images):
    pixels = load_image(images["grey"], (24, 20, 3))
    assert pixels.shape == (24, 20, 3)
    np.testing.assert_array_equal(pixels[..., 0], pixels[..., 2])


def test_load_image_reads_jpeg(images):
    assert load_image(images["jpeg"], (8, 8, 3)).shape == (8, 8, 3)


def test_load_images_stacks_a_batch(images):
    batch = load_images([images["rgb"], images["grey"]], INPUT_SHAPE)
    assert batch.shape == (2, *INPUT_SHAPE) and batch.dtype == np.float32


def test_images_need_an_image_input_shape(images, tmp_path):
    with pytest.raises(UsageError, match=r"\(H, W, C\) input; this model takes \(6,\)"):
        load_image(images["rgb"], (6,))
    with pytest.raises(UsageError, match="4 input channels"):
        load_image(tmp_path / "x.png", (8, 8, 4))


# --------------------------------------------------------------------------- transparency (issue 8.3a)


def test_black_strokes_on_transparency_land_on_white(drawings, ink):
    """A drawing app's black pen on a transparent canvas is not black on black."""
    pixels = load_image(drawings["black_on_transparent"], (24, 20, 1))[..., 0]
    assert pixels.max() == 255 and pixels.min() == 0
    np.testing.assert_array_equal(pixels, np.where(ink, 0, 255))
    # Inverted, it is exactly the white-on-black digit an MNIST model expects.
    inverted = load_image(drawings["black_on_transparent"], (24, 20, 1), invert=True)
    np.testing.assert_array_equal(inverted, load_image(drawings["white_on_black"], (24, 20, 1)))


def test_light_strokes_on_transparency_land_on_black(drawings):
    pixels = load_image(drawings["white_on_transparent"], (24, 20, 3))
    np.testing.assert_array_equal(pixels, load_image(drawings["white_on_black"], (24, 20, 3)))


def test_partial_transparency_is_blended(tmp_path, save_png):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0] = (0, 0, 0, 128)  # half-transparent black over the white background of black ink
    rgba[1:, :] = (0, 0, 0, 255)
    rgba[0, 1:] = (0, 0, 0, 0)
    pixels = load_image(save_png(tmp_path / "blend.png", rgba), (4, 4, 1))[..., 0]
    assert pixels[0, 0] == pytest.approx(127, abs=1) and pixels[0, 1] == 255 and pixels[1, 0] == 0


# --------------------------------------------------------------------------- 16-bit (issue 8.3b)


def test_16_bit_grey_is_scaled_not_clipped(tmp_path, drawings, save_png):
    gradient = np.arange(256, dtype=np.uint8).reshape(16, 16)
    eight = save_png(tmp_path / "eight.png", gradient)
    sixteen = save_png(tmp_path / "sixteen.png", gradient.astype(np.uint16) * 257)
    assert Image.open(sixteen).mode.startswith("I")
    for shape in [(16, 16, 1), (16, 16, 3), (12, 10, 1)]:
        np.testing.assert_array_equal(load_image(sixteen, shape), load_image(eight, shape))
    np.testing.assert_array_equal(
        load_image(drawings["white_on_black_16bit"], (24, 20, 1)), load_image(drawings["white_on_black"], (24, 20, 1))
    )


# --------------------------------------------------------------------------- warnings (issue 8.3c, 8.3d)


def warnings_of(path, shape=(24, 20, 1), **options) -> list[str]:
    said: list[str] = []
    load_image(path, shape, warn=said.append, **options)
    return said


def test_blank_images_warn(drawings, tmp_path, save_png):
    assert warnings_of(drawings["blank"]) == [
        f"{drawings['blank']} is blank (every pixel 0): the prediction means nothing"
    ]
    # A fully transparent canvas is blank too, and so is a constant colour.
    assert warnings_of(drawings["transparent"])[0].endswith("is blank (every pixel 0): the prediction means nothing")
    red = save_png(tmp_path / "red.png", np.full((5, 5, 3), (255, 0, 0)))
    assert warnings_of(red, (5, 5, 3)) == [f"{red} is blank (every pixel (255, 0, 0)): the prediction means nothing"]
    assert warnings_of(drawings["white_on_black"]) == []


def test_polarity_warning_needs_the_training_mean(drawings):
    path = drawings["black_on_white"]
    assert warnings_of(path, input_mean=MNIST_MEAN) == [
        f"{path} is dark-on-light but the model was trained on light-on-dark images (mean 33): pass --invert"
    ]
    assert warnings_of(path) == []  # no recorded training mean: no guess
    assert warnings_of(path, input_mean=120.0) == []  # photos: the mean says nothing about polarity
    assert warnings_of(drawings["white_on_black"], input_mean=MNIST_MEAN) == []
    assert warnings_of(path, input_mean=MNIST_MEAN, invert=True) == []
    assert warnings_of(drawings["white_on_black"], input_mean=MNIST_MEAN, invert=True) == [
        f"{drawings['white_on_black']} becomes dark-on-light with --invert but the model was trained on "
        "light-on-dark images (mean 33): drop --invert"
    ]
    # The other way round: a model trained on dark ink on white paper.
    assert "is light-on-dark but the model was trained on dark-on-light images (mean 230): pass --invert" in (
        warnings_of(drawings["white_on_black"], input_mean=230.0)[0]
    )


def test_no_warning_callback_is_silent(drawings, capsys):
    load_image(drawings["blank"], (24, 20, 1), input_mean=MNIST_MEAN)
    assert capsys.readouterr().err == ""



def test_an_enlarged_digit_reads_back_as_the_original_pixels(tmp_path):
    """The quickstart saves 8x8 digits enlarged 8x (nearest) so they can be seen; predict shrinks them exactly."""
    from PIL import Image

    from kerascnn.runtime.images import load_image

    digit = np.random.default_rng(3).integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(digit).resize((64, 64), Image.Resampling.NEAREST).save(tmp_path / "big.png")
    np.testing.assert_array_equal(load_image(tmp_path / "big.png", (8, 8, 1))[..., 0], digit.astype("float32"))
