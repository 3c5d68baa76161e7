"""Metric learning (the ``embedding`` Task): raw pixels in, an L2-normalised embedding out.

The zoo's ``triplet``, ``siamese`` and ``facenet_nn1`` models have this task. The
trained model *is* the embedding network: one image in, a unit vector out, so
similar images land close (Schroff et al. 2015; Koch et al. 2015). Training
compiles it with a metric loss of :mod:`kerascnn.nn.losses` on ``(labels,
embeddings)`` with in-batch mining; ``siamese`` trains its shared tower on every
pair of the batch with the contrastive loss (Hadsell et al. 2006). With ``loss=cosface``
or ``arcface`` (Wang et al. 2018; Deng et al. 2019) the embedding is trained like a
classifier through a cosine head over the training classes
(:class:`kerascnn.nn.margin_model.ClassifierTrainedEmbedding`); the saved
``embedding.keras`` leaves that head out.

On Omniglot, ``siamese`` defaults to the one-shot recipe of ``apps/siamese_oneshot.py``
(:data:`RECIPES`, :data:`TRAINING_RECIPES`): CosFace on two ``wide`` towers (an ensemble trained
side by side, ``members=2``) with Koch et al.'s affine distortions, and every training character
turned by 90, 180 and 270 degrees as a new class (:meth:`Embedding.training_examples`, Vinyals et
al. 2016), so the cosine heads have 4 x the data set's classes; 20 epochs of 128 at 2e-3; then
the embedding's within-class whitening (Hatch et al. 2006) is fitted on the training split
(:meth:`Embedding.after_training`).

Metric options travel in ``model_kwargs`` (``--model-arg loss=triplet --model-arg
mining=batch-hard --model-arg margin=0.2``; recorded in ``config.json``): the Task
takes ``loss`` (:data:`kerascnn.nn.losses.LOSSES`), ``mining``, ``margin``, ``rotations``
(1-4: rotated copies of every training class as new classes; default 1) and ``whiten`` (a
shrinkage in [0, 1]: after training, the embedding's within-class covariance normalisation is
fitted on the training split, :mod:`kerascnn.nn.whitening`; default none); the rest go to
the builder (``tower``, ``embedding_dim``, ``members``: an ensemble of towers). Training
batches are P classes x K = 4 examples (:meth:`Embedding.pipeline`), so every anchor has
positives to mine.

Logged each epoch: precision@1 inside the batch (the monitored quantity), the mean
positive and negative squared distances and the fraction of active triplets.
Test scores: retrieval (precision@1, recall@5, R-precision, MAP@R over the whole
test split) and verification on 2,000 test pairs (ROC AUC, EER), and a collapse
warning when all embeddings fall together.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from kerascnn.core.errors import UsageError
from kerascnn.tasks.base import Task

#: ``model_kwargs`` keys the Task consumes (the rest are builder arguments).
METRIC_OPTIONS = ("loss", "mining", "margin", "rotations", "whiten")
DEFAULT_LOSS = {"siamese": "contrastive"}  # every other embedding model: the triplet loss
DEFAULT_MINING = "semi-hard"
EXAMPLES_PER_CLASS = 4  # K of the P x K training batches (Hermans et al. 2017)
EMBEDDING_FILE = "embedding.keras"
VERIFICATION_PAIRS = 2000
#: Mean negative squared distance below which the embedding counts as collapsed (unit sphere: 0..4).
COLLAPSE_DISTANCE = 1e-3
#: ``kerascnn train siamese --dataset omniglot``: the one-shot recipe measured with apps/siamese_oneshot.py
#: (README, "One-shot Omniglot benchmark"); ``--loss``, ``--tower``, ``--members``, ``--margin`` ... given by the
#: user win. With a CosFace / ArcFace loss and no ``--augment``, Koch et al.'s random affine distortions run in
#: training; ``rotations`` x 90 degrees turns make new classes of the training split (``--model-arg rotations=1``:
#: none); ``whiten``: the shrinkage of the within-class whitening fitted after training (``--whiten 1``: none).
RECIPES = {("siamese", "omniglot"): {"loss": "cosface", "tower": "wide", "members": 2, "rotations": 4,
                                     "whiten": 0.3}}
#: The same recipe's training options (:meth:`Embedding.training_defaults`; ``--epochs`` ... given by the user win):
#: the app's 20 epochs of batches of 128, Adam at 2e-3 with the default cosine decay.
TRAINING_RECIPES = {("siamese", "omniglot"): {"epochs": 20, "batch_size": 128, "lr": 2e-3}}


def split_options(model_name: str, model_kwargs: dict) -> tuple[dict, dict]:
    """``(metric options with defaults, builder kwargs)`` from a run's ``model_kwargs``."""
    from kerascnn.nn import losses

    kwargs = dict(model_kwargs or {})
    options = {key: kwargs.pop(key) for key in METRIC_OPTIONS if key in kwargs}
    options.setdefault("loss", DEFAULT_LOSS.get(model_name, "triplet"))
    options.setdefault("mining", DEFAULT_MINING)
    options.setdefault("margin", None)
    options.setdefault("rotations", 1)
    options.setdefault("whiten", None)
    if options["whiten"] is not None:
        from kerascnn.nn.whitening import check_shrinkage

        check_shrinkage(options["whiten"])
    if options["rotations"] not in (1, 2, 3, 4) or isinstance(options["rotations"], bool):
        raise UsageError(f"`rotations` must be 1, 2, 3 or 4. Received: rotations={options['rotations']!r}")
    losses.make_loss(options["loss"], margin=options["margin"], mining=options["mining"])  # names checked here
    return options, kwargs


def build_embedding_network(model_name: str, image_shape, input_size, builder_kwargs: dict):
    """The zoo model's embedding network at the images' size (or ``input_size``, or the zoo default)."""
    from kerascnn import models
    from kerascnn.models.siamese import find_tower

    channels = image_shape[-1]
    sizes = [tuple(input_size)] if input_size else [tuple(image_shape[:2]),
                                                    tuple(models.get_spec(model_name).default_input_shape[:2])]
    for k, size in enumerate(sizes):
        try:
            return find_tower(models.build(model_name, input_shape=(*size, channels), **builder_kwargs))
        except ValueError:
            if k == len(sizes) - 1:
                raise


def raw_pixel_model(network, image_shape, mean, variance, name: str, whiten: float | None = None):
    """``network`` behind per-channel normalisation and a resize: raw pixels (0-255) of ``image_shape`` in.

    ``whiten`` (a shrinkage in ``[0, 1]``) appends a :class:`kerascnn.nn.whitening.WithinClassWhitening` layer,
    identity until :func:`kerascnn.nn.whitening.fit` sets it from the training split after training.
    """
    import keras
    from keras import layers

    target = tuple(int(d) for d in network.input_shape[1:])
    if target[-1] != image_shape[-1]:
        raise UsageError(f"The embedding network takes {target[-1]} channels; the images have {image_shape[-1]}.")
    inputs = keras.Input(shape=tuple(image_shape), dtype="float32", name="image")
    x = layers.Normalization(mean=mean, variance=variance, name="normalization")(inputs)
    if tuple(image_shape[:2]) != target[:2]:
        x = layers.Resizing(target[0], target[1], name="resize")(x)
    outputs = network(x)
    if whiten is not None:
        from kerascnn.nn.whitening import LAYER_NAME, WithinClassWhitening

        outputs = WithinClassWhitening(whiten, name=LAYER_NAME, dtype="float32")(outputs)  # float32 when mixed
    return keras.Model(inputs, outputs, name=name)


def embed(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Embeddings of uint8/float images with a Keras model (float32 raw pixels in)."""
    return np.asarray(model.predict(images.astype("float32"), batch_size=batch_size, verbose=0))


class Embedding(Task):
    """Metric learning: images in, L2-normalised embeddings out (``triplet``, ``siamese``, ``facenet_nn1``)."""

    name = "embedding"
    monitor = ("precision_at_1", "max")

    def __init__(self):
        self._options = {"loss": "triplet", "mining": DEFAULT_MINING, "margin": None, "rotations": 1, "whiten": None}

    # ------------------------------------------------------------ training
    @staticmethod
    def _options_for(config, dataset) -> tuple[dict, dict, dict]:
        """``(recipe, metric options, builder kwargs)`` of a run: the data set's recipe under the user's choices."""
        recipe = RECIPES.get((config.model, dataset.name), {})
        return (recipe, *split_options(config.model, {**recipe, **(config.model_kwargs or {})}))

    def training_defaults(self, model: str, dataset: str) -> dict:
        """The recipe's epochs, batch size and learning rate for ``model`` on ``dataset`` (:data:`TRAINING_RECIPES`)."""
        return dict(TRAINING_RECIPES.get((model, dataset), {}))

    def training_examples(self, config, dataset, x, y):
        """With ``rotations`` > 1 (the Omniglot recipe: 4), every training class turned by ``k * 90`` degrees
        as a new class (:func:`kerascnn.data.samplers.rotated_classes`; labels ``y + k * classes``)."""
        from kerascnn.data import samplers

        _, options, _ = self._options_for(config, dataset)
        self._options = options  # the run's loss also picks the batches (:meth:`pipeline`, called next)
        if options["rotations"] == 1:
            return x, y
        if np.ndim(x) != 4 or np.shape(x)[1] != np.shape(x)[2]:
            raise UsageError(f"`rotations` needs square images; {dataset.name!r} has input shape "
                             f"{tuple(np.shape(x)[1:])}.")
        return samplers.rotated_classes(x, y, options["rotations"])

    def build_model(self, config, dataset, x_train):
        """The embedding network behind raw-pixel normalisation; also fixes the loss :meth:`loss` returns. A
        CosFace / ArcFace head covers the data set's classes times ``rotations`` (:meth:`training_examples`)."""
        from kerascnn.nn import losses
        from kerascnn.training.modeling import channel_statistics

        recipe, options, builder_kwargs = self._options_for(config, dataset)
        self._options = options
        network = build_embedding_network(config.model, dataset.input_shape, config.input_size, builder_kwargs)
        mean, variance = channel_statistics(x_train)
        name = f"{config.model}_{dataset.name}".replace(":", "_").replace("/", "_")
        embedding = raw_pixel_model(network, dataset.input_shape, mean, variance, name, whiten=options["whiten"])
        if options["loss"] in losses.MARGIN_SOFTMAX_LOSSES:  # CosFace / ArcFace: a cosine head over the classes
            from kerascnn.data.distortions import RandomAffine
            from kerascnn.nn.margin_model import ClassifierTrainedEmbedding

            distort = RandomAffine(fill_value=255.0, seed=config.seed) if recipe and config.augment is None else None
            classes = dataset.num_classes * options["rotations"]
            return ClassifierTrainedEmbedding(embedding, classes=classes, augment=distort,
                                              members=builder_kwargs.get("members", 1), name=f"{name}_trainer")
        return embedding

    def after_training(self, model, x, y) -> None:
        """With ``whiten`` (the Omniglot recipe: 0.3): fit the embedding's within-class whitening on the training
        split, rotated classes included (:func:`kerascnn.nn.whitening.fit`; +1.2 points one-shot, README)."""
        from kerascnn.nn import whitening
        from kerascnn.nn.margin_model import embedding_network

        whitening.fit(embedding_network(model), x, y)

    def loss(self):
        """The metric loss chosen by the last :meth:`build_model` (``model_kwargs``: loss, mining, margin)."""
        from kerascnn.nn import losses

        return losses.make_loss(self._options["loss"], margin=self._options["margin"], mining=self._options["mining"])

    def metrics(self) -> list:
        from kerascnn.nn import losses

        margin = self._options["margin"]
        own_margin = margin is None or self._options["loss"] in ("contrastive", "multi-similarity",
                                                                  *losses.MARGIN_SOFTMAX_LOSSES)
        return losses.epoch_metrics(0.2 if own_margin else margin)  # active triplets: margin on squared L2

    def per_example(self, labels, outputs) -> dict:
        raise UsageError("The embedding task's losses mine the whole batch; --strategy multiworker is not supported.")

    def pipeline(self, x, y, *, batch_size, shuffle, seed, augment=None):
        """Training (``shuffle``): P x K balanced batches for in-batch mining (K = 4 drawings of P = batch_size // 4
        classes; K shrinks to the smallest class, which needs two). A CosFace / ArcFace run (the loss of the last
        :meth:`training_examples`) and evaluation: the plain shuffled pipeline, so a batch spans as many classes as
        it can (one-shot Omniglot, 10 epochs: 32 x 4 batches 79.3 %, 64 x 2 82.4 %, shuffled 80.9 %)."""
        from kerascnn import data
        from kerascnn.data import samplers
        from kerascnn.nn.losses import MARGIN_SOFTMAX_LOSSES

        if not shuffle or self._options["loss"] in MARGIN_SOFTMAX_LOSSES:
            return data.pipeline(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed, augment=augment)
        by_class = samplers.class_indices(y)
        k = min(EXAMPLES_PER_CLASS, min(len(v) for v in by_class.values()))
        if k < 2:
            raise UsageError("Metric learning needs at least two examples of every class (pairs and triplets); "
                             f"the smallest class of the training split has {k}.")
        p = min(max(2, batch_size // k), len(by_class))
        return samplers.balanced_batches(x, y, classes_per_batch=p, examples_per_class=k, seed=seed,
                                         batches_per_epoch=math.ceil(len(x) / batch_size), augment=augment)

    def evaluate(self, model, dataset) -> dict:
        """Batch scores of ``model.evaluate`` plus retrieval and verification over the whole test split."""
        from kerascnn.analysis import verification
        from kerascnn.analysis.retrieval import retrieval_scores
        from kerascnn.data import samplers

        scores = super().evaluate(model, dataset)
        labels = np.concatenate([np.asarray(y) for _, y in dataset])
        embeddings = np.asarray(model.predict(dataset, verbose=0))
        scores.update({f"test_{k}": v for k, v in retrieval_scores(embeddings, labels).items() if k != "queries"})
        first, second, same = samplers.make_pairs(labels, VERIFICATION_PAIRS, np.random.default_rng(0))
        distances = ((embeddings[first] - embeddings[second]) ** 2).sum(1)
        scores["test_verification_auc"] = verification.roc(distances, same)["auc"]
        scores["test_verification_eer"] = verification.equal_error_rate(distances, same)
        scores["test_collapsed"] = float(distances[same == 0].mean() < COLLAPSE_DISTANCE)
        return scores

    def headline(self, metrics: dict) -> str:
        text = (f"test precision@1 {metrics['test_precision_at_1']:.2%}, MAP@R {metrics['test_map_at_r']:.3f}, "
                f"verification AUC {metrics['test_verification_auc']:.3f} / EER {metrics['test_verification_eer']:.1%}")
        if metrics.get("test_collapsed"):
            text += " -- WARNING: the embeddings collapsed (all distances near 0): lower the LR or change the mining"
        return text

    def write_outputs(self, run_dir, model) -> None:
        """Save ``embedding.keras`` (raw pixels in, L2-normalised embedding out; without a CosFace / ArcFace
        training head) in the run folder."""
        from kerascnn.core.files import atomic_save_path
        from kerascnn.nn.margin_model import embedding_network

        with atomic_save_path(os.path.join(run_dir, EMBEDDING_FILE)) as tmp:
            embedding_network(model).save(tmp)

    # ------------------------------------------------------------ export
    def export_artifacts(self, model_path, **options) -> dict:
        """Export the run's ``embedding.keras`` when given the run folder or its ``model.keras`` (a CosFace /
        ArcFace run's ``model.keras`` also holds the training head, which is not part of the embedding)."""
        from pathlib import Path

        path = Path(model_path).expanduser()
        folder = path if path.is_dir() else path.parent
        if (path.is_dir() or path.name == "model.keras") and (folder / EMBEDDING_FILE).is_file():
            model_path = folder / EMBEDDING_FILE
        return super().export_artifacts(model_path, **options)

    def sample_inputs(self, source, data_dir, input_shape, verify, calibrate) -> dict:
        """Real images as for classification (parity on noise proves little); no class names."""
        from kerascnn import tasks

        inputs = tasks.get("classification").sample_inputs(source, data_dir, input_shape, verify, calibrate)
        inputs["class_names"] = None
        return inputs

    def compare(self, reference, outputs) -> dict:
        """max |diff|, the cosine agreement of each embedding pair and nearest-neighbour agreement."""
        parity = super().compare(reference, outputs)
        ref, out = reference.reshape(len(reference), -1), outputs.reshape(len(outputs), -1)
        cosine = (ref * out).sum(1) / np.maximum(np.linalg.norm(ref, axis=1) * np.linalg.norm(out, axis=1), 1e-12)
        from kerascnn.analysis.oneshot import nearest_support

        rows = np.arange(len(ref))
        # Each artifact embedding's nearest Keras embedding should be its own row.
        neighbour = float(np.mean(nearest_support(ref, rows, out) == rows)) if len(ref) > 1 else 1.0
        return {**parity, "min_cosine": float(cosine.min()), "mean_cosine": float(cosine.mean()),
                "neighbour_agreement": neighbour}

    def parity_summary(self, parity: dict, precision: str) -> str:
        if precision == "fp32":
            return f"{super().parity_summary(parity, precision)}, cosine >= {parity['min_cosine']:.6f}"
        return f"cosine >= {parity['min_cosine']:.3f}, NN agree {parity['neighbour_agreement']:.1%}"

    # ------------------------------------------------------------ runtime (no TensorFlow)
    def load_inputs(self, paths: Sequence[str | os.PathLike], input_shape, *, warn=None, invert: bool = False,
                    input_mean: float | None = None) -> np.ndarray:
        from kerascnn.runtime import images

        return images.load_images(paths, input_shape, invert=invert, input_mean=input_mean, warn=warn)

    def present(self, outputs, *, labels=None, k: int = 5) -> list[dict]:
        """Each input's embedding and its squared L2 distance to every input (pair distances)."""
        x = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
        distances = (x ** 2).sum(1)[:, None] - 2 * x @ x.T + (x ** 2).sum(1)[None, :]
        return [{"embedding": row.tolist(), "distances": np.maximum(d, 0).round(6).tolist()}
                for row, d in zip(x, distances)]

    def format_record(self, record: dict) -> str:
        values = record["embedding"]
        shown = ", ".join(f"{v:+.3f}" for v in values[:6])
        distances = " ".join(f"{d:.3f}" for d in record["distances"])
        return f"embedding[{len(values)}] [{shown}, ...]  squared distances to the inputs: {distances}"


TASK = Embedding()


# ------------------------------------------------------------ `kerascnn train` flags (no TensorFlow)
def _declared(name: str) -> tuple[str, ...]:
    """A literal tuple of :mod:`kerascnn.nn.losses`, read without importing Keras (fast ``--help`` and typos)."""
    import ast
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "nn" / "losses.py"
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError(f"kerascnn/nn/losses.py declares no {name}")


def add_metric_arguments(parser) -> None:
    """``--tower``, ``--loss``, ``--mining``, ``--margin``, ``--rotations``, ``--whiten``, ``--embedding-dim``,
    ``--members``: shorthands for ``--model-arg KEY=VALUE`` of the embedding models (they land in ``model_kwargs``,
    so ``config.json`` records them)."""
    import argparse

    class ModelArgument(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            setattr(namespace, "model_arg", [*(getattr(namespace, "model_arg", None) or []), (self.key, values)])

    def flag(option, key, **kwargs):
        action = parser.add_argument(option, action=ModelArgument, dest="metric_" + key, default=argparse.SUPPRESS,
                                     **kwargs)
        action.key = key

    from kerascnn.core.options import positive_float, positive_int

    flag("--tower", "tower", metavar="NAME",
         help="embedding models: small, wide, koch, facenet_nn1 or a zoo classifier")
    flag("--loss", "loss", choices=_declared("LOSSES"), help="embedding models: the metric loss (default: "
         "triplet; siamese: contrastive, on omniglot the one-shot recipe: cosface); cosface / arcface train "
         "through a cosine head over the training classes")
    flag("--mining", "mining", choices=_declared("MININGS"), help=f"triplet losses: in-batch mining (default "
         f"{DEFAULT_MINING})")
    flag("--margin", "margin", type=positive_float, help="embedding models: the loss margin (triplet 0.2 on squared "
         "L2, contrastive 1.0, cosface 0.2, arcface 0.3 rad)")
    flag("--rotations", "rotations", type=int, choices=(1, 2, 3, 4), help="embedding models: also train on every "
         "class turned by k x 90 degrees (k < ROTATIONS) as a new class (default 1; siamese on omniglot: 4)")
    flag("--whiten", "whiten", type=float, metavar="SHRINKAGE", help="embedding models: after training, "
         "whiten the embedding by the training classes' within-class covariance, shrunk by SHRINKAGE in [0, 1] "
         "(Hatch et al. 2006; default none; siamese on omniglot: 0.3; 1: no whitening)")
    flag("--embedding-dim", "embedding_dim", type=positive_int, metavar="D", help="embedding models: size (default 128)")
    flag("--members", "members", type=positive_int, metavar="N", help="embedding models: an ensemble of N towers "
         "trained side by side, their embeddings concatenated (default 1; siamese on omniglot: 2)")
