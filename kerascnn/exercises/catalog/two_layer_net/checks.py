"""Checks of exercise 3: every value is compared with the reference network on inputs drawn here."""

import numpy as np

from kerascnn.exercises.catalog.two_layer_net import solution as reference
from kerascnn.exercises.checking import CheckFailed, check, expect_close, function_of

NUMBER = 3
TITLE = "The homework network: a two-layer net in NumPy"
LECTURE = "Backpropagation as the chain rule; softmax cross-entropy; gradient checking"

ACCURACY_FLOOR = 0.85


def _problem(seed, n=7, d=3, hidden=5, classes=4):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((d, hidden)), "b1": rng.standard_normal(hidden),
              "W2": rng.standard_normal((hidden, classes)), "b2": rng.standard_normal(classes)}
    return params, rng.standard_normal((n, d)), rng.integers(0, classes, n)


def _copy(params):
    return {key: np.array(value, dtype=float) for key, value in params.items()}


@check(points=1)
def forward_pass(student):
    """forward: scores = ReLU(X W1 + b1) W2 + b2."""
    forward = function_of(student, "forward")
    for seed, n in ((1, 7), (2, 11)):
        params, X, _ = _problem(seed, n)
        got = forward(_copy(params), X)
        if not isinstance(got, tuple) or len(got) != 2:
            raise CheckFailed("forward must return a pair (scores, cache)")
        expect_close(got[0], reference.forward(params, X)[0], f"scores of a {n}-example batch",
                     "Revisit the forward pass: hidden = max(0, X W1 + b1), scores = hidden W2 + b2.")


@check(points=1)
def softmax_loss(student):
    """softmax_cross_entropy: the mean loss and its gradient (softmax - onehot) / N."""
    function = function_of(student, "softmax_cross_entropy")
    rng = np.random.default_rng(3)
    for n, classes in ((5, 4), (9, 3)):
        scores, y = rng.standard_normal((n, classes)) * 2, rng.integers(0, classes, n)
        loss, dscores = function(scores.copy(), y)
        want_loss, want_d = reference.softmax_cross_entropy(scores, y)
        expect_close(loss, want_loss, f"loss of {n} rows",
                     "Revisit the loss: the MEAN over rows of -log softmax(scores)[true class].")
        expect_close(dscores, want_d, f"dscores of {n} rows",
                     "Revisit the gradient: (softmax(scores) - onehot(y)) / N, the 1/N from the mean.")


@check(points=1, hidden=True)
def softmax_is_stable(student):
    """softmax_cross_entropy does not overflow on large scores."""
    function = function_of(student, "softmax_cross_entropy")
    rng = np.random.default_rng(4)
    scores, y = rng.standard_normal((6, 4)) + 1000.0, rng.integers(0, 4, 6)
    with np.errstate(all="ignore"):
        loss, dscores = function(scores.copy(), y)
    want_loss, want_d = reference.softmax_cross_entropy(scores, y)
    hint = "Subtract each row's maximum score before np.exp: softmax does not change, exp no longer overflows."
    expect_close(loss, want_loss, "loss for scores around 1000", hint)
    expect_close(dscores, want_d, "dscores for scores around 1000", hint)


def _numerical_gradient(params, X, y, key, h=1e-6):
    grad = np.zeros_like(params[key])
    for index in np.ndindex(grad.shape):
        saved = params[key][index]
        params[key][index] = saved + h
        plus = reference.loss_and_grads(params, X, y)[0]
        params[key][index] = saved - h
        minus = reference.loss_and_grads(params, X, y)[0]
        params[key][index] = saved
        grad[index] = (plus - minus) / (2 * h)
    return grad


@check(points=2)
def gradient_check(student):
    """loss_and_grads (reg=0): analytic gradients match the numerical gradient of the loss."""
    function = function_of(student, "loss_and_grads")
    params, X, y = _problem(5, n=8)
    loss, grads = function(_copy(params), X, y, 0.0)
    expect_close(loss, reference.loss_and_grads(params, X, y)[0], "loss with reg=0",
                 "Revisit loss_and_grads: forward, then softmax_cross_entropy.")
    for key in ("W2", "b2", "W1", "b1"):
        if not isinstance(grads, dict) or key not in grads:
            raise CheckFailed(f"loss_and_grads must return (loss, grads) with grads[{key!r}]")
        expect_close(grads[key], _numerical_gradient(_copy(params), X, y, key),
                     f"gradient of {key} (numerical gradient check)",
                     "Revisit backpropagation: the chain rule through W2, the ReLU mask (z1 > 0), then W1; "
                     "bias gradients sum over the batch.", rtol=1e-4, atol=1e-6)


@check(points=1, hidden=True)
def regularisation(student):
    """loss_and_grads with reg > 0: 0.5 * reg * sum(W**2) in the loss, reg * W in the gradient."""
    function = function_of(student, "loss_and_grads")
    params, X, y = _problem(6, n=6)
    loss, grads = function(_copy(params), X, y, 0.3)
    want_loss, want = reference.loss_and_grads(params, X, y, 0.3)
    hint = "Revisit L2 regularisation: loss += 0.5*reg*(sum(W1**2)+sum(W2**2)); dW += reg*W (biases are not regularised)."
    expect_close(loss, want_loss, "loss with reg=0.3", hint)
    for key in ("W1", "W2", "b1", "b2"):
        expect_close(grads[key], want[key], f"gradient of {key} with reg=0.3", hint)


@check(points=2)
def test_accuracy(student):
    """train + predict reach the accuracy floor on the homework's 100 test points."""
    train, predict = function_of(student, "train"), function_of(student, "predict")
    X, y = reference.make_data(seed=0)
    params = train(X[:400], y[:400], hidden=100, lr=1.0, reg=1e-3, epochs=500, seed=0)
    predicted = np.asarray(predict(params, X[400:]))
    if predicted.shape != (100,):
        raise CheckFailed(f"predict of 100 test points: expected shape (100,), got {predicted.shape}")
    accuracy = float(np.mean(predicted == y[400:]))
    if accuracy < ACCURACY_FLOOR:
        raise CheckFailed(f"test accuracy: expected at least {ACCURACY_FLOOR:.0%}, got {accuracy:.0%} "
                          "(a linear classifier gets about 30 %). Revisit the training loop: "
                          "params[key] -= lr * grads[key] for every key, epochs steps from init_params.")
