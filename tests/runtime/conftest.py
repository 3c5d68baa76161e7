"""Fixtures of tests/runtime: a tiny exported classifier and a few image files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import INPUT_SHAPE, export_tiny


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """``export_tiny``: a 12x10x1 five-class model as .onnx and .tflite in one export folder."""
    return export_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def export_copy(tiny, tmp_path):
    """``export_copy(**manifest_changes)``: a copy of the tiny export folder with its manifest edited."""

    def copy(**changes) -> Path:
        folder = tmp_path / f"export{len(list(tmp_path.glob('export*')))}"
        shutil.copytree(tiny["export"], folder)
        manifest_path = folder / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest.update(changes)
        manifest_path.write_text(json.dumps(manifest))
        return folder

    return copy


def save_image(path: Path, pixels: np.ndarray) -> Path:
    """Write pixels as PNG or JPEG (from the suffix): uint16 arrays as 16-bit grey, others as uint8."""
    pixels = np.asarray(pixels)
    Image.fromarray(pixels if pixels.dtype == np.uint16 else pixels.astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="session")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(2)
    return {
        "rgb": save_image(folder / "rgb.png", rng.uniform(0, 255, (30, 40, 3))),
        "grey": save_image(folder / "grey.png", rng.uniform(0, 255, INPUT_SHAPE[:2])),
        "jpeg": save_image(folder / "photo.jpg", rng.uniform(0, 255, (16, 16, 3))),
    }


@pytest.fixture(scope="session")
def save_png():
    """``save_png(path, pixels)``: :func:`save_image` for tests that make their own files."""
    return save_image


@pytest.fixture(scope="session")
def ink() -> np.ndarray:
    """A 24x20 "7"-like stroke mask (True = ink), the shape of a hand-drawn digit."""
    mask = np.zeros((24, 20), bool)
    mask[4:7, 4:16] = True
    for row in range(7, 21):
        column = 15 - (row - 7) // 2
        mask[row, column - 1 : column + 2] = True
    return mask


@pytest.fixture(scope="session")
def drawings(tmp_path_factory, ink):
    """The strokes of :func:`ink` saved the ways drawing apps and data sets save them."""
    folder = tmp_path_factory.mktemp("drawings")
    rgba = np.zeros((*ink.shape, 4), np.uint8)  # transparent pixels are (0, 0, 0, 0)
    rgba[ink] = (0, 0, 0, 255)  # black pen
    light_rgba = np.zeros_like(rgba)
    light_rgba[ink] = (255, 255, 255, 255)  # white pen
    white_on_black = np.where(ink, 255, 0).astype(np.uint8)
    return {
        "black_on_transparent": save_image(folder / "black_on_transparent.png", rgba),
        "white_on_transparent": save_image(folder / "white_on_transparent.png", light_rgba),
        "white_on_black": save_image(folder / "white_on_black.png", white_on_black),
        "black_on_white": save_image(folder / "black_on_white.png", 255 - white_on_black),
        "white_on_black_16bit": save_image(folder / "white_on_black_16bit.png", white_on_black.astype(np.uint16) * 257),
        "blank": save_image(folder / "blank.png", np.zeros(ink.shape)),
        "transparent": save_image(folder / "transparent.png", np.zeros((*ink.shape, 4))),
    }
