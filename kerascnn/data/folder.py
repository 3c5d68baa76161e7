"""Any folder of class sub-folders of images (the ``image_dataset_from_directory`` layout)::

    flowers/                      or   flowers/train/<class>/...  +  flowers/test/<class>/...
      daisy/001.jpg ...
      tulip/042.png ...

Class names are the sub-folder names in sorted order (the label is the index).
Images are decoded with Pillow: greyscale if every image is, RGB otherwise;
images of differing sizes are resized (bilinear) to the most common size.
Without ``train/`` and ``test/`` sub-folders the split is fixed: stratified,
20 % test, ``random_state=0``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from kerascnn.data.base import ImageDataset, stratified_split
from kerascnn.core.errors import DataNotFoundError, UsageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
TEST_FRACTION = 0.2
SPLIT_SEED = 0
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def _class_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
    )  # fmt: skip


def _decode(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            mode = "L" if image.mode in _GREY_MODES else "RGB"
            return np.asarray(image.convert(mode), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise UsageError(f"Cannot decode image {path}: {err}") from None


def _scan(root: Path, class_names: list[str] | None = None) -> tuple[list[Path], list[int], list[str]]:
    folders = _class_folders(root)
    names = class_names or [f.name for f in folders]
    files, labels = [], []
    for folder in folders:
        if folder.name not in names:
            raise UsageError(f"Class folder {folder} is not among the training classes {names}.")
        found = _image_files(folder)
        files += found
        labels += [names.index(folder.name)] * len(found)
    return files, labels, names


def _to_array(pixels: list[np.ndarray]) -> tuple[np.ndarray, str]:
    """Stack decoded images: common channel count, most common size (others resized)."""
    from PIL import Image

    rgb = any(p.ndim == 3 for p in pixels)
    sizes = Counter(p.shape[:2] for p in pixels)
    (height, width), _ = sizes.most_common(1)[0]
    out = np.empty((len(pixels), height, width, 3 if rgb else 1), dtype=np.uint8)
    for i, p in enumerate(pixels):
        if p.shape[:2] != (height, width):
            p = np.asarray(Image.fromarray(p).resize((width, height), Image.BILINEAR))
        if p.ndim == 2:
            p = p[..., np.newaxis]
        out[i] = p if p.shape[-1] == out.shape[-1] else np.repeat(p, 3, axis=-1)
    note = f"resized to {height}x{width}" if len(sizes) > 1 else f"{height}x{width}"
    return out, note


def load(path: str) -> ImageDataset:
    """Load ``path`` (a folder of class sub-folders, or of ``train/`` and ``test/`` ones).

    Raises:
        DataNotFoundError: the folder does not exist.
        UsageError: fewer than two classes, no images, an undecodable image.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataNotFoundError(f"Image folder {root} does not exist (expected class sub-folders of images).")
    split_folders = (root / "train").is_dir() and (root / "test").is_dir()
    if split_folders:
        train_files, train_labels, class_names = _scan(root / "train")
        test_files, test_labels, _ = _scan(root / "test", class_names)
        files, labels = train_files + test_files, train_labels + test_labels
    else:
        files, labels, class_names = _scan(root)
    if len(class_names) < 2:
        raise UsageError(f"{root} needs at least two class sub-folders of images; found {class_names or 'none'}.")
    if not files:
        raise UsageError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the class folders of {root}.")
    images, size_note = _to_array([_decode(f) for f in files])
    labels = np.asarray(labels, dtype=np.int64)
    if split_folders:
        train = np.arange(len(train_files))
        test = np.arange(len(train_files), len(files))
        split_note = "train/ and test/ sub-folders"
    else:
        train, test = stratified_split(labels, TEST_FRACTION, SPLIT_SEED)
        split_note = f"stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} split random_state={SPLIT_SEED}"
    return ImageDataset(
        name=f"folder:{root}",
        x_train=images[train],
        y_train=labels[train],
        x_test=images[test],
        y_test=labels[test],
        class_names=class_names,
        source=f"{len(files)} images in {root} ({size_note}); {split_note}",
    )
