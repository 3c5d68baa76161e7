"""Exercise 10: contrastive and triplet losses with batch-hard mining, and one-shot nearest neighbour.

Lecture idea: learn an embedding where same-class examples are close and different-class
examples are far; then classify a new example by its nearest labelled neighbour (one shot).

Label convention (state it, the papers differ): every function takes integer *class labels*
``labels`` (shape ``(B,)``) and ``embeddings`` (``(B, D)``) and forms its pairs inside the batch.
Two different examples ``i != j`` form a *same* pair when ``labels[i] == labels[j]`` and a
*different* pair otherwise (Hadsell et al. write ``Y = 0`` for similar pairs; Keras
examples often use ``1 = same``: here no pair labels are needed at all).

* Contrastive loss (Hadsell, Chopra & LeCun 2006) with the Euclidean distance ``d``::

      loss = 1/2 * mean over same pairs of d**2  +  1/2 * mean over different pairs of max(0, margin - d)**2

  (same and different pairs are averaged *separately*: a batch has many more different pairs).
* Triplet loss with batch-hard mining (Hermans, Beyer & Leibe 2017) on *squared* Euclidean
  distances ``D``: for every anchor ``a`` take its hardest positive (the farthest same-class
  example, not itself) and its hardest negative (the nearest different-class example)::

      loss = mean over anchors of max(0, D(a, p_hard) - D(a, n_hard) + margin)

  Anchors without any positive or without any negative in the batch are left out of the
  mean (a batch without any valid anchor has loss 0).
* One-shot classification: each query gets the label of its nearest support embedding
  (squared Euclidean distance).

Work in NumPy. The checks compare with kerascnn's metric-learning losses and its one-shot
evaluator on seeded random batches and synthetic episodes.
"""

import numpy as np


def pairwise_distances(embeddings):
    """``(B, B)`` Euclidean distances between the rows of ``embeddings``."""
    # Hint: broadcasting embeddings[:, None, :] - embeddings[None, :, :]
    raise NotImplementedError("TODO: pairwise Euclidean distances")


def contrastive_loss(labels, embeddings, margin=1.0):
    """Contrastive loss over every pair of the batch (see the module docstring)."""
    raise NotImplementedError("TODO: contrastive loss (same pairs pulled together, different pairs pushed apart)")


def batch_hard_triplet_loss(labels, embeddings, margin=0.2):
    """Triplet loss with batch-hard mining on squared Euclidean distances."""
    raise NotImplementedError("TODO: batch-hard triplet loss")


def nearest_neighbour_predict(support_embeddings, support_labels, query_embeddings):
    """The label of each query's nearest support embedding: a ``(Q,)`` array."""
    raise NotImplementedError("TODO: 1-nearest-neighbour one-shot classification")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    labels, embeddings = np.array([0, 0, 1, 1]), rng.normal(size=(4, 2))
    print(contrastive_loss(labels, embeddings), batch_hard_triplet_loss(labels, embeddings))
