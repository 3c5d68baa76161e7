"""An embedding network trained like a classifier: CosFace / ArcFace through a cosine head.

The large-margin softmax losses (Wang et al. 2018, CosFace; Deng et al. 2019, ArcFace;
:mod:`kerascnn.nn.losses`) need a class-centre matrix that is *not* part of the
embedding. :class:`ClassifierTrainedEmbedding` wraps an embedding network: it
predicts embeddings (so metrics, retrieval, one-shot and export see the embedding),
while its training loss is the compiled loss applied to the cosines of its
:class:`~kerascnn.nn.metric_layers.CosineClassifier` head. ``embedding_network(model)``
gives the network to save as ``embedding.keras``.

    >>> model = ClassifierTrainedEmbedding(tower, classes=160)
    >>> model.compile("adam", loss=CosFaceLoss(scale=16, margin=0.2), metrics=epoch_metrics())
    >>> model.fit(images_and_labels)          # model.predict(images) -> embeddings

Under mixed precision (``--mixed-precision``) the head stays float32, so the cosines and
the loss are float32 whatever the embedding computes in.
"""

from __future__ import annotations

import keras

from kerascnn.core.checks import check_positive
from kerascnn.data import distortions  # noqa: F401  (registers RandomAffine, which a wrapper may hold)
from kerascnn.nn.metric_layers import CosineClassifier

_PACKAGE = "kerascnn"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ClassifierTrainedEmbedding(keras.Model):
    """``embedding`` trained through a ``CosineClassifier(classes)`` head; calling it gives the embedding.

    Args:
        embedding: a built ``keras.Model`` from images to embeddings.
        classes: number of training classes (the head's centres).
        augment: an optional augmentation layer applied to the inputs in training only
            (e.g. :class:`kerascnn.data.distortions.RandomAffine`); not part of ``embedding``.
        members: the embedding concatenates that many members' embeddings (an ensemble tower,
            :func:`kerascnn.models.siamese.embedding_tower`): each member gets its own head and the
            loss is the mean of the members' losses, so they train as independent models.
    """

    def __init__(self, embedding: keras.Model, classes: int, augment: keras.layers.Layer | None = None,
                 members: int = 1, **kwargs):
        super().__init__(**kwargs)
        check_positive("members", members, int)
        width = int(embedding.output_shape[-1])
        if width % members:
            raise ValueError(f"An embedding of {width} components does not split into {members} members.")
        self.embedding = embedding
        self.augment = augment
        self.members = members
        # float32 even under mixed precision: the margin losses take arccos / exp of cosines near 1
        self.head = CosineClassifier(classes, name="class_centres", dtype="float32")
        self.member_heads = [CosineClassifier(classes, name=f"class_centres_{k}", dtype="float32")
                             for k in range(2, members + 1)]  # members 2, 3 ...
        for head in (self.head, *self.member_heads):
            head.build((None, width // members))
        self.classes = classes
        self.built = True  # every weight exists already (callbacks such as BackupAndRestore need a built model)

    def call(self, inputs, training=None):
        if training and self.augment is not None:
            inputs = self.augment(inputs, training=True)
        return self.embedding(inputs, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss (CosFace / ArcFace) on the head's cosines; metrics keep the embeddings. With several
        members, every member's cosines are stacked along the batch (labels repeated): the mean of their losses."""
        if self.members == 1:
            cosines = self.head(y_pred)
        else:
            parts = keras.ops.split(y_pred, self.members, axis=-1)
            cosines = keras.ops.concatenate([head(part) for head, part in zip((self.head, *self.member_heads),
                                                                               parts)], axis=0)
            y = keras.ops.concatenate([y] * self.members, axis=0)
            if sample_weight is not None:
                sample_weight = keras.ops.concatenate([sample_weight] * self.members, axis=0)
        return super().compute_loss(x=x, y=y, y_pred=cosines, sample_weight=sample_weight, training=training)

    def get_config(self):
        return {"embedding": keras.saving.serialize_keras_object(self.embedding), "classes": self.classes,
                "augment": None if self.augment is None else keras.saving.serialize_keras_object(self.augment),
                "members": self.members, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("embedding", "augment"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)

    def with_embedding(self, embedding: keras.Model) -> "ClassifierTrainedEmbedding":
        """A wrapper like this one (classes, augmentation, name) around another ``embedding`` and a fresh head:
        how :func:`kerascnn.training.resources.float32_output` casts the embedding of a mixed-precision model."""
        return type(self)(embedding, self.classes, augment=self.augment, members=self.members, name=self.name)


def embedding_network(model: keras.Model) -> keras.Model:
    """The network that maps images to embeddings: ``model.embedding`` of a wrapper, else ``model``."""
    return model.embedding if isinstance(model, ClassifierTrainedEmbedding) else model
