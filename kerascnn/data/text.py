"""``mr``: the movie-review sentence polarity data set (Pang & Lee, 2005), the MR
benchmark of Kim (2014), "Convolutional Neural Networks for Sentence Classification".

``rt-polarity/rt-polarity.neg`` and ``.pos``: one lower-cased, tokenised sentence
per line, 5,331 each, **Latin-1** encoded. There is no standard split (Kim uses
10-fold cross-validation); texts come negative first, then positive, in file order.
"""

from __future__ import annotations

from pathlib import Path

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
        texts += sentences
        labels += [label] * len(sentences)
    return TextDataset(
        name="mr",
        texts=texts,
        labels=labels,
        class_names=list(FILES),
        source=f"rt-polarity files in {folder} (Latin-1; Pang & Lee 2005)",
    )
