"""kerascnn.analysis.oneshot: 1-NN episodes, and Lake's run format written and read back (both paths agree)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kerascnn.analysis import oneshot
from kerascnn.core.errors import UsageError
from kerascnn.data import samplers


def toy_set(seed=0):
    """8 classes in 2 'alphabets'; each class a bright square at its own place plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(8), 5)
    images = rng.integers(0, 60, (40, 12, 12, 1)).astype(np.uint8)
    for k, c in enumerate(labels):
        r, col = divmod(int(c), 4)
        images[k, 6 * r:6 * r + 4, 3 * col:3 * col + 3] = 255
    groups = np.where(labels < 4, "A", "B")
    return images, labels, groups


def pixels(images):
    return np.asarray(images, dtype=np.float32).reshape(len(images), -1)


def test_nearest_support():
    support = np.array([[0.0, 0.0], [10.0, 0.0]])
    assert oneshot.nearest_support(support, np.array([3, 7]), np.array([[1.0, 0], [9, 1]])).tolist() == [3, 7]


@pytest.mark.parametrize("protocol", oneshot.PROTOCOLS)
def test_episodes_and_lake_runs_give_the_same_error_rate(tmp_path, protocol):
    from kerascnn.runtime.images import load_images

    images, labels, groups = toy_set()
    # Spoil one class so that some trials fail: class 0 looks like class 1.
    images[labels == 0] = images[labels == 1][0]
    rng = np.random.default_rng(1)
    episodes = samplers.episodes(labels, ways=4, shots=1, queries=1, count=6, rng=rng,
                                 groups=groups if protocol == "within-alphabet" else None)
    in_memory = oneshot.evaluate_episodes(pixels, images, episodes, protocol=protocol)
    assert in_memory["protocol"] == protocol and in_memory["trials"] == 24 and in_memory["ways"] == 4
    assert 0 < in_memory["error_rate"] < 0.5

    runs = oneshot.write_runs(tmp_path / "runs", images, episodes)
    lines = (runs / "run01" / "class_labels.txt").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("run01/test/item01.png run01/training/class")
    from_files = oneshot.evaluate_runs(lambda paths: pixels(load_images(paths, (12, 12, 1))), runs)
    assert from_files["runs"] == 6 and from_files["trials"] == 24
    assert from_files["error_rate"] == pytest.approx(in_memory["error_rate"])
    assert sum(r["errors"] for r in from_files["per_run"]) == round(in_memory["error_rate"] * 24)


def test_a_zip_of_runs_reads_like_the_folder(tmp_path):
    """Lake's all_runs.zip is read as downloaded: runs at the top of the zip or under one folder, plain and
    support-centred, and the extracted copy is gone afterwards."""
    import shutil
    import zipfile

    from kerascnn.runtime.images import load_images

    images, labels, groups = toy_set()
    images[labels == 0] = images[labels == 1][0]
    episodes = samplers.episodes(labels, ways=4, shots=1, queries=1, count=6, rng=np.random.default_rng(1),
                                 groups=groups)
    runs = oneshot.write_runs(tmp_path / "all_runs", images, episodes)
    seen = []

    def embed(paths):
        seen.extend(paths)
        return pixels(load_images(paths, (12, 12, 1)))

    flat = Path(shutil.make_archive(str(tmp_path / "flat"), "zip", runs))  # run01/... at the top
    nested = Path(shutil.make_archive(str(tmp_path / "nested"), "zip", tmp_path, "all_runs"))  # all_runs/run01/...
    assert "run01/class_labels.txt" in zipfile.ZipFile(flat).namelist()
    for centre in (False, True):
        expected = oneshot.evaluate_runs(embed, runs, centre=centre)
        assert expected["centred"] is centre and expected["accuracy"] == 1 - expected["error_rate"]
        for archive in (flat, nested):
            assert oneshot.evaluate_runs(embed, archive, centre=centre) == expected
    assert oneshot.evaluate_runs(embed, runs)["error_rate"] > 0
    assert not any(Path(p).exists() for p in seen if str(runs) not in str(p))  # temporary copies removed


def test_bad_runs_zips_are_one_line_errors(tmp_path):
    import zipfile

    (tmp_path / "notes.zip").write_text("not a zip")
    with pytest.raises(UsageError, match="neither a folder nor a zip"):
        oneshot.evaluate_runs(pixels, tmp_path / "notes.zip")
    with pytest.raises(UsageError, match="Runs folder not found"):
        oneshot.evaluate_runs(pixels, tmp_path / "missing.zip")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as archive:
        archive.writestr("readme.txt", "no runs here")
    with pytest.raises(UsageError, match="No runNN folders"):
        oneshot.evaluate_runs(pixels, tmp_path / "empty.zip")


def test_malformed_runs_are_one_line_errors(tmp_path):
    images, labels, _ = toy_set()
    episodes = samplers.episodes(labels, ways=3, shots=1, queries=1, count=1, rng=np.random.default_rng(0))
    runs = oneshot.write_runs(tmp_path / "runs", images, episodes)
    labels_file = runs / "run01" / "class_labels.txt"
    labels_file.write_text("run01/test/item01.png\n")
    with pytest.raises(UsageError, match=r"class_labels.txt:1: expected"):
        oneshot.read_runs(runs)
    labels_file.write_text("run01/test/item09.png run01/training/class01.png\n")
    with pytest.raises(UsageError, match="image not found"):
        oneshot.read_runs(runs)
    labels_file.unlink()
    with pytest.raises(UsageError, match="has no class_labels.txt"):
        oneshot.read_runs(runs)
    with pytest.raises(UsageError, match="No runNN folders"):
        oneshot.read_runs(tmp_path)
    with pytest.raises(UsageError, match="one-shot"):
        oneshot.write_runs(tmp_path / "two", images, samplers.episodes(
            labels, ways=2, shots=2, queries=1, count=1, rng=np.random.default_rng(0)))
    assert not (tmp_path / "two").exists()


def test_centring_on_the_support_mean():
    support = np.array([[1.0, 2.0, 0.0], [1.0, 0.0, 2.0], [1.0, -2.0, -2.0]])  # all share the first component
    query = np.array([[1.0, 2.1, 0.1]])
    s, q = oneshot.centre_on_support(support, query)
    np.testing.assert_allclose(np.linalg.norm(np.concatenate([s, q]), axis=1), 1.0)
    np.testing.assert_allclose(s[:, 0], 0.0, atol=1e-12)  # the shared component is gone
    labels = np.repeat(np.arange(3), 2)
    points = np.repeat(support, 2, axis=0) + 0.01 * np.arange(6)[:, None]
    episodes = samplers.episodes(labels, ways=3, shots=1, queries=1, count=4, rng=np.random.default_rng(0))
    result = oneshot.evaluate_episodes(lambda x: x, points, episodes, protocol="unstructured", centre=True)
    assert result["centred"] and result["accuracy"] == 1.0
