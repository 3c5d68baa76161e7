"""Data set access: offline readers, TFDS look-up without network, tf.data pipelines."""

from __future__ import annotations

import gzip
import shutil
import struct
import time

import numpy as np
import pytest

from kerascnn import data
from kerascnn.data import idx
from kerascnn.core.errors import DataNotFoundError, UsageError

MNIST_TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # data README


@pytest.fixture(autouse=True)
def _isolated_locations(monkeypatch, tmp_path_factory):
    """No test sees the caller's $KERASCNN_DATA or ~/tensorflow_datasets."""
    monkeypatch.delenv("KERASCNN_DATA", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path_factory.mktemp("tfds_default")))


def one_line(err) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- digits


def test_digits_is_embedded_with_fixed_stratified_split():
    ds = data.load("digits")
    assert ds.x_train.shape == (1437, 8, 8, 1) and ds.x_test.shape == (360, 8, 8, 1)
    assert ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.input_shape == (8, 8, 1) and ds.num_classes == 10
    # 17 grey levels 0..16 scaled to 0..255
    levels = np.unique(np.concatenate([ds.x_train.ravel(), ds.x_test.ravel()]))
    np.testing.assert_array_equal(levels, np.round(np.arange(17) * 255 / 16).astype(np.uint8))
    # stratified: every class has 35 or 36 test images (20 % of 174..183)
    assert set(np.bincount(ds.y_test, minlength=10)) <= {35, 36, 37}
    again = data.load("digits")
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    np.testing.assert_array_equal(ds.y_train, again.y_train)


# --------------------------------------------------------------------------- MNIST / IDX


@pytest.fixture(scope="module")
def mnist(shared_data):
    return data.load("mnist", shared_data)


def test_mnist_offline_fixed_split(mnist, shared_data):
    assert mnist.x_train.shape == (8000, 28, 28, 1) and mnist.x_test.shape == (2000, 28, 28, 1)
    assert mnist.x_train.dtype == np.uint8 and mnist.x_train.max() == 255
    train_counts, test_counts = np.bincount(mnist.y_train, minlength=10), np.bincount(mnist.y_test, minlength=10)
    assert (train_counts + test_counts).tolist() == MNIST_TEST_LABEL_COUNTS
    assert train_counts.tolist() == [773, 905, 834, 803, 788, 723, 756, 813, 787, 818]
    assert test_counts.tolist() == [207, 230, 198, 207, 194, 169, 202, 215, 187, 191]
    # file order: train = images 0..7999, test = 8000..9999
    images = idx.read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_array_equal(mnist.x_train[:, :, :, 0], images[:8000])
    np.testing.assert_array_equal(mnist.x_test[:, :, :, 0], images[8000:])
    assert "fixed split" in mnist.source


def test_mnist_found_through_env_and_mnist_folder_itself(shared_data, monkeypatch, mnist):
    monkeypatch.setenv("KERASCNN_DATA", str(shared_data))
    np.testing.assert_array_equal(data.load("mnist").y_test, mnist.y_test)
    monkeypatch.delenv("KERASCNN_DATA")
    np.testing.assert_array_equal(data.load("mnist", shared_data / "mnist").y_train, mnist.y_train)


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def test_read_idx_plain_and_gzip(tmp_path):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    write_idx(tmp_path / "a-idx3-ubyte", images)
    write_idx(tmp_path / "a-idx3-ubyte.gz", images, compress=True)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a-idx3-ubyte"), images)
    np.testing.assert_array_equal(idx.read_idx(tmp_path / "a-idx3-ubyte.gz"), images)


def test_idx_full_set_is_used_when_train_files_exist(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    for prefix, n in (("train", 12), ("t10k", 5)):
        write_idx(tmp_path / "mnist" / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)), True)
        write_idx(tmp_path / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n), True)
    ds = data.load("mnist", tmp_path)
    assert len(ds.x_train) == 12 and len(ds.x_test) == 5 and "full" in ds.source
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(UsageError, match="train-labels.* is missing"):
        data.load("mnist", tmp_path)


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda raw: raw[:-7], "truncated"),  # plain file cut short
        (lambda raw: b"\x01\x02" + raw[2:], "not an IDX file"),  # bad magic
    ],
)
def test_corrupt_idx_is_a_one_line_error(tmp_path, damage, words):
    path = tmp_path / "t10k-images-idx3-ubyte"
    write_idx(path, np.zeros((4, 28, 28)))
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(UsageError, match=words) as err:
        idx.read_idx(path)
    assert str(path) in one_line(err)


def test_truncated_gzip_in_mnist_folder(tmp_path, shared_data):
    folder = tmp_path / "mnist"
    folder.mkdir()
    raw = (shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    shutil.copy(shared_data / "mnist" / "t10k-labels-idx1-ubyte.gz", folder)
    with pytest.raises(UsageError, match="Cannot read IDX file") as err:
        data.load("mnist", tmp_path)
    one_line(err)


def test_missing_data_says_where_it_looked(tmp_path):
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        data.load("mnist", tmp_path)
    message = one_line(err)
    assert str(tmp_path / "mnist") in message and "--data-dir" in message and "--download" in message
    assert time.perf_counter() - start < 5


def test_unprepared_tfds_fails_fast_offline(tmp_path):
    # A same-named folder makes the loader ask TFDS itself whether it is prepared.
    (tmp_path / "cifar10").mkdir()
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as err:
        data.load("cifar10", tmp_path)
    assert time.perf_counter() - start < 5
    message = one_line(err)
    assert f"TFDS {tmp_path / 'cifar10'}" in message and "KERASCNN_DATA" in message and "--download" in message


def test_download_refused_when_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASCNN_OFFLINE", "1")
    with pytest.raises(UsageError, match="KERASCNN_OFFLINE"):
        data.load("cifar10", tmp_path, download=True)


@pytest.fixture(scope="module")
def prepared_tfds(tmp_path_factory):
    """A tiny TFDS data set prepared offline from a generator (no download)."""
    import tensorflow_datasets as tfds

    class KerascnnTiny(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = {
                "image": tfds.features.Image(shape=(4, 4, 1)),
                "label": tfds.features.ClassLabel(names=["a", "b"]),
            }
            return tfds.core.DatasetInfo(
                builder=self, features=tfds.features.FeaturesDict(features), supervised_keys=("image", "label")
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(6), "test": self._generate_examples(4)}

        def _generate_examples(self, n):
            for i in range(n):
                yield i, {"image": np.full((4, 4, 1), 10 * i, np.uint8), "label": i % 2}

    folder = tmp_path_factory.mktemp("tfds")
    KerascnnTiny(data_dir=str(folder)).download_and_prepare()
    return folder


def test_prepared_tfds_data_is_read_offline(prepared_tfds, tmp_path):
    from kerascnn.data import tfds as tfds_data

    assert tfds_data.find_prepared("kerascnn_tiny", [tmp_path, prepared_tfds]) == prepared_tfds
    ds = tfds_data.load("tiny", "kerascnn_tiny", prepared_tfds)
    assert ds.x_train.shape == (6, 4, 4, 1) and ds.x_test.shape == (4, 4, 4, 1) and ds.x_train.dtype == np.uint8
    assert ds.class_names == ["a", "b"]
    # labels stay with their images through TFDS's shuffling
    np.testing.assert_array_equal(ds.y_train, (ds.x_train[:, 0, 0, 0] // 10) % 2)
    merged = tfds_data.load("tiny", "kerascnn_tiny", prepared_tfds, test_split=None)
    assert len(merged.x_train) + len(merged.x_test) == 6


@pytest.mark.online
def test_tfds_download_mnist(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASCNN_OFFLINE", "0")
    ds = data.load("fashion_mnist", tmp_path, download=True)
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.class_names[0] == "T-shirt/top"


def test_unknown_names_list_valid_ones():
    with pytest.raises(UsageError, match="Did you mean: mnist") as err:
        data.load("mnsit")
    assert "fashion_mnist" in one_line(err) and "folder:PATH" in str(err.value)
    with pytest.raises(UsageError, match="load_text"):
        data.load("mr")
    with pytest.raises(UsageError, match="Unknown text dataset"):
        data.load_text("imdb")


# --------------------------------------------------------------------------- Omniglot


@pytest.fixture(scope="module")
def omniglot(shared_data):
    return data.load("omniglot", shared_data)


def test_omniglot_greek_latin_deduplicated_and_drawer_split(omniglot):
    # 2,720 + 3,120 files; Greek (24) and Latin (26) characters x 20 drawers are in both zips
    assert len(omniglot.x_train) + len(omniglot.x_test) == 2720 + 3120 - (24 + 26) * 20
    assert omniglot.input_shape == (105, 105, 1) and omniglot.num_classes == 136 + 156 - 50
    assert len(omniglot.extra["alphabets"]) == 8
    assert np.bincount(omniglot.y_train).tolist() == [15] * 242
    assert np.bincount(omniglot.y_test).tolist() == [5] * 242
    train, test = omniglot.extra["train"], omniglot.extra["test"]
    assert train["drawer"].max() == 15 and test["drawer"].min() == 16
    assert len(train["alphabet"]) == len(omniglot.x_train)
    # metadata agrees with the labels
    label = omniglot.y_train[0]
    assert omniglot.class_names[label] == f"{train['alphabet'][0]}/{train['character'][0]}"
    assert set(np.unique(omniglot.x_train)) == {0, 255}


def test_omniglot_single_zip(tmp_path, shared_data):
    (tmp_path / "omniglot").mkdir()
    (tmp_path / "omniglot" / "images_background_small1.zip").symlink_to(
        shared_data / "omniglot" / "images_background_small1.zip"
    )
    ds = data.load("omniglot", tmp_path)
    assert len(ds.x_train) + len(ds.x_test) == 2720 and ds.num_classes == 136


# --------------------------------------------------------------------------- folders


def write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_folder_of_class_subfolders(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        for i in range(5):
            write_png(tmp_path / "pets" / cls / f"{i}.png", rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    write_png(tmp_path / "pets" / "dog" / "grey.png", rng.integers(0, 256, (12, 10), dtype=np.uint8))
    write_png(tmp_path / "pets" / "dog" / "big.png", rng.integers(0, 256, (24, 20, 3), dtype=np.uint8))
    (tmp_path / "pets" / "dog" / "notes.txt").write_text("not an image")
    for name in (str(tmp_path / "pets"), f"folder:{tmp_path / 'pets'}"):
        ds = data.load(name)
        assert ds.class_names == ["cat", "dog"]
        assert ds.input_shape == (12, 10, 3) and ds.x_train.dtype == np.uint8
        assert len(ds.x_train) == 9 and len(ds.x_test) == 3
        assert "resized" in ds.source
    first = sorted((tmp_path / "pets" / "cat").glob("*.png"))[0]
    from PIL import Image

    assert any(np.array_equal(np.asarray(Image.open(first)), x) for x in ds.x_train)


def test_folder_with_train_test_subfolders_and_errors(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("a", "b"):
            for i in range(n):
                write_png(tmp_path / "ds" / split / cls / f"{i}.png", np.full((6, 6), 40 * i, dtype=np.uint8))
    ds = data.load(f"folder:{tmp_path / 'ds'}")
    assert (len(ds.x_train), len(ds.x_test), ds.input_shape) == (6, 4, (6, 6, 1))
    with pytest.raises(DataNotFoundError):
        data.load(f"folder:{tmp_path / 'missing'}")
    write_png(tmp_path / "one" / "only" / "0.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(UsageError, match="at least two class"):
        data.load(str(tmp_path / "one"))
    (tmp_path / "ds" / "train" / "a" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UsageError, match="Cannot decode image") as err:
        data.load(f"folder:{tmp_path / 'ds'}")
    one_line(err)


# --------------------------------------------------------------------------- MR text


def test_mr_sentences_latin1(shared_data):
    ds = data.load_text("mr", shared_data)
    assert len(ds.texts) == 10662 and np.bincount(ds.labels).tolist() == [5331, 5331]
    assert ds.class_names == ["negative", "positive"]
    assert ds.texts[0] == "simplistic , silly and tedious ."
    assert any("clichés" in t for t in ds.texts)  # Latin-1 0xE9


def test_mr_missing(tmp_path):
    with pytest.raises(DataNotFoundError, match="rt-polarity") as err:
        data.load_text("mr", tmp_path)
    one_line(err)


# --------------------------------------------------------------------------- pipeline


def batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


def test_pipeline_shapes_dtype_and_values():
    x = np.arange(10 * 4 * 4 * 1, dtype=np.uint8).reshape(10, 4, 4, 1)
    y = np.arange(10)
    out = batches(data.pipeline(x, y, batch_size=4, shuffle=False, seed=None))
    assert [b[0].shape for b in out] == [(4, 4, 4, 1), (4, 4, 4, 1), (2, 4, 4, 1)]
    assert out[0][0].dtype == np.float32
    np.testing.assert_array_equal(np.concatenate([b[0] for b in out]), x.astype(np.float32))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in out]), y)


def test_pipeline_seeded_shuffle_is_reproducible_and_reshuffles():
    x = np.zeros((64, 2, 2, 1), np.uint8)
    y = np.arange(64)

    def epochs(seed, n=2):
        ds = data.pipeline(x, y, batch_size=16, shuffle=True, seed=seed)
        return [np.concatenate([b[1] for b in batches(ds)]) for _ in range(n)]

    first, second = epochs(7), epochs(7)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert sorted(first[0].tolist()) == list(range(64))
    assert not np.array_equal(first[0], first[1])  # reshuffled each epoch
    assert not np.array_equal(first[0], epochs(8, 1)[0])


def test_pipeline_applies_augmentation_in_training_mode(mnist):
    x, y = mnist.x_train[:32], mnist.y_train[:32]
    plain = batches(data.pipeline(x, y, batch_size=32, shuffle=False, seed=0))[0][0]
    augmented = batches(data.pipeline(x, y, batch_size=32, shuffle=False, seed=0, augment="rotate:20,translate:0.1"))
    images, labels = augmented[0]
    assert images.shape == plain.shape and images.dtype == np.float32
    np.testing.assert_array_equal(labels, y)
    assert not np.allclose(images, plain)
    assert 0 <= images.min() and images.max() <= 255


@pytest.fixture
def op_determinism():
    """What ``kerascnn.training.seeding.set_global_seed`` turns on, undone afterwards."""
    import tensorflow as tf
    from tensorflow.python.framework import config

    tf.config.experimental.enable_op_determinism()
    yield
    config.disable_op_determinism()


def test_pipeline_augmentation_reproducible_with_op_determinism(mnist, op_determinism):
    def run():
        ds = data.pipeline(mnist.x_train[:512], mnist.y_train[:512], batch_size=64, shuffle=True, seed=3,
                           augment="rotate:10,translate:0.1,cutout:0.3")  # fmt: skip
        return np.stack([b[0].sum(axis=(1, 2, 3)) for b in batches(ds)])

    np.testing.assert_array_equal(run(), run())


def test_pipeline_rejects_bad_arguments():
    x, y = np.zeros((4, 2, 2, 1), np.uint8), np.zeros(4)
    with pytest.raises(UsageError, match="batch_size"):
        data.pipeline(x, y, batch_size=0, shuffle=False, seed=0)
    with pytest.raises(UsageError, match="differ in length"):
        data.pipeline(x, y[:3], batch_size=2, shuffle=False, seed=0)
    with pytest.raises(UsageError, match="Valid augmentations"):
        data.pipeline(x, y, batch_size=2, shuffle=False, seed=0, augment="flop")
