"""Pretrained word vectors from local files: word2vec (binary or text) and GloVe (text).

Kim (2014) initialises the embedding of CNN-static / non-static / multichannel
with the 300-d word2vec vectors trained on Google News (Mikolov et al. 2013);
words without a vector are drawn from ``U[-a, a]`` with ``a = 0.25``, chosen so
they have about the variance of the pretrained ones. Nothing is downloaded: point
``--vectors PATH`` at a file you have.

Formats (recognised from the content, not the name):

- word2vec binary: a header line ``"<count> <dim>\\n"``, then per word its
  UTF-8 bytes, a space and ``dim`` little-endian float32 values;
- word2vec text: the same header, then ``word v1 ... vdim`` lines;
- GloVe: ``word v1 ... vdim`` lines, no header.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError

#: Kim's range for words without a pretrained vector: U[-0.25, 0.25].
UNKNOWN_RANGE = 0.25


def read_vectors(path: str | os.PathLike, words=None) -> dict[str, np.ndarray]:
    """``{word: float32 vector}`` from a word2vec (binary/text) or GloVe file.

    Args:
        path: the vectors file.
        words: keep only these words (``None``: all); big files stay cheap in memory.

    Raises:
        UsageError: missing/unreadable file, unknown format, vectors of unequal
            dimension (with the line), or an empty file.
    """
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"Cannot read word vectors {path}: {err.strerror or err}") from None
    if not raw.strip():
        raise UsageError(f"Word vectors file {path} is empty.")
    keep = None if words is None else set(words)
    first, _, rest = raw.partition(b"\n")
    header = first.split()
    if len(header) == 2 and all(part.isdigit() for part in header):
        count, dim = int(header[0]), int(header[1])
        if _is_binary(rest, dim):
            return _read_binary(path, rest, count, dim, keep)
        return _read_text(path, rest, keep, expected_dim=dim, first_line=2)
    return _read_text(path, raw, keep, expected_dim=None, first_line=1)


def _is_binary(body: bytes, dim: int) -> bool:
    """word2vec binary when the first record does not decode as a text line of ``dim + 1`` fields."""
    line = body.split(b"\n", 1)[0]
    try:
        fields = line.decode("utf-8").split()
        [float(v) for v in fields[1:]]
    except (UnicodeDecodeError, ValueError):
        return True
    return len(fields) != dim + 1


def _read_binary(path, body: bytes, count: int, dim: int, keep) -> dict[str, np.ndarray]:
    out, position, record = {}, 0, 4 * dim
    for index in range(count):
        while position < len(body) and body[position:position + 1] in (b"\n", b" "):
            position += 1
        space = body.find(b" ", position)
        if space < 0 or space + 1 + record > len(body):
            raise UsageError(
                f"Word vectors file {path} (word2vec binary, dimension {dim}) ends inside record "
                f"{index + 1} of {count}: wrong dimension or a truncated file."
            )
        word = body[position:space].decode("utf-8", errors="replace")
        if keep is None or word in keep:
            out[word] = np.frombuffer(body, "<f4", dim, space + 1).astype("float32")
        position = space + 1 + record
    return out


def _read_text(path, body: bytes, keep, *, expected_dim, first_line: int) -> dict[str, np.ndarray]:
    out, dim = {}, expected_dim
    for number, line in enumerate(body.decode("utf-8", errors="replace").split("\n"), start=first_line):
        fields = line.rstrip().split(" ")
        if len(fields) < 2 or not fields[0]:
            continue
        dim = dim if dim is not None else len(fields) - 1
        if len(fields) - 1 != dim:
            raise UsageError(
                f"Word vectors file {path}, line {number}: {len(fields) - 1} values where the file's "
                f"vectors have {dim} (word2vec text / GloVe: 'word v1 ... v{dim}')."
            )
        if keep is None or fields[0] in keep:
            try:
                out[fields[0]] = np.asarray(fields[1:], dtype="float32")
            except ValueError:
                raise UsageError(f"Word vectors file {path}, line {number}: not numbers after the word.") from None
    if not out and keep is None:
        raise UsageError(f"Word vectors file {path} has no vectors (expected word2vec or GloVe format).")
    return out


def embedding_matrix(path: str | os.PathLike, vocabulary, *, dim: int | None = None, seed: int = 0):
    """``(matrix, found)``: one row per vocabulary entry, as Kim initialises them.

    Row 0 (padding, ``""``) is zero; a word with a vector gets it; any other word
    (``[UNK]`` included) gets ``U[-0.25, 0.25]`` from a generator seeded by ``seed``.

    Raises:
        UsageError: the file's vectors are not ``dim``-dimensional (when given), or
            none of the vocabulary has a vector.
    """
    vocabulary = list(vocabulary)
    vectors = read_vectors(path, vocabulary)
    if not vectors:
        raise UsageError(f"None of the {len(vocabulary)} vocabulary words has a vector in {path}.")
    file_dim = len(next(iter(vectors.values())))
    if dim is not None and file_dim != dim:
        raise UsageError(f"Word vectors in {path} are {file_dim}-dimensional; the model needs {dim}.")
    rng = np.random.default_rng(seed)
    matrix = rng.uniform(-UNKNOWN_RANGE, UNKNOWN_RANGE, (len(vocabulary), file_dim)).astype("float32")
    matrix[0] = 0.0
    found = 0
    for row, word in enumerate(vocabulary):
        if row and word in vectors:
            matrix[row] = vectors[word]
            found += 1
    return matrix, found


def write_vectors(path: str | os.PathLike, vectors: dict[str, np.ndarray], *, fmt: str = "glove") -> None:
    """Write ``vectors`` as ``"glove"``, ``"word2vec"`` (text) or ``"word2vec-binary"`` (tests, small demos)."""
    from kerascnn.core.files import atomic_write_bytes

    dim = len(next(iter(vectors.values())))
    header = f"{len(vectors)} {dim}\n".encode() if fmt != "glove" else b""
    if fmt == "word2vec-binary":
        body = b"".join(w.encode() + b" " + np.asarray(v, "<f4").tobytes() + b"\n" for w, v in vectors.items())
    elif fmt in ("glove", "word2vec"):
        body = "".join(f"{w} {' '.join(f'{x:.6f}' for x in v)}\n" for w, v in vectors.items()).encode()
    else:
        raise UsageError(f"Unknown vectors format {fmt!r}: glove, word2vec, word2vec-binary.")
    atomic_write_bytes(path, header + body)
