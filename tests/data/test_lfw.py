"""TFDS `lfw` (person-name labels): faces cropped, names -> identities, one-image people dropped, people split
between train and test; `kerascnn train triplet --dataset lfw` and `kerascnn verify ... --dataset lfw` on a fake
TFDS builder prepared offline (the real download is an online test)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from kerascnn import cli, data
from kerascnn.core.errors import UsageError

SIDE = 50  # fake images; the face box of a 50 px image is rows 14-39, columns 12-37
#: person -> images: 3 people with 10+ images train, 3 with 2-3 test, 2 with one image are dropped
PEOPLE = {"Ann_A": 12, "Bob_B": 11, "Cid_C": 10, "Dee_D": 3, "Eve_E": 2, "Fay_F": 2, "Gus_G": 1, "Hal_H": 1}


def brightness(person: str) -> int:
    return 25 * (sorted(PEOPLE).index(person) + 1)


@pytest.fixture(scope="module")
def fake_lfw(tmp_path_factory):
    """A TFDS builder shaped like `lfw` ({"label": Text name, "image"}, supervised keys reversed), prepared
    offline: each image is black with its face box filled by the person's brightness (green = image number)."""
    import tensorflow_datasets as tfds

    class KerascnnFakeLfw(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("0.1.1")

        def _info(self):
            features = {"label": tfds.features.Text(), "image": tfds.features.Image(shape=(SIDE, SIDE, 3))}
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(features),
                                         supervised_keys=("label", "image"))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples()}

        def _generate_examples(self):
            for person, count in PEOPLE.items():
                for k in range(count):
                    image = np.zeros((SIDE, SIDE, 3), np.uint8)
                    image[14:39, 12:37] = (brightness(person), 10 * k, 255)
                    yield f"{person}/{k}", {"label": person, "image": image}

    folder = tmp_path_factory.mktemp("tfds_lfw")
    KerascnnFakeLfw(data_dir=str(folder)).download_and_prepare()
    return folder


@pytest.fixture
def lfw_spec(fake_lfw, monkeypatch):
    """The registry's `lfw` entry pointed at the fake builder (same reader)."""
    monkeypatch.setitem(data._SPECS, "lfw", dataclasses.replace(data._SPECS["lfw"], tfds_name="kerascnn_fake_lfw"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(fake_lfw.parent / "no_default_tfds"))
    return fake_lfw


def test_lfw_names_become_identities_split_by_person(lfw_spec, capsys):
    ds = data.load("lfw", lfw_spec)
    assert ds.input_shape == (64, 64, 3) and ds.x_train.dtype == np.uint8
    assert ds.class_names == ["Ann_A", "Bob_B", "Cid_C", "Dee_D", "Eve_E", "Fay_F"]  # the two one-image people left out
    assert len(ds.x_train) == 33 and len(ds.x_test) == 7
    assert sorted({ds.class_names[c] for c in ds.y_train}) == ["Ann_A", "Bob_B", "Cid_C"]
    assert sorted({ds.class_names[c] for c in ds.y_test}) == ["Dee_D", "Eve_E", "Fay_F"]  # never seen in training
    # each image is exactly the face box (no black border), and keeps its person's name
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert (x[..., 2] == 255).all()
        assert [brightness(ds.class_names[c]) for c in y] == x[:, 0, 0, 0].tolist()
        assert (x[..., 0] == x[:, :1, :1, 0]).all()
    note = capsys.readouterr().err
    assert "2 people with one image dropped" in note and "the 3 people with >= 10 images (33)" in note
    assert "the other 3 (7), never seen in training" in ds.source and "resized to 64x64" in ds.source


def test_lfw_reader_refuses_a_set_it_cannot_split(fake_lfw):
    from kerascnn.data import tfds as tfds_data

    with pytest.raises(UsageError, match="no person has 20\\+ images"):
        tfds_data.load_identities("lfw", "kerascnn_fake_lfw", fake_lfw, min_train_images=20)


def test_train_triplet_and_verify_on_lfw(lfw_spec, tmp_path, capsys):
    run = tmp_path / "run"
    assert cli.main(["train", "triplet", "--dataset", "lfw", "--data-dir", str(lfw_spec), "--epochs", "1",
                     "--steps-per-epoch", "2", "--batch-size", "16", "--embedding-dim", "16", "--seed", "0",
                     "--run-dir", str(run), "--quiet"]) == 0, capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["dataset"] == "lfw" and metrics["test_samples"] == 7
    record = json.loads((run / "config.json").read_text())
    assert record["data"]["input_shape"] == [64, 64, 3] and "Dee_D" in record["data"]["classes"]
    capsys.readouterr()
    assert cli.main(["verify", str(run / "embedding.keras"), "--dataset", "lfw", "--data-dir", str(lfw_spec),
                     "--pairs", "40", "--plots", str(tmp_path / "plots"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"] == "lfw" and report["pairs"] == 40 and 0 <= report["auc"] <= 1
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["embedding_pca.png", "verify_roc.png"]


def test_lfw_download_is_refused_offline(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERASCNN_OFFLINE", "1")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    run = tmp_path / "run"
    assert cli.main(["train", "triplet", "--dataset", "lfw", "--download", "--run-dir", str(run), "--quiet"]) == 2
    assert "Downloading 'lfw' is disabled" in capsys.readouterr().err and not run.exists()


@pytest.mark.online
def test_lfw_download(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASCNN_OFFLINE", "0")
    ds = data.load("lfw", tmp_path, download=True)
    # LFW: 13,233 images of 5,749 people, 1,680 of them with two or more images
    assert ds.num_classes == 1680 and len(ds.x_train) + len(ds.x_test) == 13233 - (5749 - 1680)
    assert ds.input_shape == (64, 64, 3) and "George_W_Bush" in {ds.class_names[c] for c in ds.y_train}
