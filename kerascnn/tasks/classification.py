"""Image classification: raw pixels in, class probabilities out (softmax head).

The first Task and today's whole pipeline: LeNet-5 through MobileNet trained with
sparse categorical cross-entropy, the best epoch by validation accuracy, int8
calibrated on training images and verified on test images, parity as max |diff|
plus top-1 agreement, and ``kerascnn predict`` printing the top-k classes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.tasks.base import RANDOM, Task


class Classification(Task):
    """Single-label classification of images (``(H, W, C)`` raw pixels 0-255)."""

    name = "classification"
    monitor = ("accuracy", "max")

    # ------------------------------------------------------------ training
    def build_model(self, config, dataset, x_train):
        from kerascnn import models
        from kerascnn.training.modeling import build_training_model, channel_statistics

        expected = models.get_spec(config.model).default_input_shape
        if len(expected) != len(dataset.input_shape):
            shape = "x".join(map(str, dataset.input_shape))
            raise UsageError(
                f"{config.model} takes samples like {'x'.join(map(str, expected))} but {dataset.name} holds "
                f"{shape} samples ({len(dataset.input_shape)} axes, not {len(expected)}): pick a model for this "
                "kind of data (`kerascnn models`)."
            )

        mean, variance = channel_statistics(x_train)
        return build_training_model(
            config.model,
            image_shape=dataset.input_shape,
            num_classes=dataset.num_classes,
            mean=mean,
            variance=variance,
            input_size=config.input_size,
            model_kwargs=config.model_kwargs,
            init_from=config.init_from,
            new_head=config.new_head,
            freeze=config.freeze,
            weights=config.weights,
            weight_decay=0.0 if config.optimizer == "adamw" else config.weight_decay,
            l1=config.l1,
            name=f"{config.model}_{dataset.name}".replace(":", "_").replace("/", "_"),
        )

    def loss(self, reduction: str | None = "sum_over_batch_size"):
        """Sparse categorical cross-entropy on softmax probabilities (integer class labels)."""
        import keras

        return keras.losses.SparseCategoricalCrossentropy(reduction=reduction, name="loss")

    def metrics(self) -> list:
        return ["accuracy"]

    def per_example(self, labels, outputs) -> dict:
        import tensorflow as tf

        labels = tf.cast(labels, tf.int64)
        predicted = tf.argmax(outputs, axis=-1, output_type=tf.int64)
        return {
            "loss": self.loss(reduction=None)(labels, outputs),  # the same objective fit uses, per example
            "accuracy": tf.cast(tf.equal(predicted, labels), tf.float32),
        }

    def headline(self, metrics: dict) -> str:
        return f"test accuracy {metrics['test_accuracy']:.2%} (loss {metrics['test_loss']:.4f})"

    # ------------------------------------------------------------ export
    def input_signature(self, model):
        shape, dtype = super().input_signature(model)
        if len(shape) != 3:
            raise UsageError(f"An image classifier needs an (H, W, C) input. Received input shape: {model.input_shape}")
        return shape, dtype

    def sample_inputs(self, source, data_dir, input_shape, verify, calibrate) -> dict:
        """Training images calibrate, test images verify (disjoint), fitted to the model's input."""
        if source == RANDOM:
            inputs = super().sample_inputs(source, data_dir, input_shape, verify, calibrate)
            inputs["description"] = "uniform random pixels 0-255"
            return inputs
        from kerascnn import data

        rng = np.random.default_rng(0)
        dataset = data.load(source, data_dir)
        train, test, test_labels = dataset.x_train, dataset.x_test, dataset.y_test
        if len(test) == 0:  # data sets without a test split: verify on the tail, calibrate on the head
            half = len(train) // 2
            train, test, test_labels = train[:half], train[half:], dataset.y_train[half:]
        chosen = rng.permutation(len(test))[:verify]
        verify_x = test[chosen]
        calibrate_x = train[rng.permutation(len(train))[:calibrate]]
        description = f"{dataset.name} ({dataset.source})"
        if verify_x.shape[1:] != tuple(input_shape):
            description += f", images {'x'.join(map(str, verify_x.shape[1:]))} -> {'x'.join(map(str, input_shape))}"
        return {
            "calibrate": fit_images(calibrate_x, input_shape),
            "verify": fit_images(verify_x, input_shape),
            "description": description,
            "verify_labels": np.asarray(test_labels)[chosen],  # top-1 accuracy (export --max-accuracy-drop)
            "class_names": list(dataset.class_names),
            # The training images' mean pixel: predict warns when an image's polarity is the opposite.
            "input_mean": float(dataset.x_train.mean()),
        }

    def compare(self, reference, outputs) -> dict:
        parity = super().compare(reference, outputs)
        flat_out = outputs.reshape(len(outputs), -1)
        flat_ref = reference.reshape(len(reference), -1)
        parity["top1_agreement"] = float(np.mean(flat_out.argmax(1) == flat_ref.argmax(1)))
        return {"max_abs_diff": parity["max_abs_diff"], "top1_agreement": parity["top1_agreement"],
                "samples": parity["samples"]}

    def parity_summary(self, parity: dict, precision: str) -> str:
        if precision == "fp32":
            return super().parity_summary(parity, precision)
        return f"top-1 agree {parity['top1_agreement']:.1%}"

    # ------------------------------------------------------------ runtime (no TensorFlow)
    def load_inputs(
        self, paths: Sequence[str | os.PathLike], input_shape, *, warn=None, invert: bool = False,
        input_mean: float | None = None,
    ) -> np.ndarray:
        from kerascnn.runtime import images

        return images.load_images(paths, input_shape, invert=invert, input_mean=input_mean, warn=warn)

    def present(self, outputs, *, labels=None, k: int = 5) -> list[dict]:
        from kerascnn.runtime.labels import top_k

        return [{"top_k": top_k(row, k, labels)} for row in outputs]

    def format_record(self, record: dict) -> str:
        return "  ".join(f"{p['label']} {p['probability']:.1%}" for p in record["top_k"])


def fit_images(x: np.ndarray, input_shape) -> np.ndarray:
    """uint8 NHWC images -> float32 raw pixels of the model's (H, W, C).

    Grey images are repeated to 3 channels (RGB to grey by luminance) and resized
    with antialiased bilinear interpolation when the size differs.
    """
    import tensorflow as tf

    x = x.astype("float32")
    height, width, channels = input_shape
    if x.shape[3] != channels:
        if x.shape[3] == 1 and channels == 3:
            x = np.repeat(x, 3, axis=3)
        elif x.shape[3] == 3 and channels == 1:
            x = tf.image.rgb_to_grayscale(x).numpy()
        else:
            raise UsageError(f"Cannot feed {x.shape[3]}-channel calibration images to a {channels}-channel model.")
    if x.shape[1:3] != (height, width):
        x = tf.image.resize(x, (height, width), antialias=True).numpy()
    return np.clip(x, 0, 255).astype("float32")


TASK = Classification()
