"""Atomic writes: an interrupted writer never leaves a half-written artifact."""

from __future__ import annotations

import json
import os

import pytest

from kerascnn.core.errors import UsageError
from kerascnn.core.files import atomic_directory, atomic_save_path, atomic_write_json, atomic_write_text


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "sub" / "a.json"
    atomic_write_json(path, {"x": 1})
    atomic_write_json(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_failed_save_keeps_old_file(tmp_path):
    path = tmp_path / "model.keras"
    atomic_write_text(path, "old")
    with pytest.raises(RuntimeError):
        with atomic_save_path(path) as tmp:
            assert tmp.suffix == ".keras"
            tmp.write_text("half")
            raise RuntimeError("crash while saving")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_atomic_directory_refuses_non_empty_without_force(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    with pytest.raises(UsageError, match="--force"):
        with atomic_directory(out):
            pass
    assert (out / "keep.txt").read_text() == "keep"


def test_atomic_directory_failure_leaves_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("keep")
    with pytest.raises(RuntimeError):
        with atomic_directory(out, force=True) as tmp:
            (tmp / "new.bin").write_bytes(b"1")
            raise RuntimeError("export failed")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_directory_force_replaces(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_directory(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    """Run the test under a given umask, restoring the caller's afterwards."""
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path) -> int:
    return path.stat().st_mode & 0o777


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path, umask):
    atomic_write_text(tmp_path / "a.txt", "a")
    with atomic_save_path(tmp_path / "b.keras") as tmp:
        tmp.write_text("b")
    with atomic_directory(tmp_path / "out") as folder:
        with atomic_directory(folder / "nested") as inner:  # an export inside a quickstart folder
            atomic_write_json(inner / "manifest.json", {})
            (inner / "deeper").mkdir()
    assert _mode(tmp_path / "a.txt") == 0o666 & ~umask  # not mkstemp's private 0600
    assert _mode(tmp_path / "b.keras") == 0o666 & ~umask
    for folder in ("out", "out/nested", "out/nested/deeper"):
        assert _mode(tmp_path / folder) == 0o777 & ~umask, folder  # not mkdtemp's private 0700
    assert _mode(tmp_path / "out" / "nested" / "manifest.json") == 0o666 & ~umask


def test_forced_replacement_gets_the_usual_permissions(tmp_path, umask):
    out = tmp_path / "out"
    out.mkdir(mode=0o700)
    (out / "old.txt").write_text("old")
    with atomic_directory(out, force=True) as folder:
        (folder / "new.txt").write_text("new")
    assert _mode(out) == 0o777 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
