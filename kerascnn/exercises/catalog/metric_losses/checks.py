"""Checks of exercise 10: losses against kerascnn.nn.losses, one-shot against kerascnn.analysis.oneshot."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, expect_equal, function_of

NUMBER = 10
TITLE = "Contrastive and triplet losses with batch-hard mining; one-shot nearest neighbour"
LECTURE = "Metric learning: Siamese networks, contrastive and triplet losses, one-shot learning"

_DISTANCE_HINT = "Revisit the Euclidean distance: d(i, j) = sqrt(sum_k (e_ik - e_jk)**2), zero on the diagonal."
_CONTRASTIVE_HINT = ("Revisit the contrastive loss: same pairs are i != j with equal class labels, d is the "
                     "(unsquared) Euclidean distance, loss = 1/2 mean_same(d**2) + 1/2 mean_different("
                     "max(0, margin - d)**2), the two means taken separately.")
_TRIPLET_HINT = ("Revisit batch-hard mining: on squared distances, for each anchor the farthest positive (same "
                 "label, not itself) and the nearest negative, hinge [D(a,p) - D(a,n) + margin]_+, mean over the "
                 "anchors that have both a positive and a negative.")
_ONESHOT_HINT = ("Revisit one-shot classification: each query takes the label of the support embedding at the "
                 "smallest (squared) Euclidean distance.")


def _batch(seed, size=12, dim=4, classes=3, scale=0.4, spread=0.5):
    """Seeded labels and embeddings clustered by class (some triplets satisfy the margin, some do not)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size)
    centres = rng.normal(scale=spread, size=(classes, dim))
    return labels, centres[labels] + rng.normal(scale=scale, size=(size, dim))


def _references(labels, embeddings, margin, triplet_margin):
    from kerascnn.nn import losses

    return (float(losses.contrastive_loss(labels, embeddings.astype("float32"), margin)),
            float(losses.triplet_loss(labels, embeddings.astype("float32"), triplet_margin, mining="batch-hard")))


def _compare_losses(student, cases, which):
    for seed, kwargs, margin, triplet_margin in cases:
        labels, embeddings = _batch(seed, **kwargs)
        contrastive, triplet = _references(labels, embeddings, margin, triplet_margin)
        what = f"batch of {len(labels)} with labels {labels.tolist()}"
        if "contrastive" in which:
            got = function_of(student, "contrastive_loss")(labels.copy(), embeddings.copy(), margin=margin)
            expect_close(got, contrastive, f"contrastive_loss(margin={margin}), {what}", _CONTRASTIVE_HINT,
                         rtol=1e-4, atol=1e-6)
        if "triplet" in which:
            got = function_of(student, "batch_hard_triplet_loss")(labels.copy(), embeddings.copy(),
                                                                  margin=triplet_margin)
            expect_close(got, triplet, f"batch_hard_triplet_loss(margin={triplet_margin}), {what}", _TRIPLET_HINT,
                         rtol=1e-4, atol=1e-6)


@check(points=1)
def pairwise_distances_match(student):
    """Pairwise Euclidean distances equal kerascnn's pairwise_distances(..., 'l2')."""
    from kerascnn.nn.losses import pairwise_distances

    for seed, size, dim in ((100, 6, 3), (101, 10, 8)):
        _, embeddings = _batch(seed, size=size, dim=dim)
        expected = np.asarray(pairwise_distances(embeddings.astype("float32"), "l2"))
        expect_close(function_of(student, "pairwise_distances")(embeddings.copy()), expected,
                     f"pairwise_distances of {size} embeddings of size {dim}", _DISTANCE_HINT, rtol=1e-3, atol=1e-3)


@check(points=2)
def contrastive_loss_matches_library(student):
    """Contrastive loss equals kerascnn.nn.losses.contrastive_loss on seeded batches and margins."""
    _compare_losses(student, ((102, {}, 1.0, 0.2), (103, {"size": 16, "dim": 6}, 0.5, 0.2),
                              (104, {"scale": 1.0, "spread": 2.0}, 2.0, 0.2)), ("contrastive",))


@check(points=2)
def batch_hard_triplet_loss_matches_library(student):
    """Batch-hard triplet loss equals kerascnn.nn.losses.triplet_loss(mining='batch-hard')."""
    _compare_losses(student, ((105, {}, 1.0, 0.2), (106, {"size": 16, "dim": 6}, 1.0, 0.5),
                              (107, {"scale": 1.0, "spread": 2.0}, 1.0, 1.0)), ("triplet",))


@check(points=1, hidden=True)
def losses_with_lonely_anchors(student):
    """Both losses when some classes appear once in the batch (anchors without a positive)."""
    _compare_losses(student, ((108, {"size": 7, "classes": 5}, 1.0, 0.3), (109, {"size": 20, "classes": 12}, 1.5, 0.3)),
                    ("contrastive", "triplet"))


@check(points=1)
def one_shot_nearest_neighbour(student):
    """1-NN predictions equal kerascnn.analysis.oneshot.nearest_support on synthetic N-way K-shot episodes."""
    from kerascnn.analysis.oneshot import nearest_support

    predict = function_of(student, "nearest_neighbour_predict")
    rng = np.random.default_rng(110)
    for ways, shots in ((5, 1), (20, 1), (5, 3)):
        prototypes = rng.normal(size=(ways, 16))
        support_labels = np.repeat(rng.permutation(100)[:ways], shots)
        order = np.repeat(np.arange(ways), shots)
        support = prototypes[order] + rng.normal(scale=0.6, size=(ways * shots, 16))
        query_of = rng.integers(0, ways, 4 * ways)
        queries = prototypes[query_of] + rng.normal(scale=0.6, size=(len(query_of), 16))
        expected = nearest_support(support, support_labels, queries)
        got = np.asarray(predict(support.copy(), support_labels.copy(), queries.copy()))
        what = f"{ways}-way {shots}-shot episode ({len(queries)} queries)"
        if got.shape != expected.shape:
            raise CheckFailed(f"{what}: expected {expected.shape[0]} predicted labels, got shape {got.shape}. "
                              f"{_ONESHOT_HINT}")
        wrong = int(np.sum(got != expected))
        expect_equal(wrong, 0, f"{what}: queries labelled differently from the nearest support example",
                     _ONESHOT_HINT)
