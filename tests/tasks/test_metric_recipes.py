"""The embedding Task's large-margin (CosFace / ArcFace) training and its Omniglot recipe: the trainer trains a
ClassifierTrainedEmbedding, embedding.keras leaves the cosine head out, siamese on omniglot gets the recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerascnn import tasks

keras = pytest.importorskip("keras")


def test_cosface_trains_through_the_trainer_and_saves_the_bare_embedding(tmp_path):
    from kerascnn.nn import losses
    from kerascnn.nn.margin_model import ClassifierTrainedEmbedding
    from kerascnn.nn.saving import load_model
    from kerascnn.training import train

    result = train("triplet", "digits", epochs=3, run_dir=tmp_path / "run", seed=0, quiet=True,
                   model_kwargs={"loss": "cosface", "tower": "small", "embedding_dim": 16})
    assert isinstance(result.model, ClassifierTrainedEmbedding) and isinstance(result.model.loss, losses.CosFaceLoss)
    assert result.metrics["test_precision_at_1"] >= 0.8 and not result.metrics["test_collapsed"]
    embedding = load_model(tmp_path / "run" / "embedding.keras")
    assert not any("class_centres" in w.path for w in embedding.weights)  # the head stays behind
    images = np.random.default_rng(0).integers(0, 16, (4, 8, 8, 1)).astype("float32")  # digits: 8x8, 0-16
    np.testing.assert_allclose(embedding.predict(images, verbose=0), result.model.predict(images, verbose=0),
                               atol=1e-6)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["train"]["model_kwargs"]["loss"] == "cosface"
    # `kerascnn export RUN` exports the bare embedding (the wrapper with its head is not an export model).
    tasks.get("embedding").export_artifacts(tmp_path / "run", formats="onnx", quantize="none", out=tmp_path / "export")
    manifest = json.loads((tmp_path / "export" / "manifest.json").read_text())
    parity = manifest["artifacts"][0]["parity"]
    assert manifest["task"] == "embedding" and parity["max_abs_diff"] < 1e-4 and parity["min_cosine"] > 0.9999


def test_siamese_on_omniglot_gets_the_one_shot_recipe():
    from kerascnn.data.base import ImageDataset
    from kerascnn.data.distortions import RandomAffine
    from kerascnn.nn import losses
    from kerascnn.nn.margin_model import ClassifierTrainedEmbedding
    from kerascnn.training.config import TrainConfig

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (12, 28, 28, 1)).astype(np.uint8)
    y = np.repeat(np.arange(3), 4)
    fake = ImageDataset(name="omniglot", x_train=x, y_train=y, x_test=x, y_test=y, class_names=["a", "b", "c"],
                        source="test")
    task = tasks.get("embedding")
    model = task.build_model(TrainConfig(model="siamese", dataset="omniglot"), fake, x)
    assert isinstance(model, ClassifierTrainedEmbedding) and isinstance(model.augment, RandomAffine)
    assert isinstance(task.loss(), losses.CosFaceLoss) and model.head.classes == 3 * 4  # + rotated classes
    tower = model.embedding.get_layer("tower")  # two wide towers side by side, a CosFace head each
    assert tower.get_layer("member2").get_layer("block4_conv").filters == 256 and model.members == 2
    assert tower.output.shape[-1] == 2 * 128 and len(model.member_heads) == 1
    # What the user asks for wins over the recipe; other data sets keep siamese's contrastive default.
    plain = task.build_model(TrainConfig(model="siamese", dataset="omniglot",
                                         model_kwargs={"loss": "contrastive", "tower": "small"}), fake, x)
    assert not isinstance(plain, ClassifierTrainedEmbedding) and isinstance(task.loss(), losses.ContrastiveLoss)
    digits_like = ImageDataset(name="digits", x_train=x, y_train=y, x_test=x, y_test=y, class_names=["a", "b", "c"],
                               source="test")
    task.build_model(TrainConfig(model="siamese", dataset="digits", model_kwargs={"tower": "small"}), digits_like, x)
    assert isinstance(task.loss(), losses.ContrastiveLoss)
    no_distortion = task.build_model(TrainConfig(model="siamese", dataset="omniglot", augment="translate"), fake, x)
    assert no_distortion.augment is None  # --augment given: the pipeline augments, the model does not


def _fake_omniglot(per_class: int = 6, classes: int = 3):
    from kerascnn.data.base import ImageDataset

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (per_class * classes, 28, 28, 1)).astype(np.uint8)
    y = np.repeat(np.arange(classes), per_class)
    return ImageDataset(name="omniglot", x_train=x, y_train=y, x_test=x, y_test=y,
                        class_names=[f"c{k}" for k in range(classes)], source="test")


def test_the_omniglot_recipe_trains_on_rotated_classes(tmp_path):
    """`train siamese --dataset omniglot` = apps/siamese_oneshot.py's recipe: 4 x the classes (k x 90 degrees)."""
    from kerascnn.training import train
    from kerascnn.training.config import TrainConfig

    fake = _fake_omniglot()
    task = tasks.get("embedding")
    x, y = task.training_examples(TrainConfig(model="siamese", dataset="omniglot"), fake, fake.x_train, fake.y_train)
    assert len(x) == 4 * 18 and sorted(set(y.tolist())) == list(range(12))
    np.testing.assert_array_equal(x[y == 4], np.rot90(fake.x_train[fake.y_train == 1], 1, axes=(1, 2)))
    batch_labels = np.concatenate([np.asarray(labels) for _, labels in
                                   task.pipeline(x, y, batch_size=8, shuffle=True, seed=0)])
    assert batch_labels.max() >= 3  # the P x K batches draw rotated classes too
    # Through the trainer: the CosFace head is built for the rotated classes and training sees them.
    result = train("siamese", fake, epochs=1, steps_per_epoch=1, batch_size=8, validation_split=0, seed=0,
                   quiet=True, run_dir=tmp_path / "run")
    assert result.model.head.classes == 12 and result.metrics["train_samples"] == 72
    # After fit, the recipe's within-class whitening is fitted on those 72 drawings and saved with the embedding.
    from kerascnn.nn import whitening
    from kerascnn.nn.saving import load_model

    fitted = whitening.whitening_layer(result.model.embedding)
    assert fitted.shrinkage == 0.3 and not np.allclose(fitted.matrix.numpy(), np.eye(256), atol=1e-3)
    saved = whitening.whitening_layer(load_model(tmp_path / "run" / "embedding.keras"))
    np.testing.assert_allclose(saved.matrix.numpy(), fitted.matrix.numpy())
    with pytest.raises(ValueError, match="shrinkage"):
        task.build_model(TrainConfig(model="siamese", dataset="omniglot", model_kwargs={"whiten": 2}), fake,
                         fake.x_train)
    # --rotations 1 (or any other data set) keeps the classes; a bad value is one line.
    unrotated = TrainConfig(model="siamese", dataset="omniglot", model_kwargs={"rotations": 1})
    assert task.training_examples(unrotated, fake, fake.x_train, fake.y_train)[0] is fake.x_train
    with pytest.raises(ValueError, match="rotations"):
        task.training_examples(TrainConfig(model="siamese", dataset="omniglot", model_kwargs={"rotations": 5}),
                               fake, fake.x_train, fake.y_train)


def test_the_omniglot_recipe_sets_epochs_batch_and_learning_rate(tmp_path):
    """The plain `kerascnn train siamese --dataset omniglot` trains the app's 20 x 128 at 2e-3; flags given win."""
    from kerascnn.commands import train as train_command
    from kerascnn.training import train

    task = tasks.get("embedding")
    assert task.training_defaults("siamese", "omniglot") == {"epochs": 20, "batch_size": 128, "lr": 2e-3}
    assert task.training_defaults("triplet", "omniglot") == {} and task.training_defaults("siamese", "mnist") == {}
    assert tasks.get("classification").training_defaults("lenet5", "mnist") == {}
    # The command leaves out what the user did not give, so the trainer can apply the recipe.
    parser = __import__("argparse").ArgumentParser()
    train_command.add_arguments(parser)
    unset = train_command.options_from_args(parser.parse_args(["siamese", "--dataset", "omniglot"]))
    given = train_command.options_from_args(parser.parse_args(["siamese", "--batch-size", "16"]))
    assert "batch_size" not in unset and given["batch_size"] == 16
    # Through the trainer: recipe under the caller's options (a fake omniglot, 1 step).
    result = train("siamese", _fake_omniglot(), epochs=1, steps_per_epoch=1, validation_split=0, seed=0, quiet=True,
                   run_dir=tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())["train"]
    assert (config["epochs"], config["batch_size"], config["lr"]) == (1, 128, 2e-3)
    assert result.metrics["epochs_completed"] == 1


def test_cosface_trains_on_shuffled_batches_and_metric_losses_on_p_by_k():
    """Classification-style losses see as many classes per batch as possible; mined losses get P x K batches."""
    from kerascnn.training.config import TrainConfig

    fake = _fake_omniglot(per_class=8, classes=16)
    task = tasks.get("embedding")

    def batches(loss):
        config = TrainConfig(model="triplet", dataset="omniglot", model_kwargs={"loss": loss, "tower": "small"})
        x, y = task.training_examples(config, fake, fake.x_train, fake.y_train)
        return [np.asarray(labels) for _, labels in task.pipeline(x, y, batch_size=16, shuffle=True, seed=0)]

    for labels in batches("triplet"):  # 4 classes x 4 drawings
        assert sorted(np.unique(labels, return_counts=True)[1].tolist()) == [4, 4, 4, 4]
    shuffled = batches("cosface")
    assert sum(len(labels) for labels in shuffled) == 128  # one pass over every image, each once
    assert np.mean([len(np.unique(labels)) for labels in shuffled]) > 8  # not 4 classes x 4
