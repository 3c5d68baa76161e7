"""Checks of exercise 7: fans and scales against ``keras.initializers``, the deep ReLU stack in closed form."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, expect_equal, function_of

NUMBER = 7
TITLE = "Weight initialisation: Xavier vs He"
LECTURE = "Initialisation: keep the activation variance constant through a deep ReLU network"

_FANS_HINT = ("Revisit the fans: a dense kernel (in, out) has fan_in = in, fan_out = out; a conv kernel "
              "(*kernel_size, in, out) multiplies both by its receptive field prod(kernel_size).")
_SCALE_HINT = ("Revisit the variances: Glorot/Xavier Var(W) = 2 / (fan_in + fan_out), He Var(W) = 2 / fan_in "
               "(the 2 makes up for the half of the units a ReLU zeroes); a uniform on [-a, a] has variance a**2/3.")
_STACK_HINT = ("Revisit the deep ReLU stack: each layer multiplies E[x**2] by fan_in * Var(W) / 2, which is 1 with "
               "He and 1/2 with Xavier (so the std shrinks by 1/sqrt(2) per layer); use x = relu(x @ W) with "
               "W = initialize(kind, 'normal', (width, width), rng) and record x.std() after every layer.")

_KERAS = {("glorot", "normal"): "GlorotNormal", ("glorot", "uniform"): "GlorotUniform",
          ("he", "normal"): "HeNormal", ("he", "uniform"): "HeUniform"}
_KERNELS = ((64, 10), (3, 3, 16, 32), (5, 8, 4), (3, 3, 3, 2, 4), (7, 7, 3, 64))


def _fans(shape):
    receptive_field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return receptive_field * shape[-2], receptive_field * shape[-1]


def _keras_variance(kind, distribution, fan_in, fan_out):
    """The variance ``keras.initializers`` gives a kernel with these fans (``scale / n``, ``n`` from its mode)."""
    import keras

    initializer = getattr(keras.initializers, _KERAS[kind, distribution])()
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[initializer.mode]
    return initializer.scale / n


@check(points=1)
def fans_of_dense_and_conv_kernels(student):
    """fan_in and fan_out of dense, Conv1D, Conv2D and Conv3D kernels."""
    fans = function_of(student, "fans")
    for shape in _KERNELS:
        got = fans(shape)
        expect_equal(tuple(int(v) for v in got) if isinstance(got, (tuple, list)) else got, _fans(shape),
                     f"fans{shape}", _FANS_HINT)


def _compare_scales(student, function_name, distribution, value_of_variance):
    scale = function_of(student, function_name)
    for shape in _KERNELS:
        fan_in, fan_out = _fans(shape)
        for kind in ("glorot", "he"):
            expected = value_of_variance(_keras_variance(kind, distribution, fan_in, fan_out))
            expect_close(scale(kind, fan_in, fan_out), expected,
                         f"{function_name}({kind!r}, fan_in={fan_in}, fan_out={fan_out}) "
                         f"(keras.initializers.{_KERAS[kind, distribution]})", _SCALE_HINT)


@check(points=1)
def normal_std_matches_keras(student):
    """Glorot and He normal standard deviations equal keras.initializers' (GlorotNormal, HeNormal)."""
    _compare_scales(student, "init_std", "normal", np.sqrt)


@check(points=1)
def uniform_limit_matches_keras(student):
    """Glorot and He uniform limits equal keras.initializers' (GlorotUniform, HeUniform)."""
    _compare_scales(student, "uniform_limit", "uniform", lambda variance: np.sqrt(3 * variance))


@check(points=1, hidden=True)
def initialize_has_keras_variance(student):
    """Sampled kernels (normal and uniform) have the variance keras.initializers gives the same shape."""
    initialize = function_of(student, "initialize")
    for number, shape in enumerate(((3, 3, 32, 64), (256, 128), (5, 64, 96))):
        for (kind, distribution), name in _KERAS.items():
            got = np.asarray(initialize(kind, distribution, shape, np.random.default_rng(number)), dtype=float)
            what = f"initialize({kind!r}, {distribution!r}, {shape})"
            if got.shape != shape:
                raise CheckFailed(f"{what}: expected shape {shape}, got {got.shape}. {_SCALE_HINT}")
            variance = _keras_variance(kind, distribution, *_fans(shape))
            expect_close(got.std(), np.sqrt(variance), f"{what}: std (as keras.initializers.{name})", _SCALE_HINT,
                         rtol=0.05)
            if abs(got.mean()) > 0.1 * np.sqrt(variance):
                raise CheckFailed(f"{what}: the mean is {got.mean():.3g}, expected about 0. {_SCALE_HINT}")
            if distribution == "uniform":
                expect_close(np.abs(got).max(), np.sqrt(3 * variance), f"{what}: largest |w|", _SCALE_HINT,
                             rtol=0.02)


def _expected_stds(kind, depth):
    """Per-layer std of relu(x @ W) for a wide layer with Gaussian pre-activations, from x ~ N(0, 1)."""
    gain = 1.0 if kind == "he" else 0.5  # fan_in * Var(W) / 2 for a square layer
    pre_activation_variance = 2.0 * gain * gain ** np.arange(depth)  # layer 1: fan_in * Var(W) * 1
    return np.sqrt(pre_activation_variance * (0.5 - 0.5 / np.pi))


def _check_stack(student, kind, cases):
    stack = function_of(student, "relu_stack_stds")
    depth, width, batch, seed = cases[0]
    runs = [np.asarray(stack(kind, depth=depth, width=width, batch=batch, seed=s), dtype=float)
            for s in (seed, seed + 7)]
    if runs[0].shape == runs[1].shape and np.allclose(runs[0], runs[1]):
        raise CheckFailed(f"relu_stack_stds({kind!r}) gave the same stds for seeds {seed} and {seed + 7}: run the "
                          f"experiment with random weights and inputs drawn from np.random.default_rng(seed). "
                          f"{_STACK_HINT}")
    for depth, width, batch, seed in cases:
        got = np.asarray(stack(kind, depth=depth, width=width, batch=batch, seed=seed), dtype=float).ravel()
        what = f"relu_stack_stds({kind!r}, depth={depth}, width={width})"
        if got.shape != (depth,):
            raise CheckFailed(f"{what}: expected {depth} stds (one per layer), got shape {got.shape}. {_STACK_HINT}")
        expected = _expected_stds(kind, depth)
        ratio = got / expected
        if not np.all(np.isfinite(ratio)) or np.any(ratio < 0.5) or np.any(ratio > 2.0):
            layer = int(np.argmax(~np.isfinite(ratio) | (ratio < 0.5) | (ratio > 2.0)))
            raise CheckFailed(f"{what}: std after layer {layer + 1}: expected about {expected[layer]:.4g} "
                              f"(closed form, within a factor 2), got {got[layer]:.4g}; all layers: "
                              f"{np.array2string(got, precision=3)}. {_STACK_HINT}")


@check(points=2)
def relu_stack_he_keeps_the_scale(student):
    """With He initialisation the activation std stays about sqrt(1 - 1/pi) in every layer."""
    _check_stack(student, "he", ((10, 256, 512, 0), (6, 384, 256, 1)))


@check(points=1)
def relu_stack_xavier_shrinks(student):
    """With Xavier initialisation the activation std shrinks by about 1/sqrt(2) per ReLU layer."""
    _check_stack(student, "glorot", ((10, 256, 512, 2), (6, 384, 256, 3)))
