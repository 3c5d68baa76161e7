"""Data set access: offline readers, the TFDS catalog, and ``tf.data`` pipelines.

    >>> from kerascnn import data
    >>> ds = data.load("digits")                      # embedded, no data folder needed
    >>> ds.x_train.shape, ds.x_train.dtype
    ((1437, 8, 8, 1), dtype('uint8'))
    >>> ds = data.load("mnist", "../shared/data")     # IDX files in ../shared/data/mnist/
    >>> train = data.pipeline(ds.x_train, ds.y_train, batch_size=128, shuffle=True, seed=0,
    ...                       augment="rotate:10,translate:0.1")

Every image data set comes back as an :class:`ImageDataset` of raw pixels
(uint8 NHWC, 0–255); scaling and resizing live inside the model.

Where data is looked for, in order: the ``data_dir`` argument, ``$KERASCNN_DATA``,
then TFDS's data folder (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``). In a data
folder each set has its own sub-folder (``mnist/``, ``omniglot/``, ``rt-polarity/``),
or is a prepared TFDS data set. Nothing is downloaded unless ``download=True``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kerascnn.data import idx, tfds
from kerascnn.data.base import (
    DATA_ENV,
    ImageDataset,
    TextDataset,
    find_folder,
    not_found,
    search_dirs,
)
from kerascnn.core.errors import UsageError

FOLDER_PREFIX = "folder:"
NIFTI_PREFIX = "nifti:"  # a folder of NIfTI volumes + labels.csv (kerascnn.data.nifti)
TEXT_PREFIX = "text:"  # a folder of class sub-folders of .txt files, or a .csv file (kerascnn.data.text)
#: Text sets of the TFDS catalog (prepared offline, or --download): name -> (TFDS name, test split).
#: glue/sst2's own test split has no labels, so its validation split is the test set.
TFDS_TEXT = {"imdb_reviews": ("imdb_reviews/plain_text", "test"), "sst2": ("glue/sst2", "validation")}
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip


@dataclass(frozen=True)
class DatasetSpec:
    """How one image data set name is found.

    ``local(dirs)`` reads offline files from the search folders (``None`` when
    absent); ``tfds_name`` is the TFDS catalog entry to fall back on, read by
    ``tfds_reader`` (default :func:`kerascnn.data.tfds.load`) with ``tfds_options``.
    """

    name: str
    description: str
    local: Callable[[list[Path]], ImageDataset | None] | None = None
    local_files: str = ""  # where the local files go, for the not-found message
    tfds_name: str | None = None
    tfds_options: dict = field(default_factory=dict)
    tfds_reader: Callable[..., ImageDataset] = tfds.load
    volumes: bool = False  # clips or volumes (a VolumeDataset): 3D augmentation, 3D models


def _digits(dirs):
    from kerascnn.data import digits

    return digits.load()


def _idx(name: str, class_names: list[str]):
    def local(dirs):
        folder = find_folder(name, dirs, contains=idx.has_idx_files)
        return idx.load_idx_dataset(name, folder, class_names) if folder else None

    return local


def _omniglot(dirs):
    from kerascnn.data import omniglot

    folder = find_folder("omniglot", dirs, contains=omniglot.has_zips)
    return omniglot.load(folder) if folder else None


def _moving_mnist(dirs):
    from kerascnn.data import moving_mnist

    folder = find_folder("mnist", dirs, contains=idx.has_idx_files)
    return moving_mnist.load(folder) if folder else None


def _shapes3d(dirs):
    from kerascnn.data import shapes3d

    return shapes3d.load()


def _nifti(dirs):
    from kerascnn.data import nifti

    folder = find_folder("nifti", dirs, contains=nifti.has_labels)
    return nifti.load(folder) if folder else None


_SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec("digits", "scikit-learn's 1,797 8x8 digits (embedded default)", local=_digits),
        DatasetSpec(
            "mnist", "MNIST 28x28 digits (IDX files or TFDS)",
            local=_idx("mnist", MNIST_CLASSES),
            local_files="mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz (add train-* for the full set)",
            tfds_name="mnist",
        ),
        DatasetSpec(
            "fashion_mnist", "Fashion-MNIST 28x28 clothing (IDX files or TFDS)",
            local=_idx("fashion_mnist", FASHION_MNIST_CLASSES),
            local_files="fashion_mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz",
            tfds_name="fashion_mnist",
        ),
        DatasetSpec("cifar10", "CIFAR-10 32x32 colour (TFDS)", tfds_name="cifar10"),
        DatasetSpec("cifar100", "CIFAR-100 32x32 colour (TFDS)", tfds_name="cifar100"),
        DatasetSpec("svhn_cropped", "SVHN 32x32 house numbers (TFDS)", tfds_name="svhn_cropped"),
        DatasetSpec(
            "omniglot", "Omniglot 105x105 characters (background zips or TFDS)",
            local=_omniglot,
            local_files="omniglot/images_background_small{1,2}.zip",
            # TFDS keeps only the background/evaluation alphabet split: divide "train" 75/25 per character.
            tfds_name="omniglot", tfds_options={"test_split": None, "channels": 1},
        ),
        DatasetSpec(
            "lfw", "Labeled Faces in the Wild: faces of 5,749 people, cropped to 64x64; train / test = different "
                   "people (TFDS, metric learning)",
            # TFDS yields (person name, image): its own reader maps names to identities and splits people.
            tfds_name="lfw", tfds_reader=tfds.load_identities,
        ),
        DatasetSpec(
            "moving_mnist", "clips of a moving MNIST digit, label = one of 8 directions (from the MNIST files)",
            local=_moving_mnist, local_files="mnist/t10k-{images-idx3,labels-idx1}-ubyte.gz", volumes=True,
        ),
        DatasetSpec("shapes3d", "synthetic 32^3 occupancy grids of 5 solids (generated)", local=_shapes3d,
                    volumes=True),
        DatasetSpec(
            "nifti", "NIfTI volumes (.nii/.nii.gz) named in a labels.csv, read with nibabel (or nifti:PATH)",
            local=_nifti, local_files="nifti/labels.csv (file,label) and the .nii/.nii.gz volumes it names",
            volumes=True,
        ),
    )
}  # fmt: skip


def names() -> list[str]:
    """Registered image data set names (any folder of class sub-folders works too)."""
    return list(_SPECS)


def describe() -> dict[str, str]:
    """``{name: one-line description}`` for ``--help`` texts and listings."""
    return {name: spec.description for name, spec in _SPECS.items()}


def load(name: str, data_dir: str | os.PathLike | None = None, *, download: bool = False) -> ImageDataset:
    """Load an image data set as uint8 NHWC arrays with integer labels.

    Args:
        name: a name from :func:`names`, ``"folder:<path>"``, or the path of a
            folder of class sub-folders of images.
        data_dir: folder to look in first (then ``$KERASCNN_DATA``, then TFDS's).
        download: allow tensorflow-datasets to download a missing TFDS data set.

    Raises:
        UsageError: unknown name (with the valid ones), unreadable files.
        DataNotFoundError: not found offline (says where it looked, how to provide it).
    """
    kind = check_name(name)
    if kind == "folder":
        from kerascnn.data import folder

        return folder.load(name.removeprefix(FOLDER_PREFIX))
    if kind == "nifti":
        from kerascnn.data import nifti

        return nifti.load(name.removeprefix(NIFTI_PREFIX))
    spec = _SPECS[name.lower()]
    dirs = search_dirs(data_dir)
    if spec.local is not None:
        dataset = spec.local(dirs)
        if dataset is not None:
            return dataset
    looked = [os.fspath(d / spec.name) for d in dirs] if spec.local_files else []
    if spec.tfds_name:
        tfds_dirs = tfds.search_dirs(dirs)
        folder = tfds.find_prepared(spec.tfds_name, tfds_dirs)
        if folder is None and download:
            folder = tfds_dirs[0]
        if folder is not None:
            return spec.tfds_reader(name, spec.tfds_name, folder, download=download, **spec.tfds_options)
        looked += [f"TFDS {os.fspath(d / spec.tfds_name)}" for d in tfds_dirs]
    raise not_found(name, looked, downloadable=bool(spec.tfds_name), how=spec.local_files)


def check_name(name: str) -> str:
    """``"registered"``, ``"folder"`` or ``"nifti"`` for a usable image/volume data set name; else the one-line error.

    Cheap (no TensorFlow, no file reading): commands call it before loading anything.
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"Dataset name must be a non-empty string. Received: {name!r}")
    if name.startswith(NIFTI_PREFIX):
        return "nifti"
    if is_text(name):
        raise UsageError(f"{name!r} is a text data set: use load_text (kerascnn train takes it with a text model).")
    if name.startswith(FOLDER_PREFIX) or (name.lower() not in _SPECS and _looks_like_path(name)):
        return "folder"
    if name.lower() not in _SPECS:
        from kerascnn.core.errors import unknown_name_message

        hint = ""
        folders = (" Or use folder:PATH for a folder of class sub-folders, nifti:PATH for NIfTI volumes + "
                   "labels.csv.")
        raise UsageError(unknown_name_message("dataset", name, names()) + folders + hint)
    return "registered"


def _looks_like_path(name: str) -> bool:
    return os.sep in name or "/" in name or name.startswith(".") or Path(name).is_dir()


def text_names() -> list[str]:
    """Registered text data set names (``text:PATH`` works too: a folder of class sub-folders or a CSV)."""
    return ["mr", *TFDS_TEXT]


def is_text(name) -> bool:
    """Whether ``name`` is a text data set: registered, or ``text:PATH``. Cheap (no file is read)."""
    return isinstance(name, str) and (name in text_names() or name.startswith(TEXT_PREFIX))


def check_text_name(name: str) -> None:
    """One-line error for a ``text:`` name without a path (cheap; the files are read by :func:`load_text`)."""
    if isinstance(name, str) and name.startswith(TEXT_PREFIX) and not name.removeprefix(TEXT_PREFIX).strip():
        raise UsageError("text:PATH needs a path: a folder of class sub-folders of .txt files, or a .csv file.")


def load_text(name: str, data_dir: str | os.PathLike | None = None, *, encoding: str | None = None,
              text_column: str | None = None, label_column: str | None = None,
              download: bool = False) -> TextDataset:
    """Load a text classification data set.

    Args:
        name: ``"mr"`` (Pang & Lee 2005 movie reviews, Latin-1), ``"imdb_reviews"`` or
            ``"sst2"`` (TFDS: a prepared data folder, or ``download=True``), or ``"text:PATH"``:
            a folder of class sub-folders of ``.txt`` files (one example per file; ``train/`` +
            ``test/`` sub-folders are a fixed split) or a ``.csv`` file with a header
            (columns ``text`` and ``label`` unless ``text_column`` / ``label_column`` say).
        encoding: of ``text:`` files (default UTF-8) and of MR (default Latin-1).

    Raises:
        UsageError: unknown name, unreadable or undecodable files, empty texts, a class
            without examples. DataNotFoundError: files not found.
    """
    from kerascnn.data import text

    check_text_name(name)
    if not is_text(name):
        from kerascnn.core.errors import unknown_name_message

        raise UsageError(unknown_name_message("text dataset", name, text_names()) + " Or use text:PATH.")
    columns = {"text_column": text_column, "label_column": label_column}
    if name.startswith(TEXT_PREFIX):
        return text.load_path(name.removeprefix(TEXT_PREFIX), encoding=encoding, **columns)
    if any(columns.values()):
        raise UsageError(f"--text-column / --label-column choose the columns of a CSV (text:FILE.csv), not of {name!r}.")
    if name in TFDS_TEXT:
        return _tfds_text(name, data_dir, download=download)
    return text.load_mr(search_dirs(data_dir), encoding=encoding)


def _tfds_text(name: str, data_dir, *, download: bool) -> TextDataset:
    """A TFDS text set from a prepared data folder, or downloaded when ``download`` (online only)."""
    tfds_name, test_split = TFDS_TEXT[name]
    tfds_dirs = tfds.search_dirs(search_dirs(data_dir))
    folder = tfds.find_prepared(tfds_name, tfds_dirs)
    if folder is None and download:
        folder = tfds_dirs[0]
    if folder is None:
        raise not_found(name, [f"TFDS {os.fspath(d / tfds_name)}" for d in tfds_dirs], downloadable=True)
    return tfds.load_text(name, tfds_name, folder, download=download, test_split=test_split)


def pipeline(
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int | None,
    augment=None,
    cache: bool = True,
):
    """A ``tf.data`` input pipeline yielding ``(float32 raw pixels, int labels)`` batches.

    cache (the uint8 arrays) -> shuffle (whole set, ``seed``, reshuffled every
    epoch) -> batch -> cast to float32 -> augment (batched, in parallel, training
    mode) -> prefetch. Augmentation happens here, never inside the model.

    Args:
        x, y: images (uint8 NHWC) and labels.
        batch_size: images per batch (the last batch may be smaller).
        shuffle: shuffle the whole set, differently but reproducibly each epoch.
        seed: shuffle seed (and augmentation seed when ``augment`` is a spec string).
        augment: ``None``, a Keras layer/model called with ``training=True``, or a
            spec string for :func:`kerascnn.data.augment.build` (images) or, for 5-D
            ``x``, :func:`kerascnn.data.augment3d.build` (clips, volumes).
        cache: keep the decoded examples in memory after the first epoch.

    Reproducibility: the shuffle order follows ``seed``. The augmentation layers
    draw from their own seeded generators; their batches are reproducible when op
    determinism is on (:func:`kerascnn.training.seeding.set_global_seed`, i.e. ``train
    --seed``), which makes tf.data apply the random map in order.
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise UsageError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    if len(x) != len(y):
        raise UsageError(f"x and y differ in length: {len(x)} != {len(y)}")
    if isinstance(augment, str):
        augment = augmentation_for(x).build(augment, tuple(x.shape[1:]), seed=seed)

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size))

    def to_float(images, labels):
        images = tf.cast(images, tf.float32)
        return (images if augment is None else augment(images, training=True)), labels

    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def is_volume(name: str) -> bool | None:
    """``True`` for a clip/volume data set name, ``False`` for an image or text one, ``None`` when the
    name says nothing (an unregistered name given to a data set loaded in Python). No file is read."""
    if not isinstance(name, str):
        return None
    if name.lower() in _SPECS:
        return _SPECS[name.lower()].volumes
    if name.startswith(NIFTI_PREFIX):
        return True
    if name.startswith(FOLDER_PREFIX) or _looks_like_path(name) or is_text(name):
        return False
    return None


def augmentation_for(data):
    """The augmentation module for ``data``: :mod:`kerascnn.data.augment` (images) or
    :mod:`kerascnn.data.augment3d` (clips, volumes). ``data`` is a data set name, a loaded
    data set or an array of examples (rank 5 = volumes). Both modules offer ``parse``,
    ``build``, ``describe``, ``suggest`` and ``mirror_warning``."""
    from kerascnn.data import augment, augment3d

    if isinstance(data, str):
        volumes = bool(is_volume(data))
    elif hasattr(data, "rank"):
        volumes = data.rank == 5
    else:
        volumes = np.ndim(data) == 5
    return augment3d if volumes else augment


def check_augment(spec: str | None, dataset: str) -> None:
    """Parse ``spec`` for the kind of data ``dataset`` names (one-line ``UsageError``), before any data is read.

    A name that says nothing about its kind (a data set loaded in Python) may take either
    kind of spec; :func:`pipeline` then checks it against the data's rank.
    """
    from kerascnn.data import augment, augment3d

    volumes = is_volume(dataset)
    if volumes is not None:
        (augment3d if volumes else augment).parse(spec)
        return
    try:
        augment.parse(spec)
    except UsageError as image_error:
        try:
            augment3d.parse(spec)
        except UsageError:
            raise image_error from None


__all__ = [
    "DATA_ENV",
    "DatasetSpec",
    "ImageDataset",
    "TextDataset",
    "augmentation_for",
    "check_augment",
    "describe",
    "is_volume",
    "load",
    "load_text",
    "names",
    "pipeline",
    "text_names",
]
