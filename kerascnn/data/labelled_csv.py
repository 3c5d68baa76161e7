"""A CSV of labelled examples: a header row, a value column (a sentence, a file name), a label
column and an optional ``split`` column (``train`` / ``test``).

Read by ``text:FILE.csv`` (:mod:`kerascnn.data.text`) and by ``labels.csv`` of a NIfTI folder
(:mod:`kerascnn.data.nifti`). Class names are the labels, sorted (numerically when every label
is an integer); every class must have training examples. Bad rows are one-line errors naming
the file and line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError

SPLIT_COLUMN = "split"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class LabelledTable:
    """The rows of a labelled CSV."""

    values: list[str]
    labels: list[int]
    class_names: list[str]
    is_test: np.ndarray | None  #: ``None`` without a ``split`` column
    lines: list[int]  #: the CSV line of each row (for messages)
    description: str  #: ``"columns 'text', 'label'"``


def read_labelled(path: Path, content: str, value_column: str, label_column: str, *,
                  flags: tuple[str, str] | None = None) -> LabelledTable:
    """Parse ``content`` (the decoded text of ``path``); ``flags`` name the options that choose the columns."""
    rows = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [h.strip() for h in next(rows, [])]
    except csv.Error as err:
        raise UsageError(f"{path} line 1: not valid CSV ({err}).") from None
    if not any(header):
        raise UsageError(f"{path} is empty: it needs a header row ({value_column},{label_column}).")
    lowered = [h.lower() for h in header]
    where = {}
    for flag, column in zip(flags or (None, None), (value_column, label_column)):
        if column.lower() not in lowered:
            how = f"name it with {flag} NAME" if flag else f"the header must name {value_column},{label_column}"
            raise UsageError(f"{path} has no {column!r} column (its columns: {', '.join(header)}); {how}.")
        where[column] = lowered.index(column.lower())
    split_at = lowered.index(SPLIT_COLUMN) if SPLIT_COLUMN in lowered else None
    values, names, is_test, lines = [], [], [], []
    while True:
        try:
            row = next(rows, None)
        except csv.Error as err:
            raise UsageError(f"{path} line {rows.line_num}: not valid CSV ({err}).") from None
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue  # blank lines between records
        cells = [row[where[c]].strip() if where[c] < len(row) else "" for c in (value_column, label_column)]
        for column, cell in zip((value_column, label_column), cells):
            if not cell:
                raise UsageError(f"{path} line {rows.line_num}: the {header[where[column]]!r} cell is empty.")
        if split_at is not None:
            split = row[split_at].strip().lower() if split_at < len(row) else ""
            if split not in SPLITS:
                raise UsageError(f"{path} line {rows.line_num}: split must be train or test. Received: {split!r}")
            is_test.append(split == "test")
        values.append(cells[0])
        names.append(cells[1])
        lines.append(rows.line_num)
    if not values:
        raise UsageError(f"{path} has a header but no examples.")
    class_names = sorted(set(names), key=lambda n: (0, int(n), n) if _is_int(n) else (1, 0, n))
    if len(class_names) < 2:
        raise UsageError(f"{path} has only one label ({class_names[0]!r}): classification needs at least two.")
    labels = [class_names.index(n) for n in names]
    if split_at is not None:
        trained = set(np.asarray(labels)[~np.asarray(is_test, dtype=bool)].tolist())
        missing = [n for i, n in enumerate(class_names) if i not in trained]
        if missing:
            raise UsageError(f"{path}: class {missing[0]!r} has no training examples (all its rows are split=test).")
    description = f"columns {header[where[value_column]]!r}, {header[where[label_column]]!r}"
    return LabelledTable(values, labels, class_names,
                         np.asarray(is_test, dtype=bool) if split_at is not None else None, lines,
                         description + (", split" if split_at is not None else ""))


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
