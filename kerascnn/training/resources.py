"""What a run asks of the machine, settled before anything is written: precision and memory.

* ``--mixed-precision`` (Micikevicius et al. 2018, "Mixed Precision Training"): the model is
  built under Keras' ``mixed_float16`` policy — float16 activations and matmuls, float32
  weights, dynamic loss scaling (``compile`` wraps the optimizer in a
  ``LossScaleOptimizer``) — and its output is cast back to float32, as the Keras guide
  advises (a float16 softmax loses small probabilities). Activations take half the memory.
  It pays off on GPUs with float16 units (tensor cores); CPUs emulate most float16 kernels
  and run slower, so training says so on a machine without a GPU — and some float16 kernels
  do not exist on CPUs at all (``MaxPool3D``: voxnet, c3d), which one probe step finds and
  refuses in one line before anything is written.
* The memory check: the training model's plan (:mod:`kerascnn.analysis.memory`) at the
  batch size must fit ``--memory-budget``, or this machine's available memory on a CPU
  (a GPU's memory is not what ``/proc/meminfo`` reports: there the check needs
  ``--memory-budget``). A batch that does not fit is refused in one line naming the
  largest that does, before the run folder is touched.
"""

from __future__ import annotations

import contextlib

from kerascnn.core.errors import UsageError

MIXED_POLICY = "mixed_float16"


@contextlib.contextmanager
def precision(mixed: bool):
    """Build (and compile) models under ``mixed_float16`` inside the block when ``mixed``; the global
    dtype policy is restored afterwards (layers keep the policy they were built with)."""
    if not mixed:
        yield
        return
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(MIXED_POLICY)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def float32_output(model):
    """``model`` with its single float16 output cast to float32 (unchanged otherwise).

    A :class:`~kerascnn.nn.margin_model.ClassifierTrainedEmbedding` (CosFace / ArcFace; a subclassed
    model) gets its embedding network's output cast, so its predictions, the saved ``embedding.keras``
    and the loss on its (float32) cosine head are float32.
    """
    import keras

    from kerascnn.nn.margin_model import ClassifierTrainedEmbedding

    if isinstance(model, ClassifierTrainedEmbedding):
        return model.with_embedding(float32_output(model.embedding))
    if len(model.outputs) != 1 or model.outputs[0].dtype == "float32":
        return model
    output = keras.layers.Activation("linear", dtype="float32", name="float32_output")(model.outputs[0])
    return keras.Model(model.inputs, output, name=model.name)


def mixed_precision_note() -> str | None:
    """One line of warning when mixed precision runs without a GPU, else ``None``."""
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return None
    return ("--mixed-precision on a CPU: float16 kernels are emulated there and the run is slower than "
            "float32 (it still halves activation memory); it pays off on GPUs with tensor cores.")


def check_mixed_precision(model, sample) -> None:
    """On a CPU, run one forward and backward pass of ``model`` on ``sample`` (no update) and refuse
    ``--mixed-precision`` in one line when TensorFlow lacks a float16 CPU kernel the model needs
    (``MaxPool3D``: every 3D CNN with max pooling). On a GPU: nothing to check."""
    import re
    import warnings

    import numpy as np
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return
    sample = np.asarray(sample)
    sample = sample if sample.dtype.kind in "OUS" else sample.astype("float32")  # the pipeline's float32
    try:
        with tf.GradientTape() as tape, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras' note on a list-input model called with a tensor
            total = tf.reduce_sum(tf.cast(model(sample, training=False), tf.float32))
        tape.gradient(total, model.trainable_variables)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, tf.errors.UnimplementedError) as err:
        found = re.search(r"(?:Op '|registered for op )(\w+)", str(err))
        op = found.group(1) if found else "an op of this model"
        raise UsageError(f"--mixed-precision is not supported on this CPU for {model.name}: TensorFlow has no float16 "
                         f"CPU kernel for {op}; drop --mixed-precision (or train on a GPU).") from None


def check_memory(config, model, *, replicas: int = 1) -> None:
    """Refuse ``config.batch_size`` when the training plan of ``model`` exceeds the budget (see the module doc).

    Models the planner cannot walk (subclassed models, string inputs) are not checked.
    """
    import tensorflow as tf

    from kerascnn.analysis import memory

    on_gpu = bool(tf.config.list_logical_devices("GPU"))
    if on_gpu and config.memory_budget is None:
        return
    # On a CPU every replica shares the machine's memory: plan the global batch; on GPUs, one replica's.
    batch = max(1, config.batch_size // replicas) if on_gpu else config.batch_size
    try:
        estimate = memory.plan(model, batch, optimizer=config.optimizer,
                               bytes_per_value=2 if config.mixed_precision else 4)
    except (UsageError, ValueError, TypeError, AttributeError):
        return
    memory.check_fits(config.model, estimate, memory.budget(config.memory_budget), batch_flag="--batch-size")
