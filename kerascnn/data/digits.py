"""``digits``: scikit-learn's bundled 1,797 real 8×8 handwritten digits (UCI ML, Alpaydin & Kaynak 1998).

The embedded default data set: it ships inside scikit-learn, so it needs no data
folder and no network. The 17 grey levels (0–16) are scaled to 0–255 uint8 so
every data set reaches the model as raw pixels.

Split (fixed, documented): stratified by class with ``random_state=0``,
1,437 training and 360 test images (20 %).
"""

from __future__ import annotations

import numpy as np

from kerascnn.data.base import ImageDataset, stratified_split

TEST_SIZE = 360
SPLIT_SEED = 0


def load() -> ImageDataset:
    """Load the 8×8×1 digits with the fixed stratified 1,437 / 360 split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    train, test = stratified_split(labels, TEST_SIZE, SPLIT_SEED)
    return ImageDataset(
        name="digits",
        x_train=images[train],
        y_train=labels[train],
        x_test=images[test],
        y_test=labels[test],
        class_names=[str(d) for d in range(10)],
        source=(
            "scikit-learn load_digits (1,797 8x8 images, 0-16 scaled to 0-255); "
            f"stratified split random_state={SPLIT_SEED}: {len(train)} train / {len(test)} test"
        ),
    )
