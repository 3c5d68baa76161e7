"""Labelled text from a folder, a CSV and the TFDS catalog: reading, encodings, splits, one-line errors."""

from __future__ import annotations

import numpy as np
import pytest

from kerascnn import data
from kerascnn.core.errors import DataNotFoundError, UsageError


def one_line(err) -> str:
    assert "\n" not in str(err.value)
    return str(err.value)


def write_folder(root, layout: dict[str, list[str]], encoding: str = "utf-8"):
    """``{"class": [text, ...]}`` as one .txt file per example."""
    for name, texts in layout.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(texts):
            (root / name / f"{i:03d}.txt").write_bytes(text.encode(encoding))
    return root


def test_folder_of_class_folders(tmp_path):
    write_folder(tmp_path / "reviews", {"pos": ["a gripping film", "superb\nand moving"], "neg": ["dull", "tedious"]})
    ds = data.load_text(f"text:{tmp_path / 'reviews'}")
    assert ds.class_names == ["neg", "pos"] and ds.is_test is None
    assert ds.texts == ["dull", "tedious", "a gripping film", "superb\nand moving"]  # one file = one example
    assert ds.labels.tolist() == [0, 0, 1, 1]


def test_folder_with_train_and_test_is_a_fixed_split(tmp_path):
    from kerascnn.data.text import fixed_split

    root = tmp_path / "imdb"
    write_folder(root / "train", {"neg": ["bad", "awful"], "pos": ["good", "great"]})
    write_folder(root / "test", {"neg": ["boring"], "pos": ["fine"]})
    ds = data.load_text(f"text:{root}")
    split = fixed_split(ds)
    assert split.x_train.tolist() == ["bad", "awful", "good", "great"] and split.x_test.tolist() == ["boring", "fine"]
    assert split.y_test.tolist() == [0, 1]


def test_csv_with_default_and_chosen_columns(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('text,label\n"a gripping, moving film",pos\n\ndull,neg\n"two\nlines",neg\n', encoding="utf-8")
    ds = data.load_text(f"text:{path}")
    assert ds.texts == ["a gripping, moving film", "dull", "two\nlines"] and ds.class_names == ["neg", "pos"]
    assert ds.labels.tolist() == [1, 0, 0]
    other = tmp_path / "other.csv"
    other.write_text("stars,review,split\n10,great,train\n9,awful,train\n10,bad,test\n", encoding="utf-8")
    ds = data.load_text(f"text:{other}", text_column="review", label_column="stars")
    assert ds.class_names == ["9", "10"]  # integer labels sort numerically
    assert ds.labels.tolist() == [1, 0, 1] and ds.is_test.tolist() == [False, False, True]
    with pytest.raises(UsageError, match="no 'text' column .*--text-column NAME") as err:
        data.load_text(f"text:{other}")
    one_line(err)


def test_wrong_encoding_names_the_encoding_and_suggests_the_flag(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\nfine,pos\nun film fran\u00e7ais,neg\n".encode("latin-1"))
    with pytest.raises(UsageError, match=r"as utf-8: byte 0xe7 on line 3 .*--encoding") as err:
        data.load_text(f"text:{path}")
    one_line(err)
    assert data.load_text(f"text:{path}", encoding="latin-1").texts[1] == "un film fran\u00e7ais"
    with pytest.raises(UsageError, match="Unknown --encoding 'utf9'"):
        data.load_text(f"text:{path}", encoding="utf9")


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ({"pos": ["good"], "neg": ["  \n"]}, "is empty: each .txt file holds one example"),
        ({"pos": ["good"], "neg": []}, "has no .txt files: class 'neg' would have no examples"),
        ({"pos": ["good"]}, "at least two class sub-folders"),
    ],
)
def test_bad_folders_are_one_line_errors(tmp_path, layout, message):
    write_folder(tmp_path / "t", layout)
    with pytest.raises(UsageError, match=message) as err:
        data.load_text(f"text:{tmp_path / 't'}")
    one_line(err)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty: it needs a header row"),
        ("text,label\n", "has a header but no examples"),
        ("text,label\ngood,pos\n,neg\n", "line 3: the 'text' cell is empty"),
        ("text,label\ngood,pos\nbad,\n", "line 3: the 'label' cell is empty"),
        ("text,label\ngood,pos\nfine,pos\n", "only one label"),
        ("text,label,split\ngood,pos,train\nbad,neg,test\n", "class 'neg' has no training examples"),
        ("text,label,split\ngood,pos,train\nbad,neg,dev\n", "split must be train or test"),
    ],
)
def test_bad_csv_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=message) as err:
        data.load_text(f"text:{path}")
    one_line(err)


def test_names_and_paths(tmp_path):
    assert data.is_text("mr") and data.is_text("sst2") and data.is_text("text:x.csv") and not data.is_text("mnist")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        data.load_text(f"text:{tmp_path / 'nothing'}")
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(UsageError, match="folder of class sub-folders or a .csv"):
        data.load_text(f"text:{tmp_path / 'a.json'}")
    with pytest.raises(UsageError, match="needs a path"):
        data.load_text("text:")
    with pytest.raises(UsageError, match="columns of a CSV"):
        data.load_text("mr", text_column="review")
    with pytest.raises(UsageError, match="is a text data set"):
        data.load("sst2")


def test_mr_keeps_latin1_and_takes_an_encoding(tmp_path):
    folder = tmp_path / "rt-polarity"
    folder.mkdir()
    (folder / "rt-polarity.neg").write_bytes("clich\u00e9d and dull .\n".encode("latin-1"))
    (folder / "rt-polarity.pos").write_bytes("moving .\n".encode("latin-1"))
    assert data.load_text("mr", tmp_path).texts[0] == "clich\u00e9d and dull ."
    with pytest.raises(UsageError, match="as utf-8: byte 0xe9 on line 1"):
        data.load_text("mr", tmp_path, encoding="utf-8")


# --------------------------------------------------------------------------- TFDS text sets (offline)


def test_tfds_text_sets_are_not_downloaded_without_asking(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with pytest.raises(DataNotFoundError, match="'sst2' not found offline.*--download") as err:
        data.load_text("sst2", tmp_path)
    assert "glue/sst2" in one_line(err)
    monkeypatch.setenv("KERASCNN_OFFLINE", "1")
    with pytest.raises(UsageError, match="KERASCNN_OFFLINE"):
        data.load_text("imdb_reviews", tmp_path, download=True)


def test_a_prepared_tfds_text_set_is_read_as_a_fixed_split(tmp_path):
    """A tiny TFDS text builder prepared from a generator (no download) stands in for imdb_reviews."""
    import tensorflow_datasets as tfds

    from kerascnn.data import tfds as tfds_data
    from kerascnn.data.text import fixed_split

    class KerascnnTinyText(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = {"sentence": tfds.features.Text(), "label": tfds.features.ClassLabel(names=["neg", "pos"]),
                        "idx": np.int32}
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(6), "validation": self._generate_examples(2)}

        def _generate_examples(self, n):
            for i in range(n):
                yield i, {"sentence": f"s\u00e9ntence {i}", "label": i % 2, "idx": i}

    KerascnnTinyText(data_dir=str(tmp_path)).download_and_prepare()
    assert tfds_data.find_prepared("kerascnn_tiny_text", [tmp_path]) == tmp_path
    ds = tfds_data.load_text("tiny", "kerascnn_tiny_text", tmp_path, test_split="validation")
    assert len(ds.texts) == 8 and ds.class_names == ["neg", "pos"] and ds.is_test.sum() == 2
    assert all(t.startswith("s\u00e9ntence") for t in ds.texts)  # bytes decoded as UTF-8
    assert all(int(t.split()[1]) % 2 == y for t, y in zip(ds.texts, ds.labels))  # labels stay with their texts
    assert len(fixed_split(ds).x_test) == 2


@pytest.mark.online
def test_tfds_download_sst2(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASCNN_OFFLINE", "0")
    ds = data.load_text("sst2", tmp_path, download=True)
    assert len(ds.texts) == 67_349 + 872 and ds.class_names == ["negative", "positive"]
