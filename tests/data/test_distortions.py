"""kerascnn.data.distortions.RandomAffine: identity when not training or with zero ranges, a pure shift moves
the image by whole pixels, the fill value outside, serialisation, bad ranges refused."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerascnn.data.distortions import RandomAffine  # noqa: E402


def image_batch():
    x = np.full((3, 9, 9, 1), 255.0, "float32")
    x[:, 3:6, 4, 0] = 0.0  # a short vertical stroke
    return x


def test_identity_in_inference_and_with_zero_ranges():
    x = image_batch()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(RandomAffine(seed=0)(x, training=False)), x)
    still = RandomAffine(rotation=0, shear=0, scale=0, translation=0, seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(still(x, training=True)), x, atol=1e-3)


def test_distortions_move_the_ink_and_fill_with_paper():
    x = image_batch()
    out = keras.ops.convert_to_numpy(RandomAffine(rotation=10, shear=0.3, scale=0.2, translation=0.2, seed=1)(x))
    assert out.shape == x.shape and out.min() >= -1e-3 and out.max() <= 255 + 1e-3
    assert not np.allclose(out, x) and not np.allclose(out[0], out[1])  # one map per image
    assert np.all(out[:, 0, 0, 0] > 250)  # corners: paper, not black fill
    # The transform matrices: rotation and scale only change the 2x2 part; the centre stays fixed.
    layer = RandomAffine(rotation=10, shear=0, scale=0, translation=0, seed=0)
    t = keras.ops.convert_to_numpy(layer.transforms(4, 9, 9))
    centre = np.array([4.0, 4.0])
    mapped = np.stack([t[:, 0] * 4 + t[:, 1] * 4 + t[:, 2], t[:, 3] * 4 + t[:, 4] * 4 + t[:, 5]], axis=1)
    np.testing.assert_allclose(mapped, np.tile(centre, (4, 1)), atol=1e-5)
    np.testing.assert_allclose(t[:, 0], t[:, 4], atol=1e-6)  # a pure rotation: cos on the diagonal


def test_round_trip_and_bad_ranges():
    layer = RandomAffine(rotation=5, shear=0.1, fill_value=0.0, seed=3)
    back = RandomAffine.from_config(layer.get_config())
    assert back.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="shear"):
        RandomAffine(shear=1.5)
    assert RandomAffine.from_config(RandomAffine(fill_mode="nearest").get_config()).fill_mode == "nearest"
    with pytest.raises(ValueError, match="fill_mode"):
        RandomAffine(fill_mode="wrap")
