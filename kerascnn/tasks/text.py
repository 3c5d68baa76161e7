"""Text classification: raw sentences in, class probabilities out (Kim 2014).

The trained model is ``TextVectorization`` (adapted on the training sentences
only, so under cross-validation each fold has its own vocabulary) in front of a
zoo model on token ids (:mod:`kerascnn.models.kim_cnn`): ``model.keras``
classifies sentences end to end. String operations do not convert to ONNX or
TFLite, so the **numeric part** (token ids in) is what is exported
(:func:`export_text_model`), with the vocabulary and the standardisation rules
beside it; the TF-free runtime tokenises identically
(:class:`kerascnn.runtime.text.Tokenizer`).

Loss, metrics, the monitored quantity, parity and ``present`` are the image
classifier's (:class:`~kerascnn.tasks.classification.Classification`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.tasks.classification import Classification

#: Kim's (2014) variants: how the word vectors start and whether they train.
VARIANTS = ("rand", "static", "non-static", "multichannel")
#: Layer names inside a trained text model.
VECTORIZER = "text_vectorization"
#: Builder arguments the Task consumes itself (not passed to the zoo builder).
VECTORS_ARG = "vectors"
SEQUENCE_ARG = "sequence_length"


class TextClassification(Classification):
    """Single-label sentence classification (``kerascnn train textcnn --dataset mr``).

    Args:
        samples: for export only: ``(calibrate_ids, verify_ids, description)``
            token-id arrays that :meth:`sample_inputs` returns (set by
            :func:`export_text_model`, which knows the vocabulary).
    """

    name = "text"

    def __init__(self, samples=None, class_names=None):
        self._samples = samples
        self._class_names = class_names

    # ------------------------------------------------------------ training
    def pipeline(self, x, y, *, batch_size: int, shuffle: bool, seed, augment=None, cache: bool = True):
        """``tf.data`` of ``(string sentences, int labels)`` batches (no augmentation for text)."""
        import tensorflow as tf

        if augment:
            raise UsageError("--augment is for images; text models take none.")
        if np.asarray(x).dtype.kind not in "OUS":
            raise UsageError("Text models train on sentences: use a text data set (--dataset mr).")
        ds = tf.data.Dataset.from_tensor_slices((np.asarray(x, dtype=object).astype(str), np.asarray(y)))
        if cache:
            ds = ds.cache()
        if shuffle:
            ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(int(batch_size)).prefetch(tf.data.AUTOTUNE)

    def build_model(self, config, dataset, x_train):
        """``TextVectorization`` adapted on ``x_train`` + the zoo model (vectors from ``model_kwargs["vectors"]``)."""
        return build_text_model(config.model, x_train, classes=dataset.num_classes,
                                model_kwargs=config.model_kwargs, seed=config.seed)

    # ------------------------------------------------------------ export (numeric part)
    def input_signature(self, model):
        if model.inputs[0].dtype == "string":
            raise UsageError("Export the numeric part of a text model: kerascnn.tasks.text.export_text_model "
                             "(strings do not convert to ONNX/TFLite).")
        shape, dtype = super(Classification, self).input_signature(model)
        return shape, dtype

    def sample_inputs(self, source, data_dir, input_shape, verify, calibrate) -> dict:
        if self._samples is None:
            inputs = super(Classification, self).sample_inputs(source, data_dir, input_shape, verify, calibrate)
            inputs["description"] = "random token ids"
            return inputs
        calibrate_ids, verify_ids, description = self._samples
        return {"calibrate": calibrate_ids[:calibrate], "verify": verify_ids[:verify], "description": description,
                "class_names": self._class_names, "input_mean": None}

    def export_artifacts(self, model_path, *, calibration=None, data_dir=None, progress=None, formats=None,
                         quantize=("none",), task=None, opset=None, out=None, force=False, samples=500,
                         calibration_samples=None, **int8_options) -> dict:
        """``kerascnn export RUN``: :func:`export_text_model`, verified on sentences of the run's data set.

        Text models export float32 only (other ``quantize`` modes and the int8 options
        ``int8``, ``max_accuracy_drop``, ``debug_quant`` are skipped and said so).
        """
        from kerascnn import data
        from kerascnn.export import plan_export

        plan = plan_export(model_path, formats=formats, quantize=quantize, task=self, opset=opset, out=out,
                           force=force, samples=samples)
        for mode in quantize if not isinstance(quantize, str) else quantize.split(","):
            if mode != "none" and progress is not None:
                progress(f"skipping {mode}: text models export float32 only")
        for name, value in int8_options.items():
            if value and progress is not None:
                progress(f"ignoring {name}: text models export float32 only")
        source = calibration or plan.run.get("dataset")
        texts, class_names = None, plan.run.get("class_names")
        if data.is_text(source):
            dataset = data.load_text(source, data_dir or plan.run.get("data_dir"))
            chosen = np.random.default_rng(0).permutation(len(dataset.texts))[:samples]
            texts, class_names = [dataset.texts[i] for i in chosen], dataset.class_names
        fmts = sorted({fmt for fmt, precision in plan.artifacts if precision == "fp32"}) or ["onnx"]
        return export_text_model(plan.model_path, out=plan.out, texts=texts, class_names=class_names,
                                 formats=fmts, force=force, samples=samples,
                                 description=f"{source} sentences" if texts else "sentences", progress=progress)

    # ------------------------------------------------------------ runtime (no TensorFlow)
    def example_inputs(self, input_shape, batch, rng=None):
        """Token ids 0 and 1 (padding and [UNK] exist in every vocabulary): valid inputs for timing."""
        rng = rng if rng is not None else np.random.default_rng(0)
        return rng.integers(0, 2, (batch, *input_shape)).astype("int32")

    def load_inputs(self, paths, input_shape, *, warn=None, invert=False, input_mean=None):
        raise UsageError("A text model reads sentences: kerascnn predict MODEL_DIR --text \"a gripping film\".")


def build_text_model(model_name: str, x_train, *, classes: int, model_kwargs=None, seed: int = 0):
    """The end-to-end model: strings -> ``TextVectorization`` (vocabulary of ``x_train``) -> zoo model.

    ``model_kwargs`` go to the builder, except ``vectors`` (a word2vec/GloVe file:
    the initial embedding, :func:`kerascnn.data.vectors.embedding_matrix`) and
    ``sequence_length`` (default: the longest training sentence, in tokens).
    """
    import keras

    from kerascnn import models
    from kerascnn.data.vectors import embedding_matrix
    from kerascnn.runtime.text import SPLIT, STANDARDIZE, Tokenizer

    kwargs = dict(model_kwargs or {})
    vectors = kwargs.pop(VECTORS_ARG, None)
    texts = np.asarray(x_train, dtype=object).astype(str)
    if len(texts) == 0:
        raise UsageError("No training sentences to build a vocabulary from.")
    longest = max(len(Tokenizer.tokens(t)) for t in texts)
    sequence_length = int(kwargs.pop(SEQUENCE_ARG, None) or max(longest, 5))
    counter = keras.layers.TextVectorization(standardize=STANDARDIZE, split=SPLIT, output_mode="int")
    counter.adapt(texts, batch_size=1024)
    vocabulary = [str(token) for token in counter.get_vocabulary()]
    # The vocabulary goes into the layer's config, not its asset file: Keras 3.15 reads that file back with
    # str.splitlines(), which also breaks at NEL (0x85) and form feeds inside MR's tokens and fails to load.
    vectorizer = keras.layers.TextVectorization(standardize=STANDARDIZE, split=SPLIT, output_mode="int",
                                                output_sequence_length=sequence_length, vocabulary=vocabulary,
                                                name=VECTORIZER)
    if vectors is not None:
        kwargs["embeddings"], _found = embedding_matrix(vectors, vocabulary, dim=kwargs.get("embedding_dim", 300),
                                                        seed=seed)
        kwargs.setdefault("variant", "non-static")
    elif kwargs.get("variant", "rand") != "rand":
        raise UsageError(f"--variant {kwargs['variant']} needs pretrained word vectors: --vectors PATH "
                         "(word2vec binary/text or GloVe).")
    numeric = models.build(model_name, vocabulary_size=len(vocabulary), input_shape=(sequence_length,),
                           classes=classes, **kwargs)
    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, numeric(vectorizer(text)), name=f"{numeric.name}_text")


def numeric_part(model):
    """``(numeric model, Tokenizer)`` of a trained text model: what is exported, and how to feed it."""
    from kerascnn.runtime.text import Tokenizer

    try:
        vectorizer = model.get_layer(VECTORIZER)
    except ValueError:
        raise UsageError(f"{model.name} is not a kerascnn text model (no {VECTORIZER!r} layer).") from None
    numeric = [layer for layer in model.layers if hasattr(layer, "layers") and layer is not vectorizer]
    if len(numeric) != 1:
        raise UsageError(f"{model.name}: expected one numeric sub-model after {VECTORIZER!r}.")
    config = vectorizer.get_config()
    return numeric[0], Tokenizer(vectorizer.get_vocabulary(), config["output_sequence_length"])


def export_text_model(model_path, *, out, texts=None, class_names=None, formats=("onnx", "tflite"),
                      force: bool = False, description: str = "sentences", samples: int = 500,
                      progress=None) -> dict:
    """Export a text model: its numeric part to ONNX/TFLite (float32, checked) + ``vocabulary.txt``, ``text.json``.

    Args:
        model_path: a trained text ``model.keras`` (or its run folder).
        out: the export folder (built in a temporary sibling, renamed into place).
        texts: sentences the artifacts are verified on (tokenised by the runtime
            tokeniser, so the check covers it too); ``None``: random token ids.

    Returns:
        The manifest (``task`` is ``"text"``).
    """
    from kerascnn.core.files import atomic_directory, atomic_write_json
    from kerascnn.export import export_model
    from kerascnn.export.manifest import model_entry
    from kerascnn.nn.saving import load_model, resolve_model_path

    model_path = resolve_model_path(model_path)
    model = load_model(model_path)
    numeric, tokenizer = numeric_part(model)
    if texts is not None:
        ids = tokenizer.encode(texts).astype("int32")
        description = f"{min(len(ids), samples)} {description}"
    else:  # ids inside this vocabulary (parity only: random sentences say nothing about accuracy)
        rng = np.random.default_rng(0)
        ids = rng.integers(0, len(tokenizer.vocabulary), (samples, tokenizer.sequence_length)).astype("int32")
        description = "random token ids"
    task = TextClassification(samples=(ids, ids, description), class_names=class_names)
    with atomic_directory(out, force) as folder:
        scratch = Path(folder) / "numeric"
        scratch.mkdir()
        numeric_path = scratch / "model.keras"
        numeric.save(numeric_path)
        exported = Path(folder) / "export"
        inner = None if progress is None else lambda line: None if line.startswith("wrote ") else progress(line)
        manifest = export_model(numeric_path, formats=list(formats), quantize="none", task=task,
                                calibration="sentences", out=exported,
                                samples=samples, progress=inner)
        for item in exported.iterdir():
            item.rename(Path(folder) / item.name)
        exported.rmdir()
        numeric_path.unlink()
        scratch.rmdir()
        tokenizer.save(folder)
        # The manifest names the trained text model (strings in) and the tokeniser that feeds the artifacts.
        manifest["model"] = {**model_entry(model_path, model), "numeric_part": numeric.name,
                             "numeric_input_shape": [None, *numeric.input_shape[1:]]}
        manifest["text"] = tokenizer.rules()
        atomic_write_json(Path(folder) / "manifest.json", manifest)
    if progress is not None:
        progress(f"wrote {out}")
    return manifest


TASK = TextClassification()
