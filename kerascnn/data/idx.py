"""The IDX file format of MNIST and Fashion-MNIST (LeCun et al.), read with NumPy.

An IDX file is a big-endian header -- two zero bytes, a type code, the number
of dimensions, one uint32 per dimension -- followed by the array. Files may be
gzip-compressed. Truncated or corrupt files raise a one-line ``UsageError``.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from kerascnn.data.base import ImageDataset
from kerascnn.core.errors import UsageError

# type code -> big-endian NumPy dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dimensions
LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dimension

# With only the 10,000 t10k images (the offline copy), the project's fixed split:
# images 0-7,999 (file order) train, 8,000-9,999 test.
T10K_TRAIN_SIZE = 8000


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain) into a native-endian NumPy array.

    Raises:
        UsageError: unreadable, not IDX (bad magic number), or a size that does
            not match the header (truncated or corrupt).
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as err:
        raise UsageError(f"Cannot read IDX file {path}: {err}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise UsageError(f"{path} is not an IDX file (bad magic number {data[:4].hex() or 'empty'}).")
    dtype = np.dtype(_IDX_TYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UsageError(f"{path} is truncated: its header is incomplete.")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise UsageError(
            f"{path} is truncated or corrupt: header says shape {dims} ({expected} bytes), "
            f"file has {len(data)} bytes."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def find_file(folder: Path, prefix: str, kind: str) -> Path | None:
    """``folder/{prefix}-{kind}-idxN-ubyte[.gz]`` (also the ``{kind}.idxN`` spelling)."""
    stem = {"images": "images-idx3-ubyte", "labels": "labels-idx1-ubyte"}[kind]
    for name in (f"{prefix}-{stem}", f"{prefix}-{stem.replace('-idx', '.idx')}"):
        for suffix in (".gz", ""):
            path = folder / f"{name}{suffix}"
            if path.is_file():
                return path
    return None


def has_idx_files(folder: Path) -> bool:
    return find_file(folder, "t10k", "images") is not None or find_file(folder, "train", "images") is not None


def _read_pair(folder: Path, prefix: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    images_path = find_file(folder, prefix, "images")
    labels_path = find_file(folder, prefix, "labels")
    if images_path is None or labels_path is None:
        missing = f"{prefix}-{'images' if images_path is None else 'labels'}-*-ubyte[.gz]"
        raise UsageError(f"Incomplete IDX data in {folder}: {missing} is missing.")
    images, labels = read_idx(images_path), read_idx(labels_path)
    # The magic number is (type, ndim): 2051 = uint8 x 3 dims, 2049 = uint8 x 1 dim.
    if images.dtype != np.uint8 or images.ndim != 3:
        raise UsageError(f"{images_path} does not hold uint8 images (IDX magic {IMAGES_MAGIC} expected).")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise UsageError(f"{labels_path} does not hold uint8 labels (IDX magic {LABELS_MAGIC} expected).")
    if len(images) != len(labels):
        raise UsageError(
            f"{images_path.name} has {len(images)} images but {labels_path.name} has {len(labels)} labels."
        )
    if labels.size and labels.max() >= num_classes:
        raise UsageError(f"{labels_path} has label {labels.max()}, expected 0-{num_classes - 1}.")
    return images[..., np.newaxis], labels.astype(np.int64)


def load_idx_dataset(name: str, folder: Path, class_names: list[str]) -> ImageDataset:
    """An MNIST-style folder: the full train + t10k sets, or the fixed split of t10k alone."""
    num_classes = len(class_names)
    has_train = find_file(folder, "train", "images") or find_file(folder, "train", "labels")
    if has_train:
        x_train, y_train = _read_pair(folder, "train", num_classes)
        x_test, y_test = _read_pair(folder, "t10k", num_classes)
        source = f"IDX files in {folder}: full {len(x_train)} train / {len(x_test)} test"
    else:
        images, labels = _read_pair(folder, "t10k", num_classes)
        if len(images) <= T10K_TRAIN_SIZE:
            raise UsageError(
                f"{folder} has only {len(images)} t10k images; the fixed split needs more than {T10K_TRAIN_SIZE}."
            )
        x_train, y_train = images[:T10K_TRAIN_SIZE], labels[:T10K_TRAIN_SIZE]
        x_test, y_test = images[T10K_TRAIN_SIZE:], labels[T10K_TRAIN_SIZE:]
        source = (
            f"IDX t10k files in {folder}: fixed split, images 0-{T10K_TRAIN_SIZE - 1} train / "
            f"{T10K_TRAIN_SIZE}-{len(images) - 1} test (file order)"
        )
    return ImageDataset(name, x_train, y_train, x_test, y_test, class_names, source)
