"""The 'embedding' Task end to end on digits: triplet and siamese train through the normal trainer,
the model is an L2-normalised embedding, export keeps embedding parity, the TF-free runtime prints
embeddings and pair distances."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerascnn import cli, tasks
from kerascnn.core.errors import UsageError


@pytest.fixture(scope="module")
def triplet_run(tmp_path_factory):
    from kerascnn.training import train

    run = tmp_path_factory.mktemp("metric") / "triplet"
    result = train("triplet", "digits", epochs=4, run_dir=run, seed=0, quiet=True,
                   model_kwargs={"mining": "batch-hard", "embedding_dim": 32})
    return result


def test_triplet_trains_through_the_trainer_and_learns_an_embedding(triplet_run):
    metrics = json.loads((triplet_run.run_dir / "metrics.json").read_text())
    assert metrics["task"] == "embedding" and metrics["monitor"]["metric"] == "val_precision_at_1"
    assert metrics["test_precision_at_1"] >= 0.9 and metrics["test_verification_auc"] >= 0.95
    assert not metrics["test_collapsed"]
    history = triplet_run.history
    for name in ("positive_distance", "negative_distance", "active_triplets", "val_precision_at_1"):
        assert len(history[name]) == 4, name
    assert history["negative_distance"][-1] > history["positive_distance"][-1]
    config = json.loads((triplet_run.run_dir / "config.json").read_text())
    assert config["train"]["model_kwargs"] == {"mining": "batch-hard", "embedding_dim": 32}


def test_the_saved_model_is_raw_pixels_to_unit_embeddings(triplet_run, tmp_path):
    from kerascnn import data
    from kerascnn.nn.saving import load_model

    x = data.load("digits").x_test[:5].astype("float32")
    tasks.get("embedding").write_outputs(tmp_path, triplet_run.model)
    for path in (triplet_run.run_dir / "model.keras", tmp_path / "embedding.keras"):
        model = load_model(path)
        assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 32)
        out = model.predict(x, verbose=0)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_siamese_trains_its_tower_with_the_contrastive_loss(tmp_path):
    from kerascnn.training import train

    result = train("siamese", "digits", epochs=3, run_dir=tmp_path / "run", seed=0, quiet=True,
                   model_kwargs={"tower": "small", "embedding_dim": 16})
    assert result.model.loss.name == "contrastive_loss"
    assert result.metrics["test_precision_at_1"] >= 0.85


def test_export_parity_and_runtime_embeddings(triplet_run, tmp_path, capsys):
    from PIL import Image

    from kerascnn import data
    from kerascnn.export.pipeline import export_model

    report = export_model(triplet_run.run_dir, formats="onnx", quantize="none", out=tmp_path / "export")
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert manifest["task"] == "embedding"
    parity = manifest["artifacts"][0]["parity"]
    assert parity["samples"] > 100 and parity["max_abs_diff"] < 1e-4
    assert parity["min_cosine"] > 0.9999 and parity["neighbour_agreement"] == 1.0
    assert report
    images = data.load("digits").x_test[:2, :, :, 0]
    paths = []
    for k, image in enumerate(images):
        paths.append(tmp_path / f"{k}.png")
        Image.fromarray(image).save(paths[-1])
    assert cli.main(["predict", str(tmp_path / "export" / "model.onnx"), *map(str, paths), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    first, second = out["predictions"]
    assert len(first["embedding"]) == 32 and first["distances"][0] == 0.0
    assert first["distances"][1] == pytest.approx(second["distances"][0]) and first["distances"][1] > 0


def test_training_batches_are_p_by_k_balanced():
    from kerascnn import data

    ds = data.load("digits")
    task = tasks.get("embedding")
    batches = task.pipeline(ds.x_train, ds.y_train, batch_size=32, shuffle=True, seed=0)
    assert len(list(batches)) == -(-len(ds.x_train) // 32)  # as many steps as the trainer's schedule counts
    images, labels = next(iter(batches))
    assert images.shape == (32, 8, 8, 1) and sorted(set(np.unique(labels.numpy(), return_counts=True)[1])) == [4]
    evaluation = next(iter(task.pipeline(ds.x_test, ds.y_test, batch_size=50, shuffle=False, seed=0)))
    np.testing.assert_array_equal(evaluation[1].numpy(), ds.y_test[:50])  # evaluation keeps every image, in order
    with pytest.raises(UsageError, match="at least two examples of every class"):
        task.pipeline(ds.x_train[:3], np.array([0, 0, 1]), batch_size=4, shuffle=True, seed=0)


def test_bad_metric_options_are_one_line(tmp_path):
    from kerascnn.training import train

    for kwargs, message in (({"mining": "hardest"}, "Unknown mining 'hardest'"),
                            ({"loss": "contrastiv"}, "Unknown loss 'contrastiv'")):
        with pytest.raises(UsageError, match=message):
            train("triplet", "digits", epochs=1, run_dir=tmp_path / "run", quiet=True, model_kwargs=kwargs)
        assert not (tmp_path / "run").exists()
    with pytest.raises(UsageError, match="multiworker is not supported"):
        tasks.get("embedding").per_example(None, None)


def test_train_flags_are_shorthands_for_model_arguments():
    from kerascnn.commands import train as train_command

    args = cli.build_parser("train").parse_args(
        ["train", "triplet", "--loss", "angular", "--model-arg", "embedding_dim=8", "--mining", "batch-all",
         "--margin", "0.5", "--tower", "koch", "--embedding-dim", "64"])
    assert train_command.options_from_args(args)["model_kwargs"] == {
        "loss": "angular", "embedding_dim": 64, "mining": "batch-all", "margin": 0.5, "tower": "koch"}
    plain = cli.build_parser("train").parse_args(["train", "lenet5"])
    assert train_command.options_from_args(plain)["model_kwargs"] == {}
