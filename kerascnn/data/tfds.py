"""Data sets from the ``tensorflow-datasets`` catalog: read a prepared TFDS data
folder, or download only when the user asks (``download=True`` / ``--download``).

An unprepared ``tfds.load`` retries the download for minutes when offline, so a
data set is first checked for on disk (``<dir>/<name>/<version>/``) and a
missing one fails at once with a one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerascnn.data.base import ImageDataset, TextDataset, offline, stratified_split
from kerascnn.core.errors import UsageError


def default_dir() -> Path:
    """TFDS's own default data folder (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``)."""
    return Path(os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets").expanduser()


def search_dirs(dirs: list[Path]) -> list[Path]:
    """The user's data folders (each may be a TFDS data dir), then TFDS's default."""
    out = list(dirs)
    if default_dir() not in out:
        out.append(default_dir())
    return out


def find_prepared(tfds_name: str, dirs: list[Path]) -> Path | None:
    """The first folder in ``dirs`` holding a prepared copy of ``tfds_name`` (no network)."""
    for folder in dirs:
        if not (folder / tfds_name).is_dir():  # cheap check before importing TFDS
            continue
        import tensorflow_datasets as tfds

        try:
            if tfds.builder(tfds_name, data_dir=os.fspath(folder)).is_prepared():
                return folder
        except Exception:  # a foreign or broken folder of the same name: keep looking
            continue
    return None


def load(
    name: str,
    tfds_name: str,
    folder: Path,
    *,
    download: bool = False,
    test_split: str | None = "test",
    channels: int | None = None,
) -> ImageDataset:
    """Read ``train``/``test_split`` of ``tfds_name`` from ``folder`` as NumPy arrays.

    With ``test_split=None`` the ``train`` split is divided with a fixed stratified
    split (25 % test, ``random_state=0``). ``channels=1`` keeps the first channel
    (TFDS stores Omniglot's binary images as RGB).
    """
    if download and offline():
        raise UsageError(f"Downloading {name!r} is disabled: $KERASCNN_OFFLINE is set.")
    import tensorflow_datasets as tfds

    splits = ["train"] + ([test_split] if test_split else [])
    try:
        arrays, info = tfds.load(
            tfds_name,
            split=splits,
            data_dir=os.fspath(folder),
            download=download,
            as_supervised=True,
            batch_size=-1,
            with_info=True,
        )
    except Exception as err:  # TFDS raises many types (DatasetNotFoundError, ConnectionError ...)
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"tensorflow-datasets could not load {tfds_name!r} in {folder}: {message}") from None
    (x_train, y_train), *rest = tfds.as_numpy(arrays)
    if test_split:
        (x_test, y_test), = rest
        source = f"TFDS {tfds_name} {info.version} in {folder}: splits train / {test_split}"
    else:
        train, test = stratified_split(y_train, 0.25, seed=0)
        x_train, y_train, x_test, y_test = x_train[train], y_train[train], x_train[test], y_train[test]
        source = f"TFDS {tfds_name} {info.version} in {folder}: train split, stratified 75/25 random_state=0"
    if channels is not None:
        x_train, x_test = x_train[..., :channels], x_test[..., :channels]
    label = info.features["label"]
    class_names = list(label.names) if getattr(label, "names", None) else [str(i) for i in range(label.num_classes)]
    return ImageDataset(
        name,
        np.asarray(x_train, dtype=np.uint8),
        y_train,
        np.asarray(x_test, dtype=np.uint8),
        y_test,
        class_names,
        source,
    )


def load_text(name: str, tfds_name: str, folder: Path, *, download: bool = False,
              test_split: str = "test") -> TextDataset:
    """Read a TFDS text classification set (``imdb_reviews``, ``glue/sst2``) from ``folder`` as sentences.

    The text is the data set's one ``Text`` feature (``text``, ``sentence``), the label its
    ``label``; ``train`` and ``test_split`` become a fixed split (``is_test``).
    """
    if download and offline():
        raise UsageError(f"Downloading {name!r} is disabled: $KERASCNN_OFFLINE is set.")
    import tensorflow_datasets as tfds

    try:
        splits, info = tfds.load(tfds_name, split=["train", test_split], data_dir=os.fspath(folder),
                                 download=download, batch_size=-1, with_info=True)
    except Exception as err:  # TFDS raises many types (DatasetNotFoundError, ConnectionError ...)
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"tensorflow-datasets could not load {tfds_name!r} in {folder}: {message}") from None
    text_keys = [key for key, feature in info.features.items() if isinstance(feature, tfds.features.Text)]
    if len(text_keys) != 1 or "label" not in info.features:
        raise UsageError(f"{tfds_name} is not a single-text classification set (text features: {text_keys}).")
    texts, labels, is_test = [], [], []
    for split, examples in zip(("train", test_split), tfds.as_numpy(splits)):
        chunk = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in examples[text_keys[0]]]
        texts += chunk
        labels += np.asarray(examples["label"]).tolist()
        is_test += [split == test_split] * len(chunk)
    label = info.features["label"]
    class_names = list(label.names) if getattr(label, "names", None) else [str(i) for i in range(label.num_classes)]
    return TextDataset(name, texts, labels, class_names,
                       source=f"TFDS {tfds_name} {info.version} in {folder}: splits train / {test_split}",
                       is_test=np.asarray(is_test))
