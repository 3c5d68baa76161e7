"""3D CNNs of the zoo: torchvision's parameter oracle, the papers' layer shapes, the lecture's Conv3D example."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from kerascnn import models
from kerascnn.analysis.summary import summarize
from kerascnn.core.errors import UsageError

VOLUME_MODELS = ("voxnet", "c3d", "r3d_18", "mc3_18", "r2plus1d_18")


def trainable(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("r3d_18", 33_371_472), ("mc3_18", 11_695_440), ("r2plus1d_18", 31_505_325)],
)
def test_video_resnets_match_torchvision_parameter_counts(name, expected):
    model = models.build(name)  # 400 classes, 16x112x112x3
    assert model.input_shape == (None, 16, 112, 112, 3)
    assert model.output_shape == (None, 400)
    assert trainable(model) == expected


def test_video_resnets_downsample_time_as_in_the_paper():
    r3d = models.build("r3d_18", include_top=False)
    mc3 = models.build("mc3_18", include_top=False)
    r21d = models.build("r2plus1d_18", include_top=False)
    assert r3d.output_shape == (None, 2, 7, 7, 512)  # 16 frames halved in stages 3-5
    assert mc3.output_shape == (None, 16, 7, 7, 512)  # mixed convolutions keep every frame
    assert r21d.output_shape == (None, 2, 7, 7, 512)
    # (2+1)D block of stage 3, first conv: midplanes = (64*128*27) // (64*9 + 3*128) = 230
    assert r21d.get_layer("conv3_block1_1_spatial_conv").filters == 230
    assert models.build("mc3_18").get_layer("conv3_block1_1_conv").kernel_size == (1, 3, 3)


def test_voxnet_has_the_papers_shapes_and_parameters():
    model = models.build("voxnet")
    assert model.input_shape == (None, 32, 32, 32, 1)
    assert model.get_layer("conv1").output.shape == (None, 14, 14, 14, 32)
    assert model.get_layer("conv2").output.shape == (None, 12, 12, 12, 32)
    assert model.get_layer("pool").output.shape == (None, 6, 6, 6, 32)
    # conv1 4,032 + conv2 27,680 + fc1 6,912*128+128 + fc2 128*10+10
    assert trainable(model) == 4_032 + 27_680 + 884_864 + 1_290 == 917_866


def test_c3d_at_paper_width_has_the_papers_shapes_and_parameters():
    model = models.build("c3d", width=64, fc_units=4096)  # 16x112x112x3, 487 classes (Sports-1M)
    shapes = {name: model.get_layer(name).output.shape[1:] for name in ("pool1", "pool2", "pool3", "pool4", "pool5")}
    assert shapes == {"pool1": (16, 56, 56, 64), "pool2": (8, 28, 28, 128), "pool3": (4, 14, 14, 256),
                      "pool4": (2, 7, 7, 512), "pool5": (1, 4, 4, 512)}
    convs = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512), (512, 512)]
    expected = sum(27 * cin * cout + cout for cin, cout in convs)
    expected += (8192 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 487 + 487)
    assert trainable(model) == expected == 79_991_015


def test_c3d_default_is_small_and_takes_any_clip_size():
    model = models.build("c3d", input_shape=(16, 64, 64, 1), classes=8)
    assert model.output_shape == (None, 8)
    assert trainable(model) < 1_000_000
    assert models.build("c3d", input_shape=(8, 32, 32, 3), classes=5).output_shape == (None, 5)
    assert models.build("c3d", include_top=False, pooling="avg").output_shape == (None, 32)
    assert models.build("voxnet", include_top=False, pooling="max").output_shape == (None, 32)
    assert models.build("r3d_18", include_top=False, pooling="avg").output_shape == (None, 512)


def test_the_zoo_lists_the_five_volume_models_with_the_volume_task():
    assert set(models.names(task="volume")) == set(VOLUME_MODELS)
    assert {models.get_spec(n).default_input_shape for n in VOLUME_MODELS} == {(32, 32, 32, 1), (16, 112, 112, 3)}


def test_volume_models_refuse_bad_shapes_in_one_line():
    with pytest.raises(UsageError, match="input_shape"):
        models.build("r3d_18", input_shape=(112, 112, 3))
    with pytest.raises(UsageError, match="at least 10x10"):
        models.build("voxnet", input_shape=(8, 8, 8, 1))


def test_the_lectures_conv3d_example():
    """(20, 16, 10, 50, 100) channels-first, 33 filters, kernel (3, 5, 2), stride (2, 1, 1), padding (4, 2, 0)."""
    channels_first = keras.Input(shape=(16, 10, 50, 100), batch_size=20)
    x = layers.Permute((2, 3, 4, 1))(channels_first)  # to channels-last (D, H, W, C)
    x = layers.ZeroPadding3D((4, 2, 0))(x)
    x = layers.Conv3D(33, (3, 5, 2), strides=(2, 1, 1), name="conv")(x)
    out = layers.Permute((4, 1, 2, 3))(x)
    model = keras.Model(channels_first, out)
    assert tuple(out.shape) == (20, 33, 8, 50, 99)
    y = model(np.zeros((20, 16, 10, 50, 100), "float32"))
    assert tuple(y.shape) == (20, 33, 8, 50, 99)
    row = next(r for r in summarize(model).layers if r.name == "conv")
    assert row.macs == 8 * 50 * 99 * 33 * (3 * 5 * 2 * 16)
    assert row.trainable_params == 33 * (3 * 5 * 2 * 16) + 33
