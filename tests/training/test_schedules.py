"""kerascnn.training.schedules: closed-form values, spec parsing (once, without TensorFlow), errors,
the listing from the table, serialisation in a saved model (kerascnn.nn.schedules)."""

from __future__ import annotations

import math
import subprocess
import sys

import keras
import numpy as np
import pytest

from kerascnn import cli
from kerascnn.core.errors import UsageError
from kerascnn.nn.schedules import CYCLICAL_MODES, CyclicalLearningRate
from kerascnn.training import schedules

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
        CyclicalLearningRate(0.01, 0.1, 10, mode="sine")
    with pytest.raises(ValueError, match="maximal_learning_rate"):
        CyclicalLearningRate(0.2, 0.1, 10)
    assert schedules.CYCLICAL_MODES == CYCLICAL_MODES  # the spec table and the layer accept the same modes


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


def test_describe_lists_every_parameter_with_its_default():
    text = schedules.describe()
    for name in schedules.names():
        for key, param in schedules.get_spec(name).params.items():
            assert f"  {key:<11}{param.help}; default {param.describe_default()}" in text, (name, key)
    assert "default ceil(epochs / 3)" in text and "default 0.1 " in text


def test_schedule_help_lists_the_parameters(capsys):
    """``kerascnn train --help`` points here for the parameters (issue 8): they must be listed."""
    with pytest.raises(SystemExit):
        cli.main(["schedule", "--help"])
    out = capsys.readouterr().out
    assert "warmup" in out and "step_size" in out and "patience" in out and "default" in out
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "kerascnn schedule list" in capsys.readouterr().out


def test_a_spec_is_parsed_into_one_schedule_object():
    schedule = schedules.parse("Step : every=2")
    assert isinstance(schedule, schedules.Schedule) and schedule == ("step", {"every": 2.0})
    assert schedules.parse(schedule) is schedule  # no second parse
    assert str(schedule) == "step:every=2" and schedules.parse(str(schedule)) == schedule
    assert not schedule.is_callback and schedules.parse("plateau").is_callback
    assert not schedule.uses_run_length and schedules.parse("step").uses_run_length  # default `every`: epochs / 3
    assert schedules.parse("cosine").uses_run_length and not schedules.parse("constant").uses_run_length
    assert schedule.resolve(9) == ("step", {"every": 2.0, "factor": 0.1})


def test_train_config_parses_the_schedule_once(monkeypatch):
    from kerascnn.training.config import TrainConfig

    calls = []
    parse = schedules.parse
    monkeypatch.setattr(schedules, "parse", lambda text: calls.append(text) or parse(text))
    config = TrainConfig.from_options("lenet5", "digits", schedule="step:every=2", epochs=4)
    config.command_line(), config.to_dict(), config.comparable()
    assert calls.count("step:every=2") == 1 and config.schedule == ("step", {"every": 2.0})
    assert config.to_dict()["schedule"] == "step:every=2"
    with pytest.raises(UsageError, match="warm-up must be shorter"):
        TrainConfig.from_options("lenet5", "digits", schedule="cosine:warmup=3", epochs=3)


ERROR_PATHS_WITHOUT_TENSORFLOW = """
import sys
from kerascnn.core.errors import UsageError
from kerascnn.data import augment
from kerascnn.training import schedules
from kerascnn.training.config import TrainConfig
bad = [lambda: schedules.parse("cosnie"), lambda: schedules.parse("step:factor=2"),
       lambda: schedules.build("step:evry=1", initial_lr=0.1, steps_per_epoch=1, epochs=1),
       lambda: augment.parse("flop"), lambda: augment.parse("rotate:999"), lambda: augment.build("zoom:x", (8, 8, 1)),
       lambda: TrainConfig.from_options("lenet5", "digits", schedule="step:every=0"),
       lambda: TrainConfig.from_options("lenet5", "digits", augment="sharpen"),
       lambda: TrainConfig.from_options("lenet5", "digits", optimizer="adamax")]
for call in bad:
    try:
        call()
    except UsageError:
        pass
    else:
        raise SystemExit("no error")
assert augment.mirror_warning("flip", "mnist")
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "imported TensorFlow"
"""


def test_error_paths_of_the_spec_parsers_import_no_tensorflow():
    done = subprocess.run([sys.executable, "-c", ERROR_PATHS_WITHOUT_TENSORFLOW], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


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
