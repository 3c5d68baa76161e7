"""Labelled text: ``mr`` (Pang & Lee 2005, the MR benchmark of Kim 2014, "Convolutional
Neural Networks for Sentence Classification") and ``text:PATH`` (your own folder or CSV).

``mr``: ``rt-polarity/rt-polarity.neg`` and ``.pos``, one lower-cased, tokenised sentence
per line, 5,331 each, **Latin-1** encoded. There is no standard split (Kim uses
10-fold cross-validation); texts come negative first, then positive, in file order.

``text:PATH`` (UTF-8 unless ``encoding`` says otherwise), the layout of keras'
``text_dataset_from_directory``, or a CSV::

    reviews/                         reviews/train/<class>/*.txt + reviews/test/<class>/*.txt
      negative/0001.txt ...          (a fixed split; otherwise the CV folds split)
      positive/0002.txt ...

    reviews.csv: a header row, then one example per row; the columns ``text`` and ``label``
    (``--text-column`` / ``--label-column`` pick others); an optional ``split`` column
    (``train`` / ``test``) fixes the split.

One ``.txt`` file is one example (all its lines). Class names are the sub-folder names or
the CSV's labels, sorted (numerically when every label is an integer).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascnn.data.base import TextDataset, find_folder, not_found
from kerascnn.core.errors import DataNotFoundError, UsageError

FILES = {"negative": "rt-polarity.neg", "positive": "rt-polarity.pos"}
MR_ENCODING = "latin-1"
DEFAULT_ENCODING = "utf-8"
TEXT_COLUMN, LABEL_COLUMN = "text", "label"


def _has_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES.values())


def load_mr(dirs: list[Path], *, encoding: str | None = None) -> TextDataset:
    """Read MR from ``<dir>/rt-polarity/`` (or ``<dir>`` itself) for the first dir that has it."""
    encoding = check_encoding(encoding or MR_ENCODING)
    folder = find_folder("rt-polarity", dirs, contains=_has_files)
    if folder is None:
        raise not_found(
            "mr", [str(d / "rt-polarity") for d in dirs], downloadable=False,
            how="rt-polarity/rt-polarity.{neg,pos}",
        )  # fmt: skip
    texts, labels = [], []
    for label, name in enumerate(FILES.values()):
        path = folder / name
        # split on "\n" only: str.splitlines() would also break at Latin-1's
        # NEL (0x85) and form feeds, which occur inside some sentences.
        lines = read_text(path, encoding).split("\n")
        sentences = [line.strip() for line in lines if line.strip()]
        if not sentences:
            raise UsageError(f"{path} has no sentences: class {list(FILES)[label]!r} would have no examples.")
        texts += sentences
        labels += [label] * len(sentences)
    return TextDataset(
        name="mr",
        texts=texts,
        labels=labels,
        class_names=list(FILES),
        source=f"rt-polarity files in {folder} ({encoding}; Pang & Lee 2005)",
    )


def check_encoding(encoding: str) -> str:
    """``encoding`` when Python knows it, else the one-line error."""
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise UsageError(f"Unknown --encoding {encoding!r}: use a Python codec name such as utf-8, "
                         f"latin-1 or cp1252.") from None
    return encoding


def read_text(path: Path, encoding: str) -> str:
    """The decoded content of ``path``; a wrong encoding is a one-line error naming it and the byte's line."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"Cannot read {path}: {err.strerror or err}") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise UsageError(
            f"Cannot decode {path} as {encoding}: byte 0x{raw[err.start]:02x} on line {line} is not valid "
            f"{encoding}; pass --encoding with the file's encoding (e.g. --encoding latin-1 or cp1252)."
        ) from None


def load_path(path: str, *, encoding: str | None = None, text_column: str | None = None,
              label_column: str | None = None) -> TextDataset:
    """``text:PATH``: a folder of class sub-folders of ``.txt`` files, or a ``.csv`` file (see the module doc)."""
    encoding = check_encoding(encoding or DEFAULT_ENCODING)
    root = Path(path).expanduser()
    if not root.exists():
        raise DataNotFoundError(f"Text data {root} does not exist (a folder of class sub-folders of .txt files, "
                                "or a .csv file).")
    if root.is_dir():
        if text_column or label_column:
            raise UsageError("--text-column / --label-column choose the columns of a CSV file; "
                             f"{root} is a folder of class sub-folders.")
        return _load_folder(root, encoding)
    if root.suffix.lower() != ".csv":
        raise UsageError(f"text:PATH takes a folder of class sub-folders or a .csv file. Received: {root}")
    return _load_csv(root, encoding, text_column or TEXT_COLUMN, label_column or LABEL_COLUMN)


def _load_folder(root: Path, encoding: str) -> TextDataset:
    split_folders = (root / "train").is_dir() and (root / "test").is_dir()
    parts = [(root / "train", False), (root / "test", True)] if split_folders else [(root, False)]
    class_names = _class_folders(parts[0][0])
    if len(class_names) < 2:
        raise UsageError(f"{parts[0][0]} needs at least two class sub-folders of .txt files; "
                         f"found {class_names or 'none'}.")
    texts, labels, is_test = [], [], []
    for folder, test in parts:
        for name in _class_folders(folder):
            if name not in class_names:
                raise UsageError(f"Class folder {folder / name} is not among the training classes {class_names}.")
            files = sorted(p for p in (folder / name).rglob("*.txt") if p.is_file() and not p.name.startswith("."))
            if not files and not test:
                raise UsageError(f"Class folder {folder / name} has no .txt files: class {name!r} would have no "
                                 "examples.")
            for file in files:
                text = read_text(file, encoding).strip()
                if not text:
                    raise UsageError(f"{file} is empty: each .txt file holds one example.")
                texts.append(text)
                labels.append(class_names.index(name))
                is_test.append(test)
    split = "train/ and test/ sub-folders" if split_folders else "no fixed split"
    return TextDataset(name=f"text:{root}", texts=texts, labels=labels, class_names=class_names,
                       source=f"{len(texts)} .txt files in {root} ({encoding}); {split}",
                       is_test=np.asarray(is_test) if split_folders else None)


def _class_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _load_csv(path: Path, encoding: str, text_column: str, label_column: str) -> TextDataset:
    from kerascnn.data.labelled_csv import read_labelled

    table = read_labelled(path, read_text(path, encoding), text_column, label_column,
                          flags=("--text-column", "--label-column"))
    return TextDataset(name=f"text:{path}", texts=table.values, labels=table.labels, class_names=table.class_names,
                       source=f"{len(table.values)} rows of {path} ({encoding}; {table.description})",
                       is_test=table.is_test)


@dataclass(repr=False)
class TextSplit:
    """A train/test split of labelled sentences, shaped like an image data set for the trainer.

    ``x_train``/``x_test`` are 1-D object arrays of Python strings (raw sentences:
    the model's ``TextVectorization`` tokenises them), ``input_shape`` is ``()``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    source: str
    input_shape: tuple = ()

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        return (f"TextSplit(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
                f"class_names={self.class_names}, source={self.source!r})")


def stratified_folds(labels, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(train_index, test_index), ...]``: ``folds`` stratified, seeded, disjoint test folds covering every example.

    Raises:
        UsageError: fewer than 2 folds, or more folds than the smallest class has examples.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise UsageError(f"Cross-validation needs at least 2 folds. Received: cv={folds!r}")
    counts = np.bincount(labels) if len(labels) else np.zeros(0, int)
    if len(counts) == 0 or counts.min() < folds:
        smallest = int(counts.min()) if len(counts) else 0
        raise UsageError(
            f"--cv {folds} needs at least {folds} examples of every class; the smallest class "
            f"({int(np.argmin(counts)) if len(counts) else '-'}) has {smallest}."
        )
    splitter = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=int(seed))
    return [(np.sort(train), np.sort(test)) for train, test in splitter.split(np.zeros(len(labels)), labels)]


def fixed_split(dataset: TextDataset) -> TextSplit:
    """The :class:`TextSplit` of a data set with a fixed split (``dataset.is_test``)."""
    test = np.asarray(dataset.is_test, dtype=bool)
    return fold_split(dataset, np.flatnonzero(~test), np.flatnonzero(test), description="its fixed train/test split")


def fold_split(dataset: TextDataset, train_index, test_index, *, description: str = "") -> TextSplit:
    """The :class:`TextSplit` of ``dataset`` with these training and test indices."""
    texts = np.asarray(dataset.texts, dtype=object)
    labels = np.asarray(dataset.labels)
    return TextSplit(
        name=dataset.name, x_train=texts[train_index], y_train=labels[train_index], x_test=texts[test_index],
        y_test=labels[test_index], class_names=list(dataset.class_names),
        source=f"{dataset.source}{'; ' + description if description else ''}",
    )
