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
    assert isinstance(task.loss(), losses.CosFaceLoss) and model.head.classes == 3
    assert model.embedding.get_layer("tower").get_layer("block4_conv").filters == 128  # the wide tower
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
