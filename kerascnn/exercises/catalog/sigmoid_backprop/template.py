# kerascnn exercise: sigmoid_backprop
"""Exercise 4: backpropagation for the multilayer perceptron with sigmoid units and squared error.

Lecture idea: the error signal delta of a layer is the next layer's delta sent back through the
weights, times the local derivative of the sigmoid, sigma'(z) = a (1 - a). With rows as examples:

    forward    a_0 = X,  z_l = a_{l-1} W_l + b_l,  a_l = sigmoid(z_l)      (every layer, output too)
    error      E = 1/2 * sum over examples and outputs of (a_L - T)^2     (a SUM, not a mean)
    output     delta_L = (a_L - T) * a_L * (1 - a_L)
    hidden     delta_l = (delta_{l+1} W_{l+1}^T) * a_l * (1 - a_l)
    gradients  dE/dW_l = a_{l-1}^T delta_l,   dE/db_l = sum of delta_l over the examples

``weights`` and ``biases`` are lists, one (n_in, n_out) matrix and one (n_out,) vector per layer.
Check yourself with ``kerascnn exercises check sigmoid_backprop.py``.
"""

import numpy as np


def sigmoid(z):
    """The logistic function 1 / (1 + exp(-z)), elementwise."""
    raise NotImplementedError("TODO: the logistic function")


def forward(weights, biases, X):
    """Return the list of activations ``[X, a_1, ..., a_L]`` (L + 1 arrays)."""
    raise NotImplementedError("TODO: apply every layer with the sigmoid")


def squared_error(output, T):
    """E = 0.5 * sum((output - T) ** 2)."""
    raise NotImplementedError("TODO: the squared error")


def backward(weights, activations, T):
    """Return ``(grads_W, grads_b)``: lists of dE/dW_l and dE/db_l, in the order of ``weights``.

    ``activations`` is what ``forward`` returned.
    """
    raise NotImplementedError("TODO: the deltas from the output layer back, then the gradients")


def train_step(weights, biases, X, T, lr):
    """One step of gradient descent: return new lists ``(weights, biases)`` with W - lr * dE/dW."""
    raise NotImplementedError("TODO: forward, backward, update")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    T = np.array([[0.0], [1.0], [1.0], [0.0]])  # XOR
    weights = [rng.standard_normal((2, 4)), rng.standard_normal((4, 1))]
    biases = [np.zeros(4), np.zeros(1)]
    for step in range(5001):
        if step % 1000 == 0:
            print(f"step {step}: E = {squared_error(forward(weights, biases, X)[-1], T):.4f}")
        weights, biases = train_step(weights, biases, X, T, lr=2.0)
