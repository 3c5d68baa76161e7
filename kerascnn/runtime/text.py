"""Sentences -> token ids without TensorFlow, exactly as ``keras.layers.TextVectorization`` does.

A text model's export folder holds the vocabulary (``vocabulary.txt``, one token
per line, line ``i`` is id ``i``: ``""`` padding, ``[UNK]`` out of vocabulary)
and the rules (``text.json``: ``standardize``, ``split``, ``sequence_length``).
The rules kerascnn uses are TextVectorization's ``standardize="lower"`` and
``split="whitespace"``, which in TensorFlow mean:

- ``tf.strings.lower``: ASCII letters only (``"É"`` stays ``"É"``);
- ``tf.strings.split``: on runs of ASCII whitespace `` \\t\\n\\v\\f\\r`` only (not
  Unicode spaces such as NBSP or Latin-1's NEL, which MR contains);
- ids of the first ``sequence_length`` tokens, zero-padded at the end.

Python's ``bytes.lower()`` and ``bytes.split()`` on the UTF-8 bytes do exactly
that (``str.lower``/``str.split`` would not); a test checks identical ids on the
whole MR data set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError

VOCABULARY_FILE = "vocabulary.txt"
RULES_FILE = "text.json"
#: The TextVectorization settings the runtime reproduces.
STANDARDIZE = "lower"
SPLIT = "whitespace"


class Tokenizer:
    """TextVectorization's ``output_mode="int"`` with ``standardize="lower"``, ``split="whitespace"``."""

    def __init__(self, vocabulary: Sequence[str], sequence_length: int):
        vocabulary = list(vocabulary)
        if len(vocabulary) < 2 or vocabulary[0] != "" or vocabulary[1] != "[UNK]":
            raise UsageError("A text vocabulary starts with '' (padding) and '[UNK]' (out of vocabulary).")
        self.vocabulary = vocabulary
        self.sequence_length = int(sequence_length)
        self._ids = {token.encode("utf-8"): index for index, token in enumerate(vocabulary) if index >= 2}

    @staticmethod
    def tokens(text: str) -> list[bytes]:
        """The standardised tokens of one sentence (UTF-8 bytes, as TensorFlow sees them)."""
        return text.encode("utf-8").lower().split()

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """``(len(texts), sequence_length)`` int64 token ids (1 = out of vocabulary, 0 = padding)."""
        texts = list(texts)
        out = np.zeros((len(texts), self.sequence_length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self._ids.get(token, 1) for token in self.tokens(text)[: self.sequence_length]]
            out[row, : len(ids)] = ids
        return out

    def rules(self) -> dict:
        return {"standardize": STANDARDIZE, "split": SPLIT, "sequence_length": self.sequence_length,
                "output_mode": "int", "vocabulary": VOCABULARY_FILE}

    def save(self, folder: str | os.PathLike) -> list[Path]:
        """Write ``vocabulary.txt`` and ``text.json`` into ``folder`` (atomically); returns the paths."""
        from kerascnn.core.files import atomic_write_json, atomic_write_text

        folder = Path(folder)
        return [atomic_write_text(folder / VOCABULARY_FILE, "\n".join(self.vocabulary) + "\n"),
                atomic_write_json(folder / RULES_FILE, self.rules())]

    @classmethod
    def load(cls, folder: str | os.PathLike) -> Tokenizer:
        """Read the tokeniser an export folder (or the folder of a model file) holds."""
        folder = Path(folder)
        folder = folder if folder.is_dir() else folder.parent
        try:
            rules = json.loads((folder / RULES_FILE).read_text(encoding="utf-8"))
            lines = (folder / rules.get("vocabulary", VOCABULARY_FILE)).read_text(encoding="utf-8").split("\n")
        except (OSError, ValueError) as err:
            raise UsageError(f"{folder} holds no readable text tokeniser ({RULES_FILE}, {VOCABULARY_FILE}): "
                             f"{getattr(err, 'strerror', None) or err}") from None
        if (rules.get("standardize"), rules.get("split")) != (STANDARDIZE, SPLIT):
            raise UsageError(f"{folder / RULES_FILE}: unsupported rules {rules}; the runtime reproduces "
                             f"standardize={STANDARDIZE!r}, split={SPLIT!r}.")
        return cls(lines[:-1] if lines and lines[-1] == "" else lines, rules["sequence_length"])


def predict_texts(runtime, texts: Sequence[str], k: int = 5, labels=None, *, task=None) -> dict:
    """Classify sentences with an exported text model: ``{"model", "task", "predictions": [{"text", ...}]}``.

    The tokeniser comes from the export folder beside the artifact (``vocabulary.txt``, ``text.json``).
    """
    from kerascnn import tasks
    from kerascnn.runtime import manifest as manifests

    texts = [str(t) for t in texts]
    if not texts:
        raise UsageError("Nothing to predict: give input files, or --text SENTENCE for a text model.")
    if not all(t.strip() for t in texts):
        raise UsageError("--text needs non-empty sentences.")
    if task is None:
        task = tasks.get(manifests.task_name(manifests.read_manifest(runtime.path)))
    tokenizer = Tokenizer.load(runtime.path)
    if (tokenizer.sequence_length,) != tuple(runtime.input_shape):
        raise UsageError(f"{RULES_FILE} says sequence_length {tokenizer.sequence_length}; the model takes "
                         f"{tuple(runtime.input_shape)}.")
    records = task.present(runtime.run(tokenizer.encode(texts)), labels=labels, k=k)
    return {"model": os.fspath(runtime.path), "task": task.name,
            "predictions": [{"text": text, **record} for text, record in zip(texts, records)]}
