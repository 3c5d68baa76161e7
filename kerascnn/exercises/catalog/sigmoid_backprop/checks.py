"""Checks of exercise 4: values from the reference network and numerical gradients, on inputs drawn here."""

import numpy as np

from kerascnn.exercises.catalog.sigmoid_backprop import solution as reference
from kerascnn.exercises.checking import CheckFailed, check, expect_close, function_of

NUMBER = 4
TITLE = "Backpropagation for the sigmoid MLP with squared error"
LECTURE = "The delta rule: delta_l = (delta_{l+1} W^T) * a (1 - a); gradients a^T delta"

DELTA_HINT = ("Revisit the deltas: output delta_L = (a_L - T) * a_L * (1 - a_L) (sigma'(z) written with the "
              "activation a, not sigmoid(a)); hidden delta_l = (delta_{l+1} W_{l+1}^T) * a_l * (1 - a_l); "
              "dE/dW_l = a_{l-1}^T delta_l, dE/db_l = delta_l summed over examples.")


def _network(seed, sizes, n=5):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((a, b)) for a, b in zip(sizes, sizes[1:])]
    biases = [rng.standard_normal(b) for b in sizes[1:]]
    X = rng.standard_normal((n, sizes[0]))
    T = rng.uniform(0, 1, (n, sizes[-1]))
    return weights, biases, X, T


def _gradients(student, weights, biases, X, T):
    forward, backward = function_of(student, "forward"), function_of(student, "backward")
    activations = forward([w.copy() for w in weights], [b.copy() for b in biases], X)
    got = backward([w.copy() for w in weights], activations, T)
    if not isinstance(got, tuple) or len(got) != 2 or len(got[0]) != len(weights) or len(got[1]) != len(biases):
        raise CheckFailed(f"backward must return (grads_W, grads_b), two lists of {len(weights)} arrays")
    return got


@check(points=1)
def sigmoid_values(student):
    """sigmoid(z) = 1 / (1 + exp(-z)) elementwise."""
    z = np.random.default_rng(1).normal(0, 3, (4, 3))
    expect_close(function_of(student, "sigmoid")(z), 1 / (1 + np.exp(-z)), "sigmoid of a 4x3 array",
                 "Revisit the logistic function: 1 / (1 + exp(-z)), applied elementwise.")


@check(points=1)
def forward_activations(student):
    """forward returns [X, a_1, ..., a_L] with sigmoid on every layer."""
    weights, biases, X, _ = _network(2, (3, 4, 2))
    got = function_of(student, "forward")(weights, biases, X)
    want = reference.forward(weights, biases, X)
    if not isinstance(got, (list, tuple)) or len(got) != len(want):
        raise CheckFailed(f"forward of a 2-layer net: expected a list of {len(want)} arrays [X, a_1, a_2], "
                          f"got {type(got).__name__} of length {len(got) if hasattr(got, '__len__') else '?'}")
    for layer in range(1, len(want)):
        expect_close(got[layer], want[layer], f"activation a_{layer}",
                     "Revisit the forward pass: a_l = sigmoid(a_{l-1} W_l + b_l) on every layer, the output too.")


@check(points=1)
def output_layer_gradient(student):
    """backward of a one-layer net: the output delta (a - T) a (1 - a)."""
    weights, biases, X, T = _network(3, (4, 3), n=6)
    grads_W, grads_b = _gradients(student, weights, biases, X, T)
    want_W, want_b = reference.backward(weights, reference.forward(weights, biases, X), T)
    expect_close(grads_W[0], want_W[0], "dE/dW of a one-layer net", DELTA_HINT)
    expect_close(grads_b[0], want_b[0], "dE/db of a one-layer net", DELTA_HINT)


def _numerical(weights, biases, X, T, which, layer, h=1e-6):
    params = weights if which == "W" else biases
    grad = np.zeros_like(params[layer])
    for index in np.ndindex(grad.shape):
        saved = params[layer][index]
        values = []
        for step in (h, -h):
            params[layer][index] = saved + step
            values.append(reference.squared_error(reference.forward(weights, biases, X)[-1], T))
        params[layer][index] = saved
        grad[index] = (values[0] - values[1]) / (2 * h)
    return grad


@check(points=2)
def gradient_check(student):
    """backward of a 3-layer net matches the numerical gradient of E."""
    weights, biases, X, T = _network(4, (3, 5, 4, 2))
    grads_W, grads_b = _gradients(student, weights, biases, X, T)
    for layer in range(len(weights) - 1, -1, -1):
        expect_close(grads_W[layer], _numerical(weights, biases, X, T, "W", layer),
                     f"dE/dW_{layer + 1} (numerical gradient check)", DELTA_HINT, rtol=1e-4, atol=1e-7)
        expect_close(grads_b[layer], _numerical(weights, biases, X, T, "b", layer),
                     f"dE/db_{layer + 1} (numerical gradient check)", DELTA_HINT, rtol=1e-4, atol=1e-7)


@check(points=1, hidden=True)
def deep_network(student):
    """backward of 5-layer nets of several widths matches the reference."""
    for seed, sizes in ((5, (2, 6, 3, 5, 4, 1)), (6, (7, 2, 8, 3, 6, 3))):
        weights, biases, X, T = _network(seed, sizes, n=4)
        grads_W, grads_b = _gradients(student, weights, biases, X, T)
        want_W, want_b = reference.backward(weights, reference.forward(weights, biases, X), T)
        for layer in range(len(weights)):
            expect_close(grads_W[layer], want_W[layer], f"dE/dW_{layer + 1} of a net {sizes}", DELTA_HINT)
            expect_close(grads_b[layer], want_b[layer], f"dE/db_{layer + 1} of a net {sizes}", DELTA_HINT)


@check(points=1, hidden=True)
def training_step(student):
    """train_step moves every parameter by -lr * gradient and lowers E."""
    weights, biases, X, T = _network(7, (2, 4, 1), n=4)
    new_W, new_b = function_of(student, "train_step")([w.copy() for w in weights], [b.copy() for b in biases],
                                                      X, T, 0.5)
    want_W, want_b = reference.train_step(weights, biases, X, T, 0.5)
    hint = "Revisit gradient descent: W_new = W - lr * dE/dW (minus: downhill), for every layer and bias."
    for layer in range(len(weights)):
        expect_close(new_W[layer], want_W[layer], f"W_{layer + 1} after one step with lr=0.5", hint)
        expect_close(new_b[layer], want_b[layer], f"b_{layer + 1} after one step with lr=0.5", hint)
