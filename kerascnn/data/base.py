"""Data set containers and where data sets are looked for.

Every image loader returns an :class:`ImageDataset` of raw pixels (uint8, NHWC,
0–255) and integer labels; scaling and resizing belong to the model, so a saved
model takes exactly the images a user has.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerascnn.core.errors import DataNotFoundError, UsageError

DATA_ENV = "KERASCNN_DATA"
OFFLINE_ENV = "KERASCNN_OFFLINE"


@dataclass(repr=False)
class ImageDataset:
    """A classification data set held in memory as NumPy arrays.

    Attributes:
        name: registry name (``"mnist"``) or ``"folder:<path>"``.
        x_train, x_test: uint8 arrays of shape ``(N, H, W, C)``, raw pixels 0–255.
        y_train, y_test: int64 class indices in ``[0, num_classes)``.
        class_names: one name per class index.
        source: where the pixels came from and which split was used (one line).
        extra: optional per-image metadata, e.g. Omniglot's
            ``extra["train"]["alphabet"]`` (arrays aligned with ``x_train``).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str
    extra: dict = field(default_factory=dict)

    #: Rank of ``x_train`` (examples first) and its name in messages.
    rank = 4
    layout = "NHWC"

    def __post_init__(self):
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or x.ndim != self.rank:
                raise ValueError(
                    f"x_{split} must be uint8 {self.layout}. Received: dtype={x.dtype}, shape={x.shape}"
                )
            if len(x) != len(y):
                raise ValueError(f"x_{split} and y_{split} differ in length: {len(x)} != {len(y)}")
            setattr(self, f"y_{split}", np.asarray(y, dtype=np.int64))
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"Train and test images differ in shape: {self.x_train.shape[1:]} != {self.x_test.shape[1:]}"
            )
        self.class_names = [str(c) for c in self.class_names]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(height, width, channels)`` of one image."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
            f"input_shape={self.input_shape}, num_classes={self.num_classes}, source={self.source!r})"
        )


@dataclass(repr=False)
class VolumeDataset(ImageDataset):
    """Clips or volumes: ``x_train``/``x_test`` uint8 ``(N, D, H, W, C)`` (frames or slices first), 0–255."""

    rank = 5
    layout = "NDHWC"

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """``(depth, height, width, channels)`` of one volume (``depth`` = frames of a clip)."""
        return tuple(int(d) for d in self.x_train.shape[1:])

    def __repr__(self) -> str:
        return super().__repr__().replace("ImageDataset(", "VolumeDataset(", 1)


@dataclass(repr=False)
class TextDataset:
    """Labelled sentences, with or without a fixed train/test split.

    MR has none (Kim 2014 uses 10-fold cross-validation); TFDS sets and folders with
    ``train/`` + ``test/`` do: ``is_test`` marks their test examples (``None``: no fixed split).
    """

    name: str
    texts: list[str]
    labels: np.ndarray
    class_names: list[str]
    source: str
    is_test: np.ndarray | None = None

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels.")
        if self.is_test is not None:
            self.is_test = np.asarray(self.is_test, dtype=bool)
            if self.is_test.shape != self.labels.shape:
                raise ValueError(f"is_test has {self.is_test.shape} entries for {len(self.labels)} texts.")

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"TextDataset(name={self.name!r}, sentences={len(self.texts)}, "
            f"class_names={self.class_names}, source={self.source!r})"
        )


def search_dirs(data_dir: str | os.PathLike | None) -> list[Path]:
    """Folders to look in, in order: the ``data_dir`` argument, then ``$KERASCNN_DATA``."""
    dirs = []
    for candidate in (data_dir, os.environ.get(DATA_ENV)):
        if candidate:
            path = Path(candidate).expanduser()
            if path not in dirs:
                dirs.append(path)
    return dirs


def find_folder(name: str, dirs: list[Path], *, contains) -> Path | None:
    """The first of ``dir/name`` or ``dir`` itself for which ``contains(folder)`` is true."""
    for base in dirs:
        for folder in (base / name, base):
            if folder.is_dir() and contains(folder):
                return folder
    return None


def offline() -> bool:
    """True when ``$KERASCNN_OFFLINE`` forbids downloads (set by the test suite)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def not_found(name: str, looked: list[str], *, downloadable: bool, how: str = "") -> DataNotFoundError:
    """One-line error: where we looked and how to provide the data.

    ``how`` names the local files (``"mnist/t10k-images-idx3-ubyte.gz ..."``).
    """
    where = "; ".join(looked) if looked else "no data folder given"
    if how:
        provide = f"Put {how} in a folder given by --data-dir DIR or ${DATA_ENV}"
    else:
        provide = f"Point --data-dir DIR or ${DATA_ENV} at a TFDS data folder where it is prepared"
    fetch = ", or pass --download (download=True) to fetch it with tensorflow-datasets" if downloadable else ""
    return DataNotFoundError(f"Dataset {name!r} not found offline; looked in: {where}. {provide}{fetch}.")


def stratified_split(labels: np.ndarray, test_size: float | int, seed: int = 0):
    """Indices ``(train, test)`` of a fixed, seeded split that keeps class proportions.

    Falls back to a plain seeded split when some class has a single example.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    index = np.arange(len(labels))
    counts = np.bincount(labels) if len(labels) else np.array([])
    stratify = labels if counts[counts > 0].min(initial=2) >= 2 else None
    try:
        train, test = train_test_split(index, test_size=test_size, random_state=seed, stratify=stratify)
    except ValueError as err:  # e.g. fewer images than classes in the test split
        raise UsageError(f"Cannot split {len(labels)} images into train and test: {err}") from None
    return np.sort(train), np.sort(test)
