# kerascnn exercise: sigmoid_backprop
"""A wrong submission: the derivative as sigmoid(a)(1 - sigmoid(a)) of the activation: backpropagation for the sigmoid MLP."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))


def forward(weights, biases, X):
    activations = [X]
    for W, b in zip(weights, biases):
        activations.append(sigmoid(activations[-1] @ W + b))
    return activations


def squared_error(output, T):
    return 0.5 * np.sum((output - T) ** 2)


def backward(weights, activations, T):
    output = activations[-1]
    delta = (output - T) * sigmoid(output) * (1.0 - sigmoid(output))  # sigma applied twice
    grads_W, grads_b = [None] * len(weights), [None] * len(weights)
    for layer in range(len(weights) - 1, -1, -1):
        grads_W[layer] = activations[layer].T @ delta
        grads_b[layer] = delta.sum(axis=0)
        if layer > 0:
            a = activations[layer]
            delta = (delta @ weights[layer].T) * sigmoid(a) * (1.0 - sigmoid(a))
    return grads_W, grads_b


def train_step(weights, biases, X, T, lr):
    grads_W, grads_b = backward(weights, forward(weights, biases, X), T)
    return ([W - lr * g for W, g in zip(weights, grads_W)], [b - lr * g for b, g in zip(biases, grads_b)])


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
