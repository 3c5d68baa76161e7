"""Samplers for metric learning: P x K balanced batches, pairs, triplets and N-way K-shot episodes.

In-batch mining needs several examples of each class in every batch: a batch
of ``P`` classes x ``K`` examples (Hermans, Beyer & Leibe 2017; the
"m-per-class" sampler of pytorch-metric-learning, tensorflow/similarity's
``MultiShotMemorySampler``). Pairs (Hadsell et al. 2006; Koch et al. 2015) are
half same, half different; episodes (Vinyals et al. 2016) draw ``ways`` classes,
``shots`` support examples and ``queries`` query examples per class, optionally
all classes from one group (an Omniglot alphabet: Lake et al.'s within-alphabet
trials).

The index functions are NumPy only (and seeded); :func:`balanced_batches` turns
them into a ``tf.data`` pipeline. :func:`rotated_classes` multiplies the classes by
rotating them (Omniglot's usual class augmentation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kerascnn.core.errors import UsageError


def class_indices(labels: np.ndarray) -> dict[int, np.ndarray]:
    """``{class: indices of its examples}`` in label order."""
    labels = np.asarray(labels).reshape(-1)
    return {int(c): np.flatnonzero(labels == c) for c in np.unique(labels)}


def check_balanced(labels: np.ndarray, classes_per_batch: int, examples_per_class: int) -> dict[int, np.ndarray]:
    """The class index for a P x K sampler, or a one-line ``UsageError`` saying what is too small."""
    for name, value, low in (("classes_per_batch", classes_per_batch, 2), ("examples_per_class", examples_per_class, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise UsageError(f"`{name}` must be an integer >= {low} (mining needs positives and negatives). "
                             f"Received: {name}={value!r}")
    by_class = class_indices(labels)
    if len(by_class) < classes_per_batch:
        raise UsageError(f"P x K batches need {classes_per_batch} classes; the data has {len(by_class)}.")
    smallest = min(len(v) for v in by_class.values())
    if examples_per_class > smallest:
        raise UsageError(f"K = {examples_per_class} examples per class is more than the smallest class has "
                         f"({smallest}); use K <= {smallest}.")
    return by_class


def balanced_batch_indices(labels, classes_per_batch: int, examples_per_class: int, rng: np.random.Generator,
                           batches: int | None = None) -> np.ndarray:
    """``(batches, P*K)`` indices: each row ``P`` distinct classes x ``K`` distinct examples of each.

    ``batches`` defaults to one epoch's worth (``len(labels) // (P*K)``, at least 1).
    Classes are drawn uniformly without replacement within a batch.
    """
    by_class = check_balanced(labels, classes_per_batch, examples_per_class)
    classes = np.array(list(by_class))
    total = len(np.asarray(labels).reshape(-1))
    batches = batches or max(1, total // (classes_per_batch * examples_per_class))
    out = np.empty((batches, classes_per_batch * examples_per_class), dtype=np.int64)
    for b in range(batches):
        chosen = rng.choice(classes, size=classes_per_batch, replace=False)
        out[b] = np.concatenate([rng.choice(by_class[int(c)], size=examples_per_class, replace=False) for c in chosen])
    return out


def balanced_batches(x: np.ndarray, y: np.ndarray, *, classes_per_batch: int, examples_per_class: int, seed: int,
                     batches_per_epoch: int | None = None, augment=None):
    """A ``tf.data`` pipeline of P x K batches ``(float32 raw pixels, labels)``, new batches every epoch.

    Each pass over the data set draws ``batches_per_epoch`` fresh batches from a
    generator seeded once with ``seed`` (reproducible run to run). ``augment`` is
    a Keras layer called with ``training=True`` or a :mod:`kerascnn.data.augment` spec.
    """
    import tensorflow as tf

    check_balanced(y, classes_per_batch, examples_per_class)
    if isinstance(augment, str):
        from kerascnn.data import augment as augment_module

        augment = augment_module.build(augment, tuple(x.shape[1:]), seed=seed)
    rng = np.random.default_rng(seed)
    size = classes_per_batch * examples_per_class

    batches = batches_per_epoch or max(1, len(x) // size)

    def epoch():
        yield from balanced_batch_indices(y, classes_per_batch, examples_per_class, rng, batches)

    images, labels = tf.constant(x), tf.constant(np.asarray(y, dtype=np.int64))

    def gather(index):
        batch = tf.cast(tf.gather(images, index), tf.float32)
        return (batch if augment is None else augment(batch, training=True)), tf.gather(labels, index)

    ds = tf.data.Dataset.from_generator(epoch, output_signature=tf.TensorSpec((size,), tf.int64))
    ds = ds.apply(tf.data.experimental.assert_cardinality(batches))  # Keras knows the epoch's length
    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def rotated_classes(x: np.ndarray, y: np.ndarray, rotations: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Every class rotated by ``k * 90`` degrees (``k < rotations``) as a *new* class.

    The class augmentation of Santoro et al. (2016) and Vinyals et al. (2016) for Omniglot:
    a character turned on its side is a different character, so ``C`` classes become
    ``rotations * C`` (labels ``y + k * C``). ``rotations=1`` returns the data unchanged.
    """
    if isinstance(rotations, bool) or not isinstance(rotations, (int, np.integer)) or not 1 <= rotations <= 4:
        raise UsageError(f"`rotations` must be 1, 2, 3 or 4. Received: rotations={rotations!r}")
    y = np.asarray(y).reshape(-1)
    classes = int(y.max()) + 1 if len(y) else 0
    images = [np.rot90(x, k, axes=(1, 2)) for k in range(rotations)]
    return np.concatenate(images), np.concatenate([y + k * classes for k in range(rotations)])


def _check_two_per_class(by_class: dict, what: str) -> None:
    if not any(len(v) >= 2 for v in by_class.values()) or len(by_class) < 2:
        raise UsageError(f"{what} need at least two classes and a class with two or more examples.")


def make_pairs(labels, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, second, same)``: ``count`` index pairs, half same class (``same = 1``), half different (``0``)."""
    by_class = class_indices(labels)
    _check_two_per_class(by_class, "Pairs")
    multi = [c for c, v in by_class.items() if len(v) >= 2]
    classes = list(by_class)
    first, second, same = [], [], []
    for k in range(count):
        if k % 2 == 0:
            i, j = rng.choice(by_class[int(rng.choice(multi))], size=2, replace=False)
        else:
            a, b = rng.choice(classes, size=2, replace=False)
            i, j = rng.choice(by_class[int(a)]), rng.choice(by_class[int(b)])
        first.append(i), second.append(j), same.append(1 - k % 2)
    return np.array(first, np.int64), np.array(second, np.int64), np.array(same, np.int64)


def make_triplets(labels, count: int, rng: np.random.Generator) -> np.ndarray:
    """``(count, 3)`` indices ``(anchor, positive, negative)`` drawn uniformly (offline, no mining)."""
    by_class = class_indices(labels)
    _check_two_per_class(by_class, "Triplets")
    multi = [c for c, v in by_class.items() if len(v) >= 2]
    out = np.empty((count, 3), dtype=np.int64)
    for k in range(count):
        anchor_class = int(rng.choice(multi))
        other = int(rng.choice([c for c in by_class if c != anchor_class]))
        out[k, :2] = rng.choice(by_class[anchor_class], size=2, replace=False)
        out[k, 2] = rng.choice(by_class[other])
    return out


@dataclass(frozen=True)
class Episode:
    """One N-way K-shot trial: indices into the data set and episode-local labels ``0..ways-1``."""

    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray
    classes: np.ndarray  # the data set's class of each episode label
    group: str | None = None  # the alphabet of a within-alphabet episode


def episodes(labels, *, ways: int, shots: int, queries: int, count: int, rng: np.random.Generator,
             groups=None) -> list[Episode]:
    """``count`` N-way K-shot episodes.

    Args:
        groups: one group name per example (Omniglot's alphabet). Given, every episode
            draws its ``ways`` classes from a single group with at least ``ways``
            classes (Lake et al.'s within-alphabet protocol); ``None``: classes from
            anywhere (Vinyals et al.'s unstructured protocol).

    Raises:
        UsageError: not enough classes (in any group) or examples per class.
    """
    labels = np.asarray(labels).reshape(-1)
    by_class = class_indices(labels)
    need = shots + queries
    usable = [c for c, v in by_class.items() if len(v) >= need]
    if groups is None:
        pools = {None: usable}
    else:
        groups = np.asarray(groups).reshape(-1)
        pools: dict = {}
        for c in usable:
            pools.setdefault(str(groups[by_class[c][0]]), []).append(c)
    pools = {g: cs for g, cs in pools.items() if len(cs) >= ways}
    if not pools:
        where = "in any one group" if groups is not None else ""
        raise UsageError(f"{ways}-way {shots}-shot episodes with {queries} queries need {ways} classes {where} with "
                         f"{need}+ examples each; the data has too few.".replace("  ", " "))
    names = sorted(pools, key=str)
    out = []
    for _ in range(count):
        group = names[int(rng.integers(len(names)))]
        chosen = rng.choice(pools[group], size=ways, replace=False)
        support, query = [], []
        for c in chosen:
            picked = rng.choice(by_class[int(c)], size=need, replace=False)
            support.append(picked[:shots]), query.append(picked[shots:])
        out.append(Episode(
            support=np.concatenate(support), support_labels=np.repeat(np.arange(ways), shots),
            query=np.concatenate(query), query_labels=np.repeat(np.arange(ways), queries),
            classes=np.asarray(chosen), group=group,
        ))
    return out


def evaluation_images(dataset, alphabets: Sequence[str] | None = None):
    """``(images, labels, groups)`` to evaluate an embedding on.

    With ``alphabets`` (Omniglot): every drawing (all 20 drawers, both splits) of those
    alphabets, grouped by alphabet. Without: the test split (the training split when
    there is none); ``groups`` is the alphabet when the data set records one, else ``None``.

    Raises:
        UsageError: alphabets requested from a data set without them, or unknown names.
    """
    extra = getattr(dataset, "extra", {}) or {}
    has_groups = "alphabets" in extra
    if alphabets:
        if not has_groups:
            raise UsageError(f"--alphabets needs a data set with alphabets (omniglot); {dataset.name} has none.")
        unknown = sorted(set(alphabets) - set(extra["alphabets"]))
        if unknown:
            raise UsageError(f"Unknown alphabet {unknown[0]!r}. Alphabets: {', '.join(extra['alphabets'])}.")
        x = np.concatenate([dataset.x_train, dataset.x_test])
        y = np.concatenate([dataset.y_train, dataset.y_test])
        groups = np.concatenate([extra["train"]["alphabet"], extra["test"]["alphabet"]])
        keep = np.isin(groups, list(alphabets))
        return x[keep], y[keep], groups[keep]
    split = "test" if len(dataset.x_test) else "train"
    groups = extra[split]["alphabet"] if has_groups else None
    return getattr(dataset, f"x_{split}"), getattr(dataset, f"y_{split}"), groups
