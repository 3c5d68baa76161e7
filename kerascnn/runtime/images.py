"""Image files -> the raw pixels an exported kerascnn model takes, with Pillow.

Models exported by kerascnn take **raw pixels**: float32 ``(H, W, C)`` in 0-255
(the scaling lives inside the model), so reading an image is decoding,
flattening transparency, matching the channel count and resizing. What commonly
goes wrong is caught here rather than answered with confidence:

* a transparent PNG (strokes on alpha, as drawing apps save them) is composited
  onto a background that contrasts with its strokes, not stripped to black;
* a 16-bit grey PNG is scaled from 0-65535 to 0-255, not clipped to white;
* a blank image, and an image whose polarity (dark-on-light or light-on-dark) is
  the opposite of the training images', get a one-line warning.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError, first_line

#: Decoders Pillow is allowed to use: a PNG renamed to .jpg still works, a
#: random binary file does not get guessed as some exotic format.
IMAGE_FORMATS = ("PNG", "JPEG")
#: Pillow mode per channel count the model takes.
CHANNEL_MODES = {1: "L", 3: "RGB"}
#: Pillow modes of 16/32-bit integer grey images (16-bit PNG), scaled from 0-65535.
WIDE_GREY_MODES = ("I;16", "I;16B", "I;16L", "I")
#: The middle of the 0-255 range: brighter means are light backgrounds.
MID_GREY = 127.5
#: Training means this close to mid-grey (photos: CIFAR-10 ~120) say nothing about polarity.
POLARITY_MARGIN = 32.0

Warn = Callable[[str], None]


def _check_image_file(path: Path) -> None:
    if not path.exists():
        raise DataNotFoundError(f"Image file not found: {path}")
    if path.is_dir():
        raise UsageError(f"Expected an image file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise UsageError(f"Image file {path} is empty.")


def _image_size(input_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise UsageError(f"Images feed models with an (H, W, C) input; this model takes {tuple(input_shape)}.")
    height, width, channels = (int(d) for d in input_shape)
    if channels not in CHANNEL_MODES:
        raise UsageError(f"Models with {channels} input channels are not supported; expected 1 or 3.")
    return height, width, channels


def _to_8bit(image):
    """16-bit grey (``I;16``/``I``) scaled to 8-bit ``L``: 65535 -> 255, not clipped."""
    from PIL import Image

    if image.mode not in WIDE_GREY_MODES:
        return image
    values = np.asarray(image, dtype=np.float64) * (255.0 / 65535.0)
    return Image.fromarray(np.rint(np.clip(values, 0, 255)).astype(np.uint8))


def _flatten_alpha(image):
    """Composite a transparent image onto black or white, whichever contrasts with its opaque pixels.

    Dark strokes on transparency (a drawing app's "black pen") land on white,
    light strokes on black. Dropping alpha instead would keep the colour of the
    transparent pixels, usually black: a black digit on black.
    """
    from PIL import Image

    if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
        return image
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    if alpha.min() == 1.0:
        return rgba.convert("RGB")
    grey = np.asarray(rgba.convert("L"), dtype=np.float64)
    coverage = alpha.sum()
    ink = (grey * alpha).sum() / coverage if coverage else MID_GREY + 1  # nothing opaque: black
    shade = 255 if ink <= MID_GREY else 0
    background = Image.new("RGBA", rgba.size, (shade, shade, shade, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _decode(path: Path, mode: str, size: tuple[int, int], invert: bool) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path, formats=IMAGE_FORMATS) as image:
            image.load()  # forces a full decode: truncation fails here
            image = _flatten_alpha(_to_8bit(image)).convert(mode)
            if invert:  # before resizing: an inverted file and the file inverted give the same pixels
                image = ImageOps.invert(image)
            if image.size != size:
                image = image.resize(size, _resampling(image.size, size))
            return np.asarray(image, dtype=np.float32)
    except UnidentifiedImageError:
        raise UsageError(f"{path} is not a PNG or JPEG image.") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise UsageError(f"Cannot decode image {path}: {first_line(err)}") from None


def _resampling(source: tuple[int, int], target: tuple[int, int]):
    """Area averaging (BOX) for an exact integer shrink — it undoes a nearest-neighbour enlargement
    exactly, so a digit saved at 8x for viewing reads back as the original 8x8 — else bilinear."""
    from PIL import Image

    exact = all(s > t and s % t == 0 for s, t in zip(source, target))
    return Image.Resampling.BOX if exact else Image.Resampling.BILINEAR


def blank_warning(name: str, pixels: np.ndarray) -> str | None:
    """The warning for an image whose pixels are all the same, else ``None``."""
    flat = pixels.reshape(-1, pixels.shape[-1])
    if not np.all(flat == flat[0]):
        return None
    value = f"{flat[0, 0]:g}" if flat.shape[1] == 1 else "(" + ", ".join(f"{v:g}" for v in flat[0]) + ")"
    return f"{name} is blank (every pixel {value}): the prediction means nothing"


def polarity_warning(name: str, pixels: np.ndarray, input_mean: float | None, inverted: bool = False) -> str | None:
    """The warning for an image on the other side of mid-grey from the training images, else ``None``.

    MNIST-style models learn white strokes on black (mean ~33); a digit drawn
    black on white (mean ~230) gets a confident, wrong answer. ``pixels`` are
    what the model is fed (after ``--invert``, when ``inverted``).
    """
    if input_mean is None or abs(input_mean - MID_GREY) < POLARITY_MARGIN:
        return None
    fed_light = float(pixels.mean()) > MID_GREY
    trained_light = input_mean > MID_GREY
    if fed_light == trained_light:
        return None
    fed = "dark-on-light" if fed_light else "light-on-dark"
    trained = "dark-on-light" if trained_light else "light-on-dark"
    if inverted:
        return (
            f"{name} becomes {fed} with --invert but the model was trained on {trained} images "
            f"(mean {input_mean:.0f}): drop --invert"
        )
    return f"{name} is {fed} but the model was trained on {trained} images (mean {input_mean:.0f}): pass --invert"


def load_image(
    path: str | os.PathLike,
    input_shape: Sequence[int],
    *,
    invert: bool = False,
    input_mean: float | None = None,
    warn: Warn | None = None,
) -> np.ndarray:
    """Decode a PNG/JPEG into float32 raw pixels of ``input_shape`` (H, W, C).

    Transparency is composited onto a contrasting background and 16-bit grey
    is scaled to 0-255 (see the module notes); channels are converted with
    Pillow (``L`` for 1-channel models, ``RGB`` for 3-channel ones: an RGB photo
    into an MNIST model becomes grey-scale, a grey-scale digit into an ImageNet
    model is replicated over R, G and B) and the image is resized to the model's
    size with bilinear filtering. Pixel values stay in 0-255: the model does its
    own scaling.

    Args:
        path: the image file.
        input_shape: the model's ``(H, W, C)``.
        invert: feed ``255 - pixels`` (dark-on-light drawings into a model trained
            on light-on-dark images, or the reverse).
        input_mean: mean raw value of the training images (the export manifest's
            ``input_mean``), for the polarity warning; ``None``: no such check.
        warn: called with one line per suspicious image (blank, opposite polarity).

    Raises:
        DataNotFoundError: missing file.
        UsageError: empty, truncated or non-image file; unsupported channel count.
    """
    height, width, channels = _image_size(input_shape)
    path = Path(path)
    _check_image_file(path)
    pixels = _decode(path, CHANNEL_MODES[channels], (width, height), invert).reshape(height, width, channels)
    if warn is not None:
        name = os.fspath(path)
        message = blank_warning(name, pixels) or polarity_warning(name, pixels, input_mean, inverted=invert)
        if message:
            warn(message)
    return pixels


def load_images(
    paths: Sequence[str | os.PathLike],
    input_shape: Sequence[int],
    *,
    invert: bool = False,
    input_mean: float | None = None,
    warn: Warn | None = None,
) -> np.ndarray:
    """:func:`load_image` for each path, stacked into an ``(N, H, W, C)`` float32 batch."""
    return np.stack(
        [load_image(p, input_shape, invert=invert, input_mean=input_mean, warn=warn) for p in paths]
    )
