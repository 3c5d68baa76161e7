"""Data sets from the ``tensorflow-datasets`` catalog: read a prepared TFDS data
folder, or download only when the user asks (``download=True`` / ``--download``).

An unprepared ``tfds.load`` retries the download for minutes when offline, so a
data set is first checked for on disk (``<dir>/<name>/<version>/``) and a
missing one fails at once with a one-line message.

- :func:`load`: image classification sets (``(image, label)`` supervised pairs);
- :func:`load_identities`: face sets labelled by a person's name (``lfw``), read as
  identities for metric learning: face crop, people split between train and test;
- :func:`load_text`: text classification sets.
"""

from __future__ import annotations

import os
import sys
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


def _tfds_load(name: str, tfds_name: str, folder: Path, *, download: bool, **options):
    """``tfds.load(tfds_name, data_dir=folder, with_info=True, **options)``; any failure is one line.

    A download is refused when ``$KERASCNN_OFFLINE`` is set.
    """
    if download and offline():
        raise UsageError(f"Downloading {name!r} is disabled: $KERASCNN_OFFLINE is set.")
    import tensorflow_datasets as tfds

    try:
        return tfds.load(tfds_name, data_dir=os.fspath(folder), download=download, with_info=True, **options)
    except Exception as err:  # TFDS raises many types (DatasetNotFoundError, ConnectionError ...)
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UsageError(f"tensorflow-datasets could not load {tfds_name!r} in {folder}: {message}") from None


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
    import tensorflow_datasets as tfds

    splits = ["train"] + ([test_split] if test_split else [])
    arrays, info = _tfds_load(name, tfds_name, folder, download=download, split=splits, as_supervised=True,
                              batch_size=-1)
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


#: The face in an LFW image (Huang et al. 2007; 250 x 250, the face centred by the Viola-Jones detector):
#: rows 70-195 of scikit-learn's ``fetch_lfw_people`` crop, made square around the centre column, as
#: fractions of the side (top, bottom, left, right) so any image size works.
FACE_BOX = (70 / 250, 195 / 250, 62.5 / 250, 187.5 / 250)
#: Side of the face crop after resizing: FaceNet-style pipelines feed aligned face crops (96 or 160 px, Schroff
#: et al. 2015); 64 px keeps a CPU run short and the tower sees the face, not the background.
FACE_SIZE = 64
#: People with at least this many images train; everyone else with 2+ images is the test set (unseen people).
MIN_TRAIN_IMAGES = 10


def load_identities(name: str, tfds_name: str, folder: Path, *, download: bool = False, image_size: int = FACE_SIZE,
                    min_train_images: int = MIN_TRAIN_IMAGES) -> ImageDataset:
    """Read a TFDS face set labelled by person name (``lfw``: ``{"image", "label": name}``) as identities.

    - each image cropped to :data:`FACE_BOX` and resized (area) to ``image_size`` square, RGB uint8;
    - the names become integer identities; ``class_names`` keeps them (sorted), for reports and plots;
    - people with a single image are dropped (no positive pair or triplet can be made of them);
    - split by person, as in LFW's verification protocol: people with at least ``min_train_images``
      images are the training split (after the trainer's 10 % validation hold-out each still has
      enough for P x K batches), the other people the test split, never seen in training.

    How many people and images were dropped and kept is in ``source`` and printed as one note (stderr).
    """
    import tensorflow as tf
    import tensorflow_datasets as tfds

    records, info = _tfds_load(name, tfds_name, folder, download=download, split="train")
    top, bottom, left, right = FACE_BOX

    def face(example):
        image = example["image"]
        height, width = tf.cast(tf.shape(image)[0], tf.float32), tf.cast(tf.shape(image)[1], tf.float32)
        row, col = tf.cast(top * height, tf.int32), tf.cast(left * width, tf.int32)
        crop = image[row:tf.cast(bottom * height, tf.int32), col:tf.cast(right * width, tf.int32)]
        resized = tf.image.resize(crop, (image_size, image_size), method="area")
        return tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8), example["label"]

    images, names = [], []
    for batch_images, batch_names in tfds.as_numpy(records.map(face, num_parallel_calls=tf.data.AUTOTUNE).batch(256)):
        images.append(batch_images)
        names += [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in batch_names]
    if not names:
        raise UsageError(f"{tfds_name} in {folder} has no images.")
    people, identity, counts = np.unique(np.asarray(names), return_inverse=True, return_counts=True)
    kept = counts >= 2
    in_train = counts >= min_train_images
    if not in_train.any() or not (kept & ~in_train).any():
        raise UsageError(f"{tfds_name}: no person has {min_train_images}+ images, or none has 2 to "
                         f"{min_train_images - 1}; cannot split people into train and test.")
    x, y = np.concatenate(images), np.cumsum(kept)[identity] - 1  # identities renumbered over the kept people
    train, test = in_train[identity], (kept & ~in_train)[identity]
    summary = (f"{len(names):,} images of {len(people):,} people; {int((~kept).sum()):,} people with one image "
               f"dropped (no pair); train: the {int(in_train.sum()):,} people with >= {min_train_images} images "
               f"({int(train.sum()):,}), test: the other {int((kept & ~in_train).sum()):,} ({int(test.sum()):,}), "
               f"never seen in training")
    print(f"note: {name}: {summary}", file=sys.stderr)
    return ImageDataset(
        name, x[train], y[train], x[test], y[test], people[kept].tolist(),
        f"TFDS {tfds_name} {info.version} in {folder}: {summary}; faces cropped (rows {top:.0%}-{bottom:.0%}, "
        f"columns {left:.0%}-{right:.0%}) and resized to {image_size}x{image_size}",
    )


def load_text(name: str, tfds_name: str, folder: Path, *, download: bool = False,
              test_split: str = "test") -> TextDataset:
    """Read a TFDS text classification set (``imdb_reviews``, ``glue/sst2``) from ``folder`` as sentences.

    The text is the data set's one ``Text`` feature (``text``, ``sentence``), the label its
    ``label``; ``train`` and ``test_split`` become a fixed split (``is_test``).
    """
    import tensorflow_datasets as tfds

    splits, info = _tfds_load(name, tfds_name, folder, download=download, split=["train", test_split], batch_size=-1)
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
