"""NIfTI volumes + labels.csv: read with nibabel (files written by the test), windowing, resizing, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerascnn import data
from kerascnn.core.errors import DataNotFoundError, UsageError

nib = pytest.importorskip("nibabel")

from kerascnn.data import nifti  # noqa: E402


def one_line(err) -> str:
    assert "\n" not in str(err.value)
    return str(err.value)


def scan_folder(root, count: int = 10, shape=(6, 8, 10)):
    """``count`` CT-like volumes in HU: class ``bright`` has a +1000 HU cube, ``dark`` a -1000 HU one."""
    root.mkdir(parents=True, exist_ok=True)
    rows = ["file,label"]
    for i in range(count):
        label = ("dark", "bright")[i % 2]
        volume = np.full(shape, 40.0, np.float32)  # soft tissue
        volume[2:4, 2:5, 3:7] = 1000.0 if label == "bright" else -1000.0
        name = f"case{i:02d}.nii" + (".gz" if i % 3 == 0 else "")
        nifti.write_volume(root / name, volume)
        rows.append(f"{name},{label}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_volumes_are_read_windowed_resized_and_split(tmp_path):
    root = scan_folder(tmp_path / "scans")
    ds = nifti.load(root, shape=(6, 8, 10), window=(-1000, 1000))
    assert isinstance(ds, data.base.VolumeDataset) and ds.class_names == ["bright", "dark"]
    assert ds.x_train.shape == (8, 6, 8, 10, 1) and ds.x_test.shape == (2, 6, 8, 10, 1) and ds.x_train.dtype == np.uint8
    assert sorted(ds.y_test.tolist()) == [0, 1]  # stratified 80/20
    x = np.concatenate([ds.x_train, ds.x_test])[..., 0]
    y = np.concatenate([ds.y_train, ds.y_test])
    # HU window [-1000, 1000] -> 0..255: tissue (40 HU) 133, the cube 255 (bright) or 0 (dark)
    assert (x[:, 0, 0, 0] == 133).all()
    assert (x[y == 0][:, 2, 3, 4] == 255).all() and (x[y == 1][:, 2, 3, 4] == 0).all()
    small = nifti.load(root, shape=(3, 4, 5), window=(-1000, 1000))
    assert small.input_shape == (3, 4, 5, 1)


def test_reading_keeps_the_axis_order_and_reorients_to_canonical(tmp_path):
    volume = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    path = nifti.write_volume(tmp_path / "a.nii.gz", volume)
    np.testing.assert_array_equal(nifti.read_volume(path), volume)
    flipped = np.diag([-1.0, 1.0, 1.0, 1.0])  # x stored right-to-left: canonical RAS mirrors it back
    path = nifti.write_volume(tmp_path / "b.nii", volume[:, :, ::-1], affine=flipped)
    np.testing.assert_array_equal(nifti.read_volume(path), volume)


def test_window_and_percentile_scaling():
    volume = np.linspace(-2000, 2000, 1000, dtype=np.float32).reshape(10, 10, 10)
    windowed = nifti.window_to_uint8(volume, (-1000, 400))
    assert windowed.min() == 0 and windowed.max() == 255
    assert np.all(windowed[volume <= -1000] == 0) and np.all(windowed[volume >= 400] == 255)
    auto = nifti.window_to_uint8(volume)  # MRI: the volume's own 0.5-99.5 percentiles
    assert auto.min() == 0 and auto.max() == pytest.approx(255, abs=1e-3) and 0 < np.median(auto) < 255
    assert nifti.window_to_uint8(np.ones((2, 2, 2), np.float32)).max() == 0  # a constant volume


def test_registered_name_options_file_and_split_column(tmp_path):
    root = scan_folder(tmp_path / "nifti", count=4)
    (root / "labels.csv").write_text("file,label,split\ncase00.nii.gz,dark,train\ncase01.nii,bright,train\n"
                                     "case02.nii,dark,test\ncase03.nii.gz,bright,test\n")
    (root / "nifti.json").write_text(json.dumps({"shape": [4, 4, 4], "window": [-1000, 1000]}))
    ds = data.load("nifti", tmp_path)
    assert ds.input_shape == (4, 4, 4, 1) and ds.y_train.tolist() == [1, 0] and ds.y_test.tolist() == [1, 0]
    assert data.load(f"nifti:{root}").input_shape == (4, 4, 4, 1)
    assert data.is_volume("nifti") and data.is_volume(f"nifti:{root}") and data.check_name("nifti:x") == "nifti"


def test_bad_folders_are_one_line_errors(tmp_path):
    root = scan_folder(tmp_path / "scans", count=4)
    labels = (root / "labels.csv").read_text()
    (root / "labels.csv").write_text(labels + "case99.nii.gz,dark\nmissing.nii,bright\n")
    with pytest.raises(UsageError, match=r"line 6 names case99.nii.gz, which is not in .* \(and 1 more\)") as err:
        nifti.load(root)
    one_line(err)
    (root / "labels.csv").write_text(labels)
    (root / "case01.nii").write_bytes(b"not a nifti file at all")
    with pytest.raises(UsageError, match="Cannot read .*case01.nii as NIfTI") as err:
        nifti.load(root)
    one_line(err)
    nib.save(nib.Nifti1Image(np.zeros((4, 4), np.float32), np.eye(4)), str(root / "case01.nii"))
    with pytest.raises(UsageError, match=r"shape \(4, 4\): expected one 3-D volume"):
        nifti.load(root)
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4, 2), np.float32), np.eye(4)), str(root / "case01.nii"))
    with pytest.raises(UsageError, match="expected one 3-D volume"):
        nifti.load(root)
    with pytest.raises(DataNotFoundError, match="has no labels.csv"):
        nifti.load(tmp_path)
    with pytest.raises(DataNotFoundError, match="does not exist"):
        nifti.load(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="window must be"):
        nifti.load(root, window=(400, -1000))
    (root / "nifti.json").write_text('{"size": [4, 4, 4]}')
    with pytest.raises(UsageError, match="unknown key 'size'"):
        nifti.load(root)
