"""apps/volumes_3d.py: the 2D-vs-3D story runs, and refuses a bad output folder before training."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "apps" / "volumes_3d.py"


def load_app():
    spec = importlib.util.spec_from_file_location("apps_volumes_3d", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app().main(["--help"])
    assert exit_info.value.code == 0
    assert "2D CNN on one frame" in capsys.readouterr().out


def test_runs_both_models_on_small_clips(shared_data, tmp_path):
    results = load_app().main(["--data-dir", str(shared_data), "--frames", "4", "--size", "32", "--clips", "160",
                               "--epochs", "1", "--steps", "1", "--batch-size", "16", "--out", str(tmp_path / "o")])
    assert set(results) == {"frame_2d", "clip_3d"}
    assert (tmp_path / "o" / "clip_3d" / "metrics.json").is_file()
    assert (tmp_path / "o" / "frame_2d" / "metrics.json").is_file()


def test_refuses_a_non_empty_output_folder_in_one_line(tmp_path):
    (tmp_path / "x").write_text("")
    from kerascnn.core.errors import UsageError

    with pytest.raises(UsageError, match="not empty"):
        load_app().main(["--out", str(tmp_path)])
