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
* ``--mixed-precision bfloat16``: Keras' ``mixed_bfloat16`` (Kalamkar et al. 2019, "A Study
  of BFLOAT16 for Deep Learning Training"): float32's exponent range with 8 bits of
  mantissa, so no loss scaling. CPUs with AVX512-BF16 or AMX-BF16 run its matmuls and
  convolutions in hardware (oneDNN): the one-shot Omniglot recipe takes 1.3x less CPU time
  at the same accuracy; elsewhere it is emulated and slower, and training says so.
* The memory check: the training model's plan (:mod:`kerascnn.analysis.memory`) at the
  batch size must fit ``--memory-budget``, or this machine's available memory on a CPU
  (a GPU's memory is not what ``/proc/meminfo`` reports: there the check needs
  ``--memory-budget``). A batch that does not fit is refused in one line naming the
  largest that does, before the run folder is touched.
"""

from __future__ import annotations

import contextlib

from kerascnn.core.errors import UsageError

POLICIES = {"float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}  # --mixed-precision DTYPE -> Keras policy


def mixed_dtype(mixed) -> str | None:
    """The 16-bit type of a ``mixed_precision`` setting: ``False`` -> ``None``, ``True`` or ``"float16"`` ->
    ``"float16"``, ``"bfloat16"`` -> ``"bfloat16"``."""
    if mixed is None or mixed is False:
        return None
    if mixed is True:
        return "float16"
    if mixed not in POLICIES:
        raise UsageError(f"`mixed_precision` must be False, True (float16), 'float16' or 'bfloat16'. "
                         f"Received: mixed_precision={mixed!r}")
    return mixed


@contextlib.contextmanager
def precision(mixed):
    """Build (and compile) models under ``mixed_float16`` / ``mixed_bfloat16`` inside the block when ``mixed`` says
    so (see :func:`mixed_dtype`); the global dtype policy is restored afterwards (layers keep the policy they were
    built with)."""
    dtype = mixed_dtype(mixed)
    if dtype is None:
        yield
        return
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(POLICIES[dtype])
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


def float32_copy(model):
    """A version of ``model`` whose every layer computes in float32: ``model`` itself if it already does, else a copy
    built from its config with each ``mixed_float16`` / ``mixed_bfloat16`` policy replaced by ``float32``, holding
    the same (float32) weights. The exporters take this copy: TFLite and ONNX have no 16-bit variants of most of the ops a
    mixed-precision model is traced into, and float32 is what the artifacts compute anyway.

    Returns:
        ``(model, policy)``: the float32 model and the mixed policy it replaced (``None`` if none).
    """
    import keras

    found = set()

    def to_float32(node):
        if isinstance(node, dict):
            if node.get("class_name") == "DTypePolicy" and str(node.get("config", {}).get("name", "")).startswith(
                    "mixed_"):
                found.add(node["config"]["name"])
                return {**node, "config": {**node["config"], "name": "float32"}}
            return {key: to_float32(value) for key, value in node.items()}
        if isinstance(node, list):
            return [to_float32(value) for value in node]
        return node

    config = to_float32(keras.saving.serialize_keras_object(model))
    if not found:
        return model, None
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy, sorted(found)[0]


def mixed_precision_note(mixed) -> str | None:
    """One line of warning when the 16-bit type of ``mixed`` (see :func:`mixed_dtype`) runs slower than float32
    here (no GPU; for bfloat16: a CPU without AVX512-BF16 / AMX-BF16), else ``None`` (also for float32)."""
    dtype = mixed_dtype(mixed)
    if dtype is None:
        return None
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return None
    if dtype == "bfloat16":
        from kerascnn.bench.machine import isa_flags

        if isa_flags()["bf16"]:
            return None
        return ("--mixed-precision bfloat16 on a CPU without AVX512-BF16 or AMX-BF16: bfloat16 is emulated there and "
                "the run is slower than float32 (it still halves activation memory).")
    return ("--mixed-precision on a CPU: float16 kernels are emulated there and the run is slower than "
            "float32 (it still halves activation memory); it pays off on GPUs with tensor cores, and on CPUs with "
            "AVX512-BF16 or AMX-BF16 --mixed-precision bfloat16 does.")


def check_mixed_precision(model, sample, mixed=True) -> None:
    """On a CPU, run one forward and backward pass of ``model`` on ``sample`` (no update) and refuse
    ``--mixed-precision`` in one line when TensorFlow lacks a 16-bit CPU kernel the model needs
    (float16 ``MaxPool3D``: every 3D CNN with max pooling). On a GPU: nothing to check."""
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
        dtype = mixed_dtype(mixed)
        raise UsageError(f"--mixed-precision {dtype} is not supported on this CPU for {model.name}: TensorFlow has "
                         f"no {dtype} CPU kernel for {op}; drop --mixed-precision (or train on a GPU).") from None


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
