"""Pretrained word vectors: word2vec binary/text and GloVe files, Kim's initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn.core.errors import UsageError
from kerascnn.data.vectors import UNKNOWN_RANGE, embedding_matrix, read_vectors, write_vectors

WORDS = ["film", "gripping", "dull", "café"]


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    return {w: rng.normal(size=5).astype("float32") for w in WORDS}


@pytest.mark.parametrize("fmt", ["glove", "word2vec", "word2vec-binary"])
def test_every_format_reads_back(tmp_path, vectors, fmt):
    path = tmp_path / f"vectors.{fmt}"
    write_vectors(path, vectors, fmt=fmt)
    read = read_vectors(path)
    assert list(read) == WORDS
    for word in WORDS:
        np.testing.assert_allclose(read[word], vectors[word], atol=1e-6 if fmt != "word2vec-binary" else 0)
    assert list(read_vectors(path, words=["dull", "absent"])) == ["dull"]


def test_embedding_matrix_as_kim_initialises_it(tmp_path, vectors):
    path = tmp_path / "v.txt"
    write_vectors(path, vectors)
    vocabulary = ["", "[UNK]", "film", "unseen", "dull"]
    matrix, found = embedding_matrix(path, vocabulary, dim=5, seed=3)
    assert matrix.shape == (5, 5) and found == 2
    np.testing.assert_array_equal(matrix[0], 0)  # padding
    np.testing.assert_allclose(matrix[2], vectors["film"], atol=1e-6)
    assert np.all(np.abs(matrix[[1, 3]]) <= UNKNOWN_RANGE)  # [UNK] and words without a vector: U[-0.25, 0.25]
    again, _ = embedding_matrix(path, vocabulary, dim=5, seed=3)
    np.testing.assert_array_equal(matrix, again)


def test_bad_vector_files_are_one_line_errors(tmp_path, vectors):
    path = tmp_path / "v.txt"
    write_vectors(path, vectors)
    with pytest.raises(UsageError, match="5-dimensional; the model needs 300"):
        embedding_matrix(path, ["", "[UNK]", "film"], dim=300)
    with pytest.raises(UsageError, match="None of the 3 vocabulary words"):
        embedding_matrix(path, ["", "[UNK]", "zzz"], dim=5)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("a 1 2 3\nb 1 2\n")
    with pytest.raises(UsageError, match="line 2: 2 values where the file's vectors have 3"):
        read_vectors(ragged)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        read_vectors(empty)
    binary = tmp_path / "v.bin"
    write_vectors(binary, vectors, fmt="word2vec-binary")
    binary.write_bytes(binary.read_bytes()[:-10])
    with pytest.raises(UsageError, match="ends inside record 4 of 4"):
        read_vectors(binary)
    with pytest.raises(UsageError, match="Cannot read word vectors"):
        read_vectors(tmp_path / "missing.bin")
