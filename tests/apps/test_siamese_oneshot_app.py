"""apps/siamese_oneshot.py: --help, refusing a bad --out before any work, and (with the offline Omniglot zips)
a few steps that train, evaluate both protocols and save an embedding model `kerascnn oneshot` reads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kerascnn import cli
from test_apps import assert_one_line_error, load_app, run_app

DATA = Path(os.environ.get("KERASCNN_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_app("siamese_oneshot").main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--mining" in out and "--eval-alphabets" in out


def test_refuses_a_non_keras_out_before_loading_anything(tmp_path):
    result = run_app("siamese_oneshot", "--data-dir", str(tmp_path), "--out", str(tmp_path / "e.h5"))
    assert_one_line_error(result, "siamese_oneshot", ".keras")


def test_refuses_missing_lake_runs_before_training(tmp_path):
    result = run_app("siamese_oneshot", "--data-dir", str(tmp_path), "--out", str(tmp_path / "e.keras"),
                     "--runs", str(tmp_path / "all_runs.zip"))
    assert_one_line_error(result, "siamese_oneshot", "Runs folder not found")
    assert not (tmp_path / "e.keras").exists()


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "omniglot" / "images_background_small1.zip").is_file(), reason="no offline Omniglot")
def test_a_few_steps_train_evaluate_and_save(tmp_path, capsys):
    out = tmp_path / "embedding.keras"
    result = load_app("siamese_oneshot").main([
        "--data-dir", str(DATA), "--epochs", "1", "--steps", "2", "--classes-per-batch", "8", "--episodes", "3",
        "--augment", "none", "--out", str(out)])
    assert out.is_file() and 0 < result["within_alphabet"] <= 1 and 0 < result["unstructured"] <= 1
    capsys.readouterr()
    assert cli.main(["oneshot", str(out), "--dataset", "omniglot", "--data-dir", str(DATA), "--alphabets", "Korean",
                     "--episodes", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["protocol"] == "within-alphabet" and report["alphabets"] == ["Korean"] and report["trials"] == 40
    # --runs: the app scores Lake-format runs exactly as `kerascnn oneshot --runs` does.
    assert cli.main(["oneshot", str(out), "--dataset", "omniglot", "--data-dir", str(DATA), "--alphabets", "Korean",
                     "--episodes", "2", "--write-runs", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    lake = load_app("siamese_oneshot").lake_runs(str(out), str(tmp_path / "runs"))
    assert "Lake's runs (2 runs, 20-way within-alphabet), 40 trials" in capsys.readouterr().out
    assert cli.main(["oneshot", str(out), "--runs", str(tmp_path / "runs"), "--json"]) == 0
    assert lake["lake_runs"] == pytest.approx(1 - json.loads(capsys.readouterr().out)["error_rate"])
    assert 0 < lake["lake_runs_centred"] <= 1
