# kerascnn exercise: two_layer_net
"""Exercise 3: the homework network, a two-layer neural network in NumPy.

Lecture idea: a network is a composition of simple functions; backpropagation is the chain rule
applied backwards through them. Here: scores = ReLU(X W1 + b1) W2 + b2, trained with the softmax
cross-entropy loss and plain gradient descent, on the homework's data set (2 inputs, 4 classes,
500 samples; the first 400 are for training, the last 100 for testing). A linear classifier gets
about 30 % on it; your network should get above 85 %.

Fill in every function that raises NotImplementedError. Shapes: X is (N, D), y is (N,) integer
labels in 0..C-1, W1 (D, H), b1 (H,), W2 (H, C), b2 (C,). Check yourself with

    kerascnn exercises check two_layer_net.py
"""

import numpy as np

CLASSES = 4


def make_data(seed=0, samples=500, classes=CLASSES, noise=0.2):
    """The homework data set (given): 2-D points on interleaved spiral arms, shuffled with ``seed``.

    Returns ``X`` (samples, 2) and ``y`` (samples,); first 400 = training set, last 100 = test set.
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
    """Small random weights and zero biases (given)."""
    rng = np.random.default_rng(seed)
    return {"W1": scale * rng.standard_normal((n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": scale * rng.standard_normal((n_hidden, n_out)), "b2": np.zeros(n_out)}


def forward(params, X):
    """Return ``(scores, cache)``: scores = ReLU(X W1 + b1) W2 + b2, shape (N, C).

    ``cache`` is whatever ``backward`` needs later (e.g. X, the pre-activation and the hidden layer).
    """
    raise NotImplementedError("TODO: compute the hidden layer with ReLU, then the scores")


def softmax_cross_entropy(scores, y):
    """Return ``(loss, dscores)``: the mean softmax cross-entropy over the N rows and its gradient.

    loss = -(1/N) sum_i log softmax(scores_i)[y_i]; dscores = (softmax(scores) - onehot(y)) / N.
    Subtract each row's maximum before exponentiating, so scores of 1000 do not overflow.
    """
    raise NotImplementedError("TODO: stable softmax, mean negative log-likelihood, gradient")


def backward(params, cache, dscores):
    """Return the gradients ``{"W1", "b1", "W2", "b2"}`` of the loss, given dL/dscores.

    Chain rule backwards: through W2 (dW2 = h^T dscores), the ReLU (gradient 0 where the
    pre-activation was <= 0), then W1.
    """
    raise NotImplementedError("TODO: backpropagate dscores to every parameter")


def loss_and_grads(params, X, y, reg=0.0):
    """Loss and gradients with L2 regularisation of the weights (not the biases):

    loss = cross-entropy + 0.5 * reg * (sum(W1**2) + sum(W2**2)); dW += reg * W.
    """
    raise NotImplementedError("TODO: forward, softmax_cross_entropy, backward, plus the L2 term")


def train(X, y, hidden=100, lr=1.0, reg=1e-3, epochs=500, seed=0):
    """Full-batch gradient descent from ``init_params(D, hidden, C, seed)``: ``epochs`` steps of
    ``param -= lr * grad``. Return the trained params."""
    raise NotImplementedError("TODO: the training loop")


def predict(params, X):
    """The predicted class of each row of X (argmax of the scores)."""
    raise NotImplementedError("TODO: argmax of forward's scores")


if __name__ == "__main__":
    X, y = make_data()
    params = train(X[:400], y[:400])
    print(f"test accuracy {np.mean(predict(params, X[400:]) == y[400:]):.2f}")
