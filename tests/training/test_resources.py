"""What a run asks of the machine: the memory check before anything is written, mixed precision, 3D augmentation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kerascnn.core.errors import UsageError


def test_train_refuses_a_batch_over_the_budget_before_writing(tmp_path, capsys):
    from kerascnn.cli import main

    run_dir = tmp_path / "run"
    argv = ["train", "lenet5", "--epochs", "1", "--run-dir", str(run_dir), "--quiet"]
    assert main([*argv, "--batch-size", "512", "--memory-budget", "3MB"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerascnn train: error: lenet5 at --batch-size 512 needs about") and "\n" not in err
    assert "more than the --memory-budget (3.0 MB)" in err
    largest = int(err.rsplit("the largest batch that fits is ", 1)[1].rstrip("."))
    assert 0 < largest < 512
    assert not run_dir.exists()  # nothing written
    assert main([*argv, "--batch-size", "64", "--memory-budget", "nonsense"]) == 2
    assert "Expected a memory size like 8GiB" in capsys.readouterr().err


def test_the_planned_largest_batch_is_the_edge(tmp_path):
    from kerascnn.analysis import memory
    from kerascnn.training.config import TrainConfig
    from kerascnn.training.resources import check_memory
    from kerascnn.training.trainer import compile_model
    from kerascnn import data

    dataset = data.load("digits")
    config = TrainConfig.from_options("lenet5", "digits", batch_size=8, memory_budget="3MB")
    model = compile_model(config, dataset, dataset.x_train, 1e-3)
    largest = memory.plan(model, 1).largest_batch(3 * 10**6)
    check_memory(TrainConfig.from_options("lenet5", "digits", batch_size=largest, memory_budget="3MB"), model)
    with pytest.raises(UsageError, match=f"the largest batch that fits is {largest}\\.$"):
        check_memory(TrainConfig.from_options("lenet5", "digits", batch_size=largest + 1, memory_budget="3MB"), model)
    with pytest.raises(UsageError, match="not even one example fits"):
        check_memory(TrainConfig.from_options("lenet5", "digits", memory_budget="1kB"), model)


def test_mixed_precision_trains_with_float16_layers_and_float32_outputs(tmp_path, capsys):
    import keras

    from kerascnn.training import train

    result = train("lenet5", "digits", run_dir=tmp_path / "run", epochs=1, steps_per_epoch=3, seed=0, quiet=True,
                   mixed_precision=True)
    model = result.model
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    policies = {layer.dtype_policy.name for layer in model.layers if layer.name != "float32_output"}
    assert "mixed_float16" in policies
    assert model.output.dtype == "float32" and model.layers[-1].name == "float32_output"
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    assert np.isfinite(result.metrics["test_loss"])
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["train"]["mixed_precision"] is True and "--mixed-precision" in record["command"]
    assert "--mixed-precision on a CPU" in capsys.readouterr().err  # this test machine has no GPU
    from kerascnn.nn.saving import load_model

    loaded = load_model(tmp_path / "run" / "model.keras")
    x = result.model.inputs[0]
    np.testing.assert_allclose(loaded.predict(np.zeros((2, *x.shape[1:]), "float32"), verbose=0),
                               model.predict(np.zeros((2, *x.shape[1:]), "float32"), verbose=0), atol=1e-3)


def test_bfloat16_trains_without_loss_scaling_and_warns_only_on_cpus_without_bf16_units(tmp_path, capsys):
    from kerascnn.bench.machine import isa_flags
    from kerascnn.training import train

    result = train("lenet5", "digits", run_dir=tmp_path / "run", epochs=1, steps_per_epoch=3, seed=0, quiet=True,
                   mixed_precision="bfloat16")
    model = result.model
    policies = {layer.dtype_policy.name for layer in model.layers if layer.name != "float32_output"}
    assert "mixed_bfloat16" in policies and model.output.dtype == "float32"
    assert type(model.optimizer).__name__ != "LossScaleOptimizer"  # bfloat16 has float32's exponent range
    assert np.isfinite(result.metrics["test_loss"]) and result.metrics["test_accuracy"] > 0.1
    record = json.loads((tmp_path / "run" / "config.json").read_text())
    assert record["train"]["mixed_precision"] == "bfloat16" and "--mixed-precision bfloat16" in record["command"]
    warned = "--mixed-precision bfloat16 on a CPU without AVX512-BF16" in capsys.readouterr().err
    assert warned is not isa_flags()["bf16"]  # this test machine has no GPU

    # It exports: TFLite and ONNX get (and are checked against) a float32 copy of the bfloat16 model.
    from kerascnn.export import export_model

    manifest = export_model(tmp_path / "run", formats="onnx", quantize=["none"], out=tmp_path / "export", samples=20)
    (artifact,) = manifest["artifacts"]
    assert artifact["parity"]["max_abs_diff"] < 1e-5 and artifact["parity"]["top1_agreement"] == 1.0


def test_float32_copy_of_a_mixed_model_keeps_the_weights_and_computes_in_float32():
    import keras

    from kerascnn.models.siamese import triplet
    from kerascnn.training.resources import float32_copy, precision

    with precision("bfloat16"):
        mixed = triplet(input_shape=(28, 28, 1), tower="small", embedding_dim=16, members=2)
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in mixed.get_layer("member1").layers)
    copy, policy = float32_copy(mixed)
    assert policy == "mixed_bfloat16" and copy is not mixed
    nested = [layer for member in ("member1", "member2") for layer in copy.get_layer(member).layers]
    assert {layer.dtype_policy.name for layer in nested + copy.layers} == {"float32"}
    for before, after in zip(mixed.weights, copy.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(before), keras.ops.convert_to_numpy(after))
    x = np.random.default_rng(0).uniform(0, 1, (4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(copy.predict(x, verbose=0), mixed.predict(x, verbose=0), atol=0.05)  # bf16: 8 bits
    assert float32_copy(copy) == (copy, None)  # already float32: the model itself


@pytest.mark.parametrize("has_bf16", [True, False])
def test_the_mixed_precision_note_reads_the_cpu_flags(monkeypatch, has_bf16):
    from kerascnn.bench import machine
    from kerascnn.training.resources import mixed_precision_note

    monkeypatch.setattr(machine, "isa_flags", lambda: {"bf16": has_bf16})
    assert (mixed_precision_note("bfloat16") is None) is has_bf16
    assert "float16 kernels are emulated" in mixed_precision_note(True)  # float16 is emulated on every CPU
    assert mixed_precision_note(False) is None  # float32: nothing to say


@pytest.mark.parametrize("value, stored", [(False, False), (True, True), ("float16", True), ("bfloat16", "bfloat16")])
def test_mixed_precision_values(value, stored):
    from kerascnn.training.config import TrainConfig

    assert TrainConfig.from_options("lenet5", "digits", mixed_precision=value).mixed_precision == stored


def test_an_unknown_mixed_precision_type_is_one_line(capsys):
    from kerascnn import cli
    from kerascnn.training.config import TrainConfig

    with pytest.raises(UsageError, match="must be False, True \\(float16\\), 'float16' or 'bfloat16'"):
        TrainConfig.from_options("lenet5", "digits", mixed_precision="fp8")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["train", "lenet5", "--mixed-precision", "fp8"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid choice: 'fp8'" in err


def test_volumes_train_with_3d_augmentation_and_refuse_2d_items(tmp_path):
    from kerascnn.data import moving_mnist
    from kerascnn.data.base import VolumeDataset
    from kerascnn.training import train

    rng = np.random.default_rng(0)
    digits = rng.integers(0, 256, (40, 28, 28)).astype(np.uint8)
    x, y = moving_mnist.make_clips(digits, frames=4, size=32, speed=2, seed=0)
    clips = VolumeDataset("clips", x[:32], y[:32], x[32:], y[32:], list(moving_mnist.DIRECTIONS), "noise")
    options = dict(epochs=1, batch_size=16, seed=0, quiet=True, model_kwargs={"width": 2, "fc_units": 8})
    result = train("c3d", clips, run_dir=tmp_path / "run", augment="scale:0.1,noise:4", **options)
    assert result.metrics["epochs_completed"] == 1
    with pytest.raises(UsageError, match="'rotate' is a 2D \\(image\\) augmentation"):
        train("c3d", clips, run_dir=tmp_path / "other", augment="rotate:10", **options)
    assert not (tmp_path / "other").exists()
    with pytest.raises(UsageError, match="'flip_d' is a 3D augmentation"):
        train("lenet5", "digits", run_dir=tmp_path / "other", augment="flip_d", epochs=1)
    import tensorflow as tf

    if not tf.config.list_logical_devices("GPU"):  # TensorFlow has no float16 MaxPool3D kernel on CPUs
        with pytest.raises(UsageError, match="no float16 CPU kernel for MaxPool3D; drop --mixed-precision"):
            train("c3d", clips, run_dir=tmp_path / "other", mixed_precision=True, **options)
        assert not (tmp_path / "other").exists()


def test_mixed_precision_margin_model_keeps_its_head_and_loss_in_float32():
    import keras

    from kerascnn.nn import losses
    from kerascnn.nn.margin_model import ClassifierTrainedEmbedding
    from kerascnn.training.resources import float32_output, precision

    with precision(True):
        inputs = keras.Input((6,))
        embedding = keras.Model(inputs, keras.layers.UnitNormalization()(keras.layers.Dense(4)(inputs)))
        model = float32_output(ClassifierTrainedEmbedding(embedding, classes=3, name="wrapper"))
        model.compile(optimizer="adam", loss=losses.ArcFaceLoss(scale=16, margin=0.3))
    assert isinstance(model, ClassifierTrainedEmbedding) and model.name == "wrapper" and model.classes == 3
    assert model.embedding.layers[-1].name == "float32_output" and model.embedding.output.dtype == "float32"
    assert model.embedding.layers[2].dtype_policy.name == "mixed_float16"  # the network still computes in float16
    assert model.head.dtype_policy.name == "float32"
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1])
    embeddings = model(x)
    cosines = model.head(embeddings)
    assert embeddings.dtype == cosines.dtype == "float32"
    loss = model.compute_loss(x, labels, embeddings)
    assert loss.dtype == "float32"
    expected = losses.arcface_loss(labels, cosines, scale=16, margin=0.3)
    assert float(loss) == pytest.approx(float(keras.ops.mean(expected)), rel=1e-6)


def test_mixed_precision_trains_a_cosface_embedding(tmp_path):
    from kerascnn.nn.margin_model import ClassifierTrainedEmbedding
    from kerascnn.nn.saving import load_model
    from kerascnn.training import train

    result = train("siamese", "digits", run_dir=tmp_path / "run", epochs=1, steps_per_epoch=2, seed=0, quiet=True,
                   mixed_precision=True, model_kwargs={"loss": "cosface", "tower": "small"})
    model = result.model
    assert isinstance(model, ClassifierTrainedEmbedding) and type(model.optimizer).__name__ == "LossScaleOptimizer"
    assert model.head.dtype_policy.name == "float32" and model.head.classes == 10
    assert np.isfinite(result.history["loss"]).all() and result.metrics["test_precision_at_1"] > 0.2
    embedding = load_model(tmp_path / "run" / "embedding.keras")
    images = result.model.embedding.inputs[0]
    sample = np.random.default_rng(0).uniform(0, 16, (3, *images.shape[1:])).astype("float32")
    vectors = embedding.predict(sample, verbose=0)
    assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-2)
    np.testing.assert_allclose(vectors, model.predict(sample, verbose=0), atol=1e-3)
