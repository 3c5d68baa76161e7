"""``mr``: the movie-review sentence polarity data set (Pang & Lee, 2005), the MR
benchmark of Kim (2014), "Convolutional Neural Networks for Sentence Classification".

``rt-polarity/rt-polarity.neg`` and ``.pos``: one lower-cased, tokenised sentence
per line, 5,331 each, **Latin-1** encoded. There is no standard split (Kim uses
10-fold cross-validation); texts come negative first, then positive, in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascnn.data.base import TextDataset, find_folder, not_found
from kerascnn.core.errors import UsageError

FILES = {"negative": "rt-polarity.neg", "positive": "rt-polarity.pos"}


def _has_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in FILES.values())


def load_mr(dirs: list[Path]) -> TextDataset:
    """Read MR from ``<dir>/rt-polarity/`` (or ``<dir>`` itself) for the first dir that has it."""
    folder = find_folder("rt-polarity", dirs, contains=_has_files)
    if folder is None:
        raise not_found(
            "mr", [str(d / "rt-polarity") for d in dirs], downloadable=False,
            how="rt-polarity/rt-polarity.{neg,pos}",
        )  # fmt: skip
    texts, labels = [], []
    for label, name in enumerate(FILES.values()):
        path = folder / name
        try:
            # split on "\n" only: str.splitlines() would also break at Latin-1's
            # NEL (0x85) and form feeds, which occur inside some sentences.
            lines = path.read_bytes().decode("latin-1").split("\n")
        except OSError as err:
            raise UsageError(f"Cannot read {path}: {err.strerror or err}") from None
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
        source=f"rt-polarity files in {folder} (Latin-1; Pang & Lee 2005)",
    )


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


def fold_split(dataset: TextDataset, train_index, test_index, *, description: str = "") -> TextSplit:
    """The :class:`TextSplit` of ``dataset`` with these training and test indices."""
    texts = np.asarray(dataset.texts, dtype=object)
    labels = np.asarray(dataset.labels)
    return TextSplit(
        name=dataset.name, x_train=texts[train_index], y_train=labels[train_index], x_test=texts[test_index],
        y_test=labels[test_index], class_names=list(dataset.class_names),
        source=f"{dataset.source}{'; ' + description if description else ''}",
    )
