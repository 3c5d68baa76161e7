"""`kerascnn oneshot` and `kerascnn verify`: Keras and ONNX embeddings agree with the library, Lake runs written
by --write-runs read back to the same error rate, bad input is one line with exit 2 and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kerascnn import cli


@pytest.fixture(scope="module")
def embedding_files(tmp_path_factory):
    """An (untrained) small-tower embedding model for 8x8 digits, its ONNX export, and a LeNet-5 classifier."""
    from kerascnn import data, models
    from kerascnn.export.pipeline import export_model
    from kerascnn.tasks.metric import raw_pixel_model
    from kerascnn.training.modeling import channel_statistics

    folder = tmp_path_factory.mktemp("oneshot")
    x = data.load("digits").x_train
    network = models.build("triplet", input_shape=(8, 8, 1), embedding_dim=16)
    model = raw_pixel_model(network, (8, 8, 1), *channel_statistics(x), name="tiny_embedding")
    model.save(folder / "embedding.keras")
    export_model(folder / "embedding.keras", formats="onnx", quantize="none", task="embedding",
                 calibration="digits", out=folder / "export")
    import keras

    inputs = keras.Input((8, 8, 1))
    classifier = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs)))
    classifier.save(folder / "classifier.keras")
    return folder


def run_json(capsys, args):
    assert cli.main([str(a) for a in args]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_episodes_written_as_lake_runs_read_back_to_the_same_error_rate(embedding_files, tmp_path, capsys):
    keras_file, onnx_file = embedding_files / "embedding.keras", embedding_files / "export" / "model.onnx"
    episodes = run_json(capsys, ["oneshot", keras_file, "--dataset", "digits", "--ways", 5, "--episodes", 30,
                                 "--write-runs", tmp_path / "runs", "--json"])
    assert episodes["protocol"] == "unstructured" and episodes["trials"] == 150 and episodes["ways"] == 5
    assert 0 < episodes["error_rate"] < 0.8  # untrained, but far from chance on digits pixels
    from_keras = run_json(capsys, ["oneshot", keras_file, "--runs", tmp_path / "runs", "--json"])
    from_onnx = run_json(capsys, ["oneshot", onnx_file, "--runs", tmp_path / "runs", "--json"])
    assert from_keras["runs"] == 30 and from_keras["trials"] == 150 and len(from_keras["per_run"]) == 30
    assert from_keras["error_rate"] == pytest.approx(episodes["error_rate"])
    assert from_onnx["error_rate"] == pytest.approx(episodes["error_rate"])
    assert cli.main(["oneshot", str(keras_file), "--runs", str(tmp_path / "runs")]) == 0
    assert "one-shot error rate" in capsys.readouterr().out
    import shutil  # the same runs zipped, as Lake ships all_runs.zip

    archive = shutil.make_archive(str(tmp_path / "all_runs"), "zip", tmp_path / "runs")
    assert run_json(capsys, ["oneshot", onnx_file, "--runs", archive, "--json"])["error_rate"] == from_onnx["error_rate"]
    centred = run_json(capsys, ["oneshot", keras_file, "--runs", archive, "--centre", "--json"])
    assert centred["centred"] and centred["trials"] == 150 and 0 <= centred["error_rate"] < 1


def test_oneshot_on_onnx_imports_no_tensorflow(embedding_files, tmp_path):
    from kerascnn.analysis import oneshot
    from kerascnn.data import samplers

    x = np.random.default_rng(0).integers(0, 255, (12, 8, 8, 1)).astype(np.uint8)
    runs = oneshot.write_runs(tmp_path / "runs", x, samplers.episodes(
        np.repeat(np.arange(6), 2), ways=3, shots=1, queries=1, count=2, rng=np.random.default_rng(0)))
    code = (
        "import sys; from kerascnn.cli import main; "
        f"status = main(['oneshot', {str(embedding_files / 'export' / 'model.onnx')!r}, '--runs', {str(runs)!r}]); "
        "assert 'tensorflow' not in sys.modules, 'imported TF'; sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "over 6 trials in 2 runs" in result.stdout


def test_verify_report_and_plot(embedding_files, tmp_path, capsys):
    report = run_json(capsys, ["verify", embedding_files / "embedding.keras", "--dataset", "digits", "--pairs", 400,
                               "--plot", tmp_path / "roc.png", "--json"])
    assert report["pairs"] == 400 and report["threshold_from"] == "validation pairs"
    assert 0.5 < report["auc"] <= 1 and 0 <= report["eer"] < 0.5 and 0.5 < report["accuracy"] <= 1
    assert (tmp_path / "roc.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["oneshot", "{dir}/classifier.keras", "--dataset", "digits"], "ends in a softmax: it is a classifier"),
    (["oneshot", "{dir}/embedding.keras", "--runs", "{tmp}"], "No runNN folders"),
    (["oneshot", "{dir}/embedding.keras", "--runs", "{dir}/export/model.onnx"], "neither a folder nor a zip"),
    (["oneshot", "{dir}/embedding.keras", "--runs", "{tmp}/all_runs.zip"], "Runs folder not found"),
    (["oneshot", "{dir}/embedding.keras", "--dataset", "digits", "--protocol", "within-alphabet"],
     "needs alphabets"),
    (["oneshot", "{dir}/embedding.keras", "--dataset", "digits", "--ways", "11"], "11-way"),
    (["oneshot", "{dir}/embedding.keras", "--dataset", "digits", "--alphabets", "Greek"], "omniglot"),
    (["oneshot", "{dir}/missing.keras", "--dataset", "digits"], "Model not found"),
    (["verify", "{dir}/classifier.keras", "--dataset", "digits"], "classifier"),
    (["verify", "{dir}/embedding.keras", "--dataset", "digitz"], "Unknown dataset 'digitz'"),
])
def test_bad_input_is_one_line(embedding_files, tmp_path, capsys, args, message):
    args = [a.format(dir=embedding_files, tmp=tmp_path) for a in args]
    assert cli.main(args + ["--write-runs", str(tmp_path / "out")] if "--dataset" in args and args[0] == "oneshot"
                    else args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_an_embedding_model_of_the_wrong_input_size_is_one_line(tmp_path, capsys):
    from kerascnn import models

    models.build("triplet", input_shape=(10, 10, 1), embedding_dim=4).save(tmp_path / "e.keras")
    assert cli.main(["oneshot", str(tmp_path / "e.keras"), "--dataset", "digits", "--ways", "3"]) == 2
    assert "takes images of 10x10x1; these are 8x8x1" in capsys.readouterr().err


def test_oneshot_plots_the_embedding_and_a_query_grid(embedding_files, tmp_path, capsys):
    result = run_json(capsys, ["oneshot", embedding_files / "export" / "model.onnx", "--dataset", "digits", "--ways",
                               5, "--episodes", 3, "--plots", tmp_path / "plots", "--centre", "--json"])
    assert result["centred"] and result["trials"] == 15
    written = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert written == ["embedding_pca.png", "query_grid.png"] and len(result["plots"]) == 2
    assert all((tmp_path / "plots" / name).read_bytes()[:4] == b"\x89PNG" for name in written)


def test_verify_plots_write_the_roc_and_the_pca_of_the_test_embeddings(embedding_files, tmp_path, capsys,
                                                                       monkeypatch):
    from kerascnn.analysis import embedding_plots

    drawn = {}
    library_plot = embedding_plots.plot_embedding_pca

    def spy(embeddings, labels, path, **kwargs):  # the library's plot, not a copy of it
        drawn.update(embeddings=embeddings, labels=labels, **kwargs)
        return library_plot(embeddings, labels, path, **kwargs)

    monkeypatch.setattr(embedding_plots, "plot_embedding_pca", spy)
    plots = tmp_path / "plots"
    report = run_json(capsys, ["verify", embedding_files / "export" / "model.onnx", "--dataset", "digits",
                               "--pairs", 200, "--plots", plots, "--json"])
    assert sorted(p.name for p in plots.iterdir()) == ["embedding_pca.png", "verify_roc.png"]  # no temporary left
    assert report["plot"] == str(plots / "verify_roc.png") and report["embedding_plot"] == str(plots / "embedding_pca.png")
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in plots.iterdir())
    # every digit class of the test split, named, with the ONNX model's 16-d embeddings
    assert sorted(drawn["class_names"]) == [str(d) for d in range(10)] and drawn["embeddings"].shape[1] == 16
    assert len(drawn["labels"]) == len(drawn["embeddings"]) > 100
    assert cli.main(["verify", str(embedding_files / "embedding.keras"), "--dataset", "digits", "--pairs", "100",
                     "--plots", str(tmp_path / "text")]) == 0
    assert "PCA -> " in capsys.readouterr().out


def test_verify_plots_refused_or_failed_leave_nothing(embedding_files, tmp_path, capsys, monkeypatch):
    from kerascnn.analysis import embedding_plots
    from kerascnn.core.errors import UsageError

    a_file = tmp_path / "plots.png"
    a_file.write_bytes(b"mine")
    assert cli.main(["verify", str(embedding_files / "embedding.keras"), "--dataset", "digits",
                     "--plots", str(a_file)]) == 2
    assert "--plots must be a folder" in capsys.readouterr().err and a_file.read_bytes() == b"mine"

    def fail(*args, **kwargs):
        raise UsageError("cannot draw")

    monkeypatch.setattr(embedding_plots, "pca_2d", fail)
    folder = tmp_path / "plots"
    assert cli.main(["verify", str(embedding_files / "embedding.keras"), "--dataset", "digits", "--pairs", "100",
                     "--plots", str(folder)]) == 2
    assert "cannot draw" in capsys.readouterr().err
    assert not folder.exists() or not any(folder.iterdir())  # not even the ROC plot
