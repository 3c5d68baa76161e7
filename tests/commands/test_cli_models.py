"""``kerascnn summary`` and ``kerascnn models``: output, JSON, cache and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kerascnn
from kerascnn import models
from kerascnn.analysis import summary
from kerascnn.cli import main
from kerascnn.commands import models as models_command


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("KERASCNN_CACHE_DIR", str(tmp_path / "cache"))


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _usage_error(capsys, argv) -> str:
    """Run ``argv``; it must exit with status 2 and one line on stderr. Returns that line."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# ------------------------------------------------------------ kerascnn summary


def test_summary_vgg16_table_corrects_the_quoted_figure(capsys):
    assert main(["summary", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "block5_pool" in out and "7x7x512" in out
    assert "15,237,608 values" in out and "61.0 MB" in out
    assert "138,357,544" in out and "15.5 G" in out
    note = " ".join(out.split("Note:")[1].split())
    assert "24M" in note and "overstates it" in note and "15,237,608 values" in note


def test_summary_json_has_the_documented_keys(capsys):
    data = _json(capsys, ["summary", "vgg16", "--json"])
    for key in ("name", "input_shape", "trainable_params", "non_trainable_params", "macs", "activations",
                "activation_bytes", "layers"):
        assert key in data
    assert data["name"] == "vgg16" and data["input_shape"] == [224, 224, 3]
    assert data["activations"] == 15_237_608
    assert data["trainable_params"] == 138_357_544
    assert sum(row["params"] for row in data["layers"]) == data["trainable_params"] + data["non_trainable_params"]
    assert data["layers"][1] == {
        "name": "block1_conv1",
        "type": "Conv2D",
        "output_shape": [224, 224, 64],
        "role": "computed",
        "activations": 224 * 224 * 64,
        "activation_bytes": 224 * 224 * 64 * 4,
        "params": 1792,
        "trainable_params": 1792,
        "non_trainable_params": 0,
        "macs": 224 * 224 * 64 * 27,
    }


def test_summary_options_reach_the_builder(capsys):
    data = _json(capsys, ["summary", "mobilenet_v1", "--alpha", "0.5", "--classes", "10", "--input-shape", "128,128,3",
                          "--batch-size", "4", "--json"])
    assert data["input_shape"] == [128, 128, 3]
    assert data["layers"][-1]["output_shape"][-1] == 10
    assert data["activation_bytes"] == 4 * 4 * data["activations"]
    assert data["notes"] == []
    expected = summary.summarize_zoo("mobilenet_v1", alpha=0.5, classes=10, input_shape=(128, 128, 3))
    assert data["macs"] == expected.macs and data["trainable_params"] == expected.trainable_params


def test_summary_unknown_model_suggests_the_closest(capsys):
    line = _usage_error(capsys, ["summary", "vgg61"])
    assert "Unknown model 'vgg61'" in line
    suggestion = line.split("Did you mean:")[1].split("?")[0]
    assert "vgg16" in suggestion


def test_summary_alpha_on_a_model_without_it(capsys):
    line = _usage_error(capsys, ["summary", "vgg16", "--alpha", "0.5"])
    assert "vgg16 does not take --alpha" in line
    assert "mobilenet_v1" in line and "mobilenet_v2" in line


def test_summary_too_small_input(capsys):
    line = _usage_error(capsys, ["summary", "vgg16", "--input-shape", "16,16,3"])
    assert "input_shape" in line and "(16, 16, 3)" in line


@pytest.mark.parametrize("argv", [["--input-shape", "224,abc,3"], ["--batch-size", "0"], ["--alpha", "-1"]])
def test_summary_malformed_options_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", "vgg16", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("kerascnn summary: error: argument")


# ------------------------------------------------------------ kerascnn models


SUBSET = ["lenet5", "mobilenet_v1"]


def test_models_lists_computed_numbers_and_caches_them(capsys, monkeypatch):
    monkeypatch.setattr(models, "names", lambda task=None: list(SUBSET))
    listing = _json(capsys, ["models", "--json"])
    assert [e["name"] for e in listing] == SUBSET
    lenet = listing[0]
    assert (lenet["family"], lenet["year"], lenet["input_shape"]) == ("LeNet", 1998, [32, 32, 1])
    real = models.build("lenet5")
    assert lenet["params"] == real.count_params() == 61_706
    assert lenet["macs"] == summary.summarize(real).macs
    assert listing[1]["macs"] == pytest.approx(569e6, rel=0.005)
    assert list(Path(os.environ["KERASCNN_CACHE_DIR"]).glob("models-*.json"))

    def no_rebuild(names=None):
        raise AssertionError("the cached listing should have been used")

    monkeypatch.setattr(summary, "zoo_listing", no_rebuild)
    assert _json(capsys, ["models", "--json"]) == listing
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert "lenet5" in table and "61.7 K" in table and "569 M" in table and "Paper" in table
    with pytest.raises(AssertionError, match="cached listing"):
        main(["models", "--no-cache"])


def test_cache_key_follows_the_sources(tmp_path):
    package = Path(kerascnn.__file__).parent
    copy = tmp_path / "kerascnn"
    shutil.copytree(package / "models", copy / "models", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(package / "nn", copy / "nn", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "analysis").mkdir()
    shutil.copy(package / "analysis" / "summary.py", copy / "analysis" / "summary.py")
    key = models_command.cache_key(copy)
    assert key == models_command.cache_key(package)
    with open(copy / "models" / "vgg.py", "a") as handle:
        handle.write("\n# edited\n")
    assert models_command.cache_key(copy) != key


def test_cached_listing_needs_no_tensorflow(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    entry = {"name": "lenet5", "family": "LeNet", "paper": "LeCun et al.", "year": 1998, "task": "classification",
             "input_shape": [32, 32, 1], "params": 61706, "trainable_params": 61706, "non_trainable_params": 0,
             "macs": 416520, "activations": 9118}
    (cache / f"models-{models_command.cache_key()}.json").write_text(json.dumps([entry]))
    code = (
        "import sys; from kerascnn.cli import main; status = main(['models']); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; sys.exit(status)"
    )
    env = {**os.environ, "KERASCNN_CACHE_DIR": str(cache)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "lenet5" in result.stdout and "417 K" in result.stdout


@pytest.mark.slow
def test_models_lists_every_registered_model(capsys):
    listing = _json(capsys, ["models", "--json", "--no-cache"])
    assert [e["name"] for e in listing] == models.names()
    for entry in listing:
        assert entry["params"] > 0 and entry["macs"] > 0 and entry["paper"] and entry["year"] >= 1998


# ------------------------------------------------------------ README zoo table is generated


def _readme_zoo_rows() -> dict[str, str]:
    """The rows of the README's zoo table (the block under the generated header)."""
    lines = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(models_command.MARKDOWN_HEADER.splitlines()[0]) + 2
    rows = {}
    for line in lines[start:]:
        if not line.startswith("| `"):
            break
        rows[line.split("`")[1]] = line
    return rows


def test_readme_zoo_rows_are_the_generated_ones(capsys, monkeypatch):
    """The README's table is `kerascnn models --markdown`: trainable parameters, not totals (resnet20 has BN)."""
    monkeypatch.setattr(models, "names", lambda task=None: ["lenet5", "resnet20"])
    assert main(["models", "--markdown"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[:2] == models_command.MARKDOWN_HEADER.splitlines()
    rows = _readme_zoo_rows()
    assert lines[2:] == [rows["lenet5"], rows["resnet20"]]
    assert "| 269,722 |" in rows["resnet20"]  # trainable; 271,098 in total with BatchNorm statistics


@pytest.mark.slow
def test_readme_zoo_table_is_complete(capsys):
    assert main(["models", "--markdown"]) == 0
    generated = capsys.readouterr().out.strip().splitlines()[2:]
    assert generated == list(_readme_zoo_rows().values())


def test_mistyped_model_is_answered_without_tensorflow():
    code = (
        "import sys; from kerascnn.cli import main; status = main(['summary', 'vgg61']); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported TF'; sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "Unknown model 'vgg61'. Did you mean: vgg19, vgg16, vgg13?" in result.stderr


def test_every_family_declares_the_names_it_registers():
    zoo = [n for n in models.names() if models.get_spec(n).builder.__module__.startswith("kerascnn.models.")]
    assert sorted(models.declared_names()) == sorted(zoo)  # models registered by user code are not declared
