# kerascnn exercise: two_layer_net
"""A wrong submission: backward without the ReLU mask: the homework's two-layer network in NumPy."""

import numpy as np

CLASSES = 4


def make_data(seed=0, samples=500, classes=CLASSES, noise=0.2):
    """The homework data set: 2-D points on ``classes`` interleaved spiral arms, shuffled with ``seed``.

    Returns ``X`` (samples, 2) float64 and ``y`` (samples,) int; the first 400 are the training
    set, the last 100 the test set.
    """
    rng = np.random.default_rng(seed)
    per_class = samples // classes
    points, labels = [], []
    for c in range(classes):
        radius = np.linspace(0.05, 1.0, per_class)
        angle = np.linspace(c * 2 * np.pi / classes, c * 2 * np.pi / classes + 1.5 * np.pi, per_class)
        angle = angle + rng.normal(0.0, noise, per_class)
        points.append(np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1))
        labels.append(np.full(per_class, c))
    X, y = np.concatenate(points), np.concatenate(labels)
    order = rng.permutation(len(y))
    return X[order], y[order]


def init_params(n_in, n_hidden, n_out, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return {"W1": scale * rng.standard_normal((n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": scale * rng.standard_normal((n_hidden, n_out)), "b2": np.zeros(n_out)}


def forward(params, X):
    z1 = X @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0.0)
    scores = h @ params["W2"] + params["b2"]
    return scores, (X, z1, h)


def softmax_cross_entropy(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -log_probs[np.arange(n), y].mean()
    dscores = np.exp(log_probs)
    dscores[np.arange(n), y] -= 1.0
    return loss, dscores / n


def backward(params, cache, dscores):
    X, z1, h = cache
    dW2 = h.T @ dscores
    db2 = dscores.sum(axis=0)
    dh = dscores @ params["W2"].T
    dz1 = dh  # forgot the ReLU mask
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": dW2, "b2": db2}


def loss_and_grads(params, X, y, reg=0.0):
    scores, cache = forward(params, X)
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = backward(params, cache, dscores)
    loss += 0.5 * reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    grads["W1"] = grads["W1"] + reg * params["W1"]
    grads["W2"] = grads["W2"] + reg * params["W2"]
    return loss, grads


def train(X, y, hidden=100, lr=1.0, reg=1e-3, epochs=500, seed=0):
    params = init_params(X.shape[1], hidden, int(y.max()) + 1, seed=seed)
    for _ in range(epochs):
        _, grads = loss_and_grads(params, X, y, reg)
        for key in params:
            params[key] -= lr * grads[key]
    return params


def predict(params, X):
    return np.argmax(forward(params, X)[0], axis=1)


if __name__ == "__main__":
    X, y = make_data()
    params = train(X[:400], y[:400])
    print(f"test accuracy {np.mean(predict(params, X[400:]) == y[400:]):.2f}")
