# kerascnn exercise: optimizers
"""Reference solution of exercise 5 (teachers only): optimisers in NumPy, with Keras's exact update rules."""

import numpy as np


def sgd(w, grad, state, lr=0.01):
    return w - lr * grad


def momentum(w, grad, state, lr=0.01, mu=0.9):
    state["v"] = mu * state.get("v", np.zeros_like(w)) - lr * grad
    return w + state["v"]


def nesterov(w, grad, state, lr=0.01, mu=0.9):
    state["v"] = mu * state.get("v", np.zeros_like(w)) - lr * grad
    return w + mu * state["v"] - lr * grad


def adagrad(w, grad, state, lr=0.001, initial_accumulator=0.1, eps=1e-7):
    state["acc"] = state.get("acc", np.full_like(w, initial_accumulator)) + grad**2
    return w - lr * grad / np.sqrt(state["acc"] + eps)


def rmsprop(w, grad, state, lr=0.001, rho=0.9, eps=1e-7):
    state["v"] = rho * state.get("v", np.zeros_like(w)) + (1 - rho) * grad**2
    return w - lr * grad / np.sqrt(state["v"] + eps)


def _adam(w, grad, state, lr, beta1, beta2, eps, amsgrad):
    t = state["t"] = state.get("t", 0) + 1
    state["m"] = beta1 * state.get("m", np.zeros_like(w)) + (1 - beta1) * grad
    state["v"] = beta2 * state.get("v", np.zeros_like(w)) + (1 - beta2) * grad**2
    v = state["v"]
    if amsgrad:
        v = state["v_max"] = np.maximum(state.get("v_max", np.zeros_like(w)), state["v"])
    alpha = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - alpha * state["m"] / (np.sqrt(v) + eps)


def adam(w, grad, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    return _adam(w, grad, state, lr, beta1, beta2, eps, amsgrad=False)


def amsgrad(w, grad, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    return _adam(w, grad, state, lr, beta1, beta2, eps, amsgrad=True)


if __name__ == "__main__":
    def gradient(w):  # of f(w) = (w0 - 1)^2 + 10 (w1 + 2)^2
        return np.array([2 * (w[0] - 1), 20 * (w[1] + 2)])

    for step in (sgd, momentum, nesterov, adagrad, rmsprop, adam, amsgrad):
        w, state = np.zeros(2), {}
        for _ in range(200):
            w = step(w, gradient(w), state, lr=0.05)
        print(f"{step.__name__:9s} after 200 steps: w = {np.round(w, 3)} (minimum at [1, -2])")
