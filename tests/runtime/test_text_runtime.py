"""TF-free tokenisation: identical token ids to keras.layers.TextVectorization (whole MR set)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from kerascnn.core.errors import UsageError
from kerascnn.runtime.text import Tokenizer

# ASCII-only lower-casing, ASCII-whitespace splitting: NBSP, NEL (Latin-1 0x85) and EM SPACE stay inside tokens.
TRICKY = [
    "A Gripping FILM", "ÉCOLE école", "tab\tsplit\nnew\x0bline\x0cff\rcr", "nbsp\xa0inside nel\x85inside em\u2003sp",
    "", "   ", "one two three four five six seven eight nine ten eleven", "the film the FILM [UNK]",
]


def vectorizer(texts, length):
    import keras

    layer = keras.layers.TextVectorization(standardize="lower", split="whitespace", output_mode="int",
                                           output_sequence_length=length)
    layer.adapt(np.asarray(texts, dtype=object))
    return layer


def keras_ids(layer, texts):
    return np.asarray(layer(np.asarray(texts, dtype=object)))


def test_tricky_strings_tokenise_as_textvectorization():
    layer = vectorizer(TRICKY[:4] + TRICKY[6:], 8)
    tokenizer = Tokenizer(layer.get_vocabulary(), 8)
    probe = TRICKY + ["unseen words map to one", "école nbsp\xa0inside"]
    np.testing.assert_array_equal(tokenizer.encode(probe), keras_ids(layer, probe))
    assert tokenizer.encode(["zzz qqq"]).tolist() == [[1, 1, 0, 0, 0, 0, 0, 0]]  # OOV 1, padding 0


def test_whole_mr_set_gives_identical_token_ids(shared_data):
    from kerascnn import data

    texts = data.load_text("mr", shared_data).texts
    layer = vectorizer(texts[::2], 64)  # vocabulary from half the sentences: the other half has OOV words
    tokenizer = Tokenizer(layer.get_vocabulary(), 64)
    ours = tokenizer.encode(texts)
    np.testing.assert_array_equal(ours, keras_ids(layer, texts))
    assert (ours == 1).any() and any("\x85" in t for t in texts)


def test_save_and_load_round_trip(tmp_path):
    tokenizer = Tokenizer(["", "[UNK]", "film", "nel\x85word", "café"], 5)
    tokenizer.save(tmp_path)
    loaded = Tokenizer.load(tmp_path / "model.onnx")  # the folder of an artifact
    assert loaded.vocabulary == tokenizer.vocabulary and loaded.sequence_length == 5
    np.testing.assert_array_equal(loaded.encode(["café nel\x85word film x"]), [[4, 3, 2, 1, 0]])


def test_broken_tokenizer_files_are_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="no readable text tokeniser"):
        Tokenizer.load(tmp_path)
    with pytest.raises(UsageError, match="starts with ''"):
        Tokenizer(["film", "[UNK]"], 4)
    (tmp_path / "text.json").write_text('{"standardize": "lower_and_strip_punctuation", "split": "whitespace", '
                                        '"sequence_length": 4}')
    (tmp_path / "vocabulary.txt").write_text("\n[UNK]\nfilm\n")
    with pytest.raises(UsageError, match="unsupported rules"):
        Tokenizer.load(tmp_path)


def test_runtime_text_imports_no_tensorflow():
    code = ("import sys; import kerascnn.runtime.text; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
