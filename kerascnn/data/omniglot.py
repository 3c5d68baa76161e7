"""``omniglot``: the background "small" sets of Omniglot (Lake et al., 2015,
"Human-level concept learning through probabilistic program induction").

Read in place from ``omniglot/images_background_small1.zip`` and
``images_background_small2.zip`` (no extraction). Greek and Latin are in both
zips with the same characters and drawings, so they are kept once: 2,720 +
3,120 files give 4,840 distinct images of 242 characters from 8 alphabets.

Classification split (fixed, documented): one class per character; the first
15 of its 20 drawers (``<id>_01`` .. ``<id>_15``) train, the last 5 test —
3,630 / 1,210 images. Images are 105×105×1 as stored (0 = ink, 255 = paper).

``extra`` carries the metadata the metric-learning and one-shot code needs:
``extra["train"|"test"]["alphabet"|"character"|"drawer"]`` arrays aligned with
the images, and ``extra["alphabets"]``.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np

from kerascnn.data.base import ImageDataset
from kerascnn.core.errors import UsageError

ZIP_NAMES = ("images_background_small1.zip", "images_background_small2.zip")
TRAIN_DRAWERS = 15  # drawers 1-15 train, 16-20 test
_MEMBER = re.compile(r"^[^/]+/(?P<alphabet>[^/]+)/(?P<character>[^/]+)/(?P<stem>\d+)_(?P<drawer>\d+)\.png$")


def has_zips(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ZIP_NAMES)


def read_zips(folder: Path) -> list[tuple[str, str, int, np.ndarray]]:
    """``(alphabet, character, drawer, image)`` for each distinct drawing in the zips of ``folder``."""
    from PIL import Image

    seen: dict[tuple[str, str, str], tuple] = {}
    for zip_name in ZIP_NAMES:
        path = folder / zip_name
        if not path.is_file():
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    match = _MEMBER.match(member)
                    if not match:
                        continue
                    key = (match["alphabet"], match["character"], f"{match['stem']}_{match['drawer']}")
                    if key in seen:  # Greek and Latin are in both zips
                        continue
                    with Image.open(io.BytesIO(archive.read(member))) as image:
                        pixels = np.asarray(image.convert("L"), dtype=np.uint8)
                    seen[key] = (match["alphabet"], match["character"], int(match["drawer"]), pixels)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise UsageError(f"Cannot read Omniglot zip {path}: {err}") from None
    if not seen:
        raise UsageError(f"No Omniglot images found in {', '.join(str(folder / n) for n in ZIP_NAMES)}.")
    return [seen[key] for key in sorted(seen)]


def load(folder: Path) -> ImageDataset:
    """Omniglot background-small as a 242-way character classification (drawer split)."""
    records = read_zips(folder)
    shapes = {r[3].shape for r in records}
    if len(shapes) != 1:
        raise UsageError(f"Omniglot images in {folder} differ in size: {sorted(shapes)}")
    characters = sorted({(r[0], r[1]) for r in records})
    class_index = {c: i for i, c in enumerate(characters)}
    images = np.stack([r[3] for r in records])[..., np.newaxis]
    labels = np.array([class_index[(r[0], r[1])] for r in records], dtype=np.int64)
    alphabet = np.array([r[0] for r in records])
    character = np.array([r[1] for r in records])
    drawer = np.array([r[2] for r in records], dtype=np.int64)
    is_train = drawer <= TRAIN_DRAWERS
    extra = {
        "alphabets": sorted(set(alphabet.tolist())),
        **{
            split: {"alphabet": alphabet[mask], "character": character[mask], "drawer": drawer[mask]}
            for split, mask in (("train", is_train), ("test", ~is_train))
        },
    }
    return ImageDataset(
        name="omniglot",
        x_train=images[is_train],
        y_train=labels[is_train],
        x_test=images[~is_train],
        y_test=labels[~is_train],
        class_names=[f"{a}/{c}" for a, c in characters],
        source=(
            f"Omniglot background-small zips in {folder} ({len(records)} distinct images, Greek/Latin "
            f"de-duplicated); drawers 1-{TRAIN_DRAWERS} train / {TRAIN_DRAWERS + 1}-20 test"
        ),
        extra=extra,
    )
