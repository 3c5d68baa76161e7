"""kerascnn.training.schedules: closed-form values, spec parsing, errors, serialisation in a saved model."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from kerascnn.training import schedules
from kerascnn.core.errors import UsageError

LR = 0.1
SPE = 10  # steps per epoch


def lrs(spec, epochs=10, steps=None, **params):
    learning_rate = schedules.build(spec, initial_lr=LR, steps_per_epoch=SPE, epochs=epochs, **params)
    return schedules.values(learning_rate, steps or epochs * SPE)


def test_names_and_callback_flag():
    assert schedules.names() == ["constant", "step", "exponential", "inverse-time", "cosine", "cyclical", "plateau"]
    assert schedules.is_callback("plateau") and schedules.is_callback("reduce-on-plateau:patience=2")
    assert not any(schedules.is_callback(n) for n in schedules.names() if n != "plateau")


def test_constant_and_plateau_give_a_float():
    for spec in ("constant", "plateau"):
        assert schedules.build(spec, initial_lr=0.01, steps_per_epoch=5, epochs=3) == 0.01
    np.testing.assert_allclose(lrs("constant"), np.full(100, LR))


def test_step_drops_by_factor_every_n_epochs():
    v = lrs("step:every=3,factor=0.5")
    np.testing.assert_allclose(v[[0, 29, 30, 59, 60, 99]], LR * np.array([1, 1, 0.5, 0.5, 0.25, 0.125]), rtol=1e-6)


def test_step_default_drops_twice_by_ten():
    v = lrs("step", epochs=9)  # every = ceil(9 / 3) = 3 epochs
    np.testing.assert_allclose(v[[0, 29, 30, 60, 89]], LR * np.array([1, 1, 0.1, 0.01, 0.01]), rtol=1e-5)


def test_exponential_is_smooth_and_reaches_one_percent_by_default():
    v = lrs("exponential:rate=0.5")
    np.testing.assert_allclose(v[[0, 5, 10, 25]], LR * 0.5 ** np.array([0, 0.5, 1, 2.5]), rtol=1e-5)
    end = schedules.values(schedules.build("exponential", initial_lr=LR, steps_per_epoch=SPE, epochs=10), 101)[-1]
    assert end == pytest.approx(0.01 * LR, rel=1e-4)


def test_inverse_time_is_lr_over_one_plus_kt():
    v = lrs("inverse-time:decay=2")
    np.testing.assert_allclose(v[[0, 10, 35]], LR / (1 + 2 * np.array([0, 1, 3.5])), rtol=1e-5)
    name, params = schedules.resolve("inverse_time", epochs=10)
    assert name == "inverse-time" and params["decay"] == pytest.approx(0.9)  # 10 % of LR at the end


def test_cosine_without_warmup_endpoints():
    v = lrs("cosine:min=0.1", steps=101)
    assert v[0] == pytest.approx(LR)
    assert v[50] == pytest.approx(LR * (0.1 + 0.9 * 0.5), rel=1e-5)  # half-way: cos(pi/2) = 0
    assert v[100] == pytest.approx(0.1 * LR, rel=1e-5)


def test_cosine_with_warmup_endpoints():
    v = lrs("cosine:warmup=2", steps=101)  # 20 warm-up steps, 80 cosine steps
    assert v[0] == 0.0
    assert v[10] == pytest.approx(LR / 2, rel=1e-6)
    assert v[20] == pytest.approx(LR, rel=1e-6)
    assert v.argmax() == 20
    assert v[60] == pytest.approx(LR / 2, rel=1e-5)
    assert v[100] == pytest.approx(0.0, abs=1e-9)


def test_triangular_closed_form():
    step_size = 20  # 2 epochs
    v = lrs("cyclical:mode=triangular,step_size=2,min=0.2", steps=101)
    low = 0.2 * LR
    assert v[0] == pytest.approx(low)
    assert v[step_size // 2] == pytest.approx((low + LR) / 2)
    assert v[step_size] == pytest.approx(LR)
    assert v[2 * step_size] == pytest.approx(low)
    assert v[3 * step_size] == pytest.approx(LR)


def test_triangular2_halves_the_amplitude_every_cycle():
    v = lrs("triangular2:step_size=1,min=0.2", steps=101)
    low = 0.2 * LR
    peaks = [v[10], v[30], v[50]]
    np.testing.assert_allclose(peaks, [low + (LR - low) / 2**k for k in range(3)], rtol=1e-6)
    assert v[20] == pytest.approx(low) and v[40] == pytest.approx(low)


def test_exp_range_decays_the_amplitude_by_gamma_per_epoch():
    v = lrs("exp_range:step_size=1,min=0.2,gamma=0.5", steps=101)
    low = 0.2 * LR
    # peak of cycle k is at epoch 1 + 2k, amplitude x 0.5 per epoch
    np.testing.assert_allclose([v[10], v[30]], [low + (LR - low) * 0.5, low + (LR - low) * 0.5**3], rtol=1e-5)


def test_cyclical_layer_validates_arguments():
    with pytest.raises(ValueError, match="mode"):
        schedules.CyclicalLearningRate(0.01, 0.1, 10, mode="sine")
    with pytest.raises(ValueError, match="maximal_learning_rate"):
        schedules.CyclicalLearningRate(0.2, 0.1, 10)


def test_parse_syntax_aliases_and_resolve_defaults():
    assert schedules.parse(" step : every = 10 , factor=0.1 ") == ("step", {"every": 10.0, "factor": 0.1})
    assert schedules.parse("triangular2") == ("cyclical", {"mode": "triangular2"})
    assert schedules.parse("Cosine:warmup=2") == ("cosine", {"warmup": 2.0})
    name, params = schedules.resolve("cyclical:step_size=4", epochs=20, min=0.5)
    assert name == "cyclical"
    assert params["step_size"] == 4.0 and params["min"] == 0.5 and params["mode"] == "triangular"
    assert schedules.format_spec("step", {"every": 5.0, "factor": 0.1}) == "step:every=5,factor=0.1"
    assert schedules.parse(schedules.format_spec(name, params)) == (name, params)


def test_keyword_params_override_the_spec():
    v = lrs("step:every=3", factor=0.5)
    assert v[30] == pytest.approx(LR / 2)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("cosnie", "Unknown schedule 'cosnie'. Did you mean: cosine?"),
        ("step:evry=3", "Valid parameters: every, factor"),
        ("step:factor=2", "must be a number in (0, 1]"),
        ("step:factor=abc", "must be a number"),
        ("step:factor", "Expected KEY=VALUE"),
        ("step:every=1,every=2", "given twice"),
        ("cyclical:mode=sine", "triangular | triangular2 | exp_range"),
        ("plateau:patience=1.5", "an integer >= 0"),
        ("exponential:rate=nan", "(0, 1]"),
        ("", "Expected a schedule spec"),
    ],
)
def test_bad_specs_raise_one_line_usage_errors(spec, message):
    with pytest.raises(UsageError) as info:
        schedules.parse(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_build_arguments():
    with pytest.raises(UsageError, match="warm-up must be shorter"):
        schedules.build("cosine:warmup=5", initial_lr=LR, steps_per_epoch=SPE, epochs=5)
    with pytest.raises(UsageError, match="initial_lr"):
        schedules.build("step", initial_lr=0, steps_per_epoch=SPE, epochs=5)
    with pytest.raises(UsageError, match="steps_per_epoch"):
        schedules.build("step", initial_lr=LR, steps_per_epoch=0, epochs=5)
    with pytest.raises(UsageError, match="epochs"):
        schedules.build("step", initial_lr=LR, steps_per_epoch=SPE, epochs=2.5)


def test_plateau_callback_parameters():
    callback = schedules.plateau_callback("plateau:patience=5,factor=0.5", initial_lr=0.1)
    assert isinstance(callback, keras.callbacks.ReduceLROnPlateau)
    assert (callback.patience, callback.factor, callback.monitor) == (5, 0.5, "val_loss")
    assert callback.min_lr == pytest.approx(1e-4)  # default floor 0.001 x initial LR
    with pytest.raises(UsageError, match="plateau"):
        schedules.plateau_callback("cosine")


def test_describe_lists_every_schedule():
    text = schedules.describe()
    for name in schedules.names():
        assert f"\n{name}" in text


@pytest.mark.parametrize(
    "spec", ["step:every=1", "exponential", "inverse-time", "cosine:min=0.05", "cosine:warmup=1", "triangular2"]
)
def test_compiled_model_with_schedule_saves_and_loads(tmp_path, spec):
    learning_rate = schedules.build(spec, initial_lr=LR, steps_per_epoch=SPE, epochs=4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9), loss="mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), batch_size=4, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    saved_config = loaded.optimizer.get_config()["learning_rate"]
    assert saved_config == model.optimizer.get_config()["learning_rate"]
    restored = keras.optimizers.schedules.deserialize(saved_config)
    assert type(restored) is type(learning_rate)
    np.testing.assert_allclose(schedules.values(restored, 40), schedules.values(learning_rate, 40), rtol=1e-6)
    assert int(loaded.optimizer.iterations) == 2
    assert math.isclose(float(loaded.optimizer.learning_rate), float(model.optimizer.learning_rate), rel_tol=1e-6)
