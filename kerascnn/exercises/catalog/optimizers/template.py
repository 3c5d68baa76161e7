# kerascnn exercise: optimizers
"""Exercise 5: optimisers in NumPy, exactly as Keras implements them.

Lecture idea: every optimiser is plain gradient descent plus a little state: a velocity
(momentum, Nesterov), a running sum or average of squared gradients that gives each weight its own
step size (AdaGrad, RMSProp), or both with bias correction (Adam, AMSGrad). Your trajectories are
compared step by step with ``keras.optimizers`` on the same function, so follow Keras's conventions,
written out in each docstring (g is the gradient, t the step number starting at 1).

Every function takes the weights ``w`` (a NumPy array), their gradient ``grad``, a dict ``state``
(empty at the first step: keep your velocities/accumulators/step count in it, it is passed back
to you at the next step) and the hyperparameters; it returns the NEW weights.
Check yourself with ``kerascnn exercises check optimizers.py``.
"""

import numpy as np


def sgd(w, grad, state, lr=0.01):
    """w <- w - lr * g."""
    raise NotImplementedError("TODO: plain gradient descent")


def momentum(w, grad, state, lr=0.01, mu=0.9):
    """v <- mu * v - lr * g (v starts at 0);  w <- w + v.   (keras.optimizers.SGD(momentum=mu))"""
    raise NotImplementedError("TODO: keep the velocity in state")


def nesterov(w, grad, state, lr=0.01, mu=0.9):
    """v <- mu * v - lr * g;  w <- w + mu * v - lr * g.   (SGD(momentum=mu, nesterov=True))

    This is Nesterov's look-ahead rewritten so that the gradient is taken at the current w.
    """
    raise NotImplementedError("TODO: Nesterov momentum, Keras form")


def adagrad(w, grad, state, lr=0.001, initial_accumulator=0.1, eps=1e-7):
    """acc <- acc + g^2 (acc STARTS AT initial_accumulator, 0.1 in Keras, not 0);
    w <- w - lr * g / sqrt(acc + eps)   (eps inside the square root)."""
    raise NotImplementedError("TODO: AdaGrad")


def rmsprop(w, grad, state, lr=0.001, rho=0.9, eps=1e-7):
    """v <- rho * v + (1 - rho) * g^2 (v starts at 0);  w <- w - lr * g / sqrt(v + eps)."""
    raise NotImplementedError("TODO: RMSProp")


def adam(w, grad, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    """Adam with bias correction, in the efficient form of Kingma & Ba (2015, end of Section 2):

    t <- t + 1;  m <- beta1 * m + (1 - beta1) * g;  v <- beta2 * v + (1 - beta2) * g^2  (m, v start at 0)
    alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t)          (the bias correction)
    w <- w - alpha * m / (sqrt(v) + eps)
    """
    raise NotImplementedError("TODO: Adam with bias correction")


def amsgrad(w, grad, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7):
    """AMSGrad (Reddi et al. 2018): Adam, but with v_max <- max(v_max, v) (v_max starts at 0) used
    in place of v in the last line:  w <- w - alpha * m / (sqrt(v_max) + eps)."""
    raise NotImplementedError("TODO: AMSGrad")


if __name__ == "__main__":
    def gradient(w):  # of f(w) = (w0 - 1)^2 + 10 (w1 + 2)^2
        return np.array([2 * (w[0] - 1), 20 * (w[1] + 2)])

    for step in (sgd, momentum, nesterov, adagrad, rmsprop, adam, amsgrad):
        w, state = np.zeros(2), {}
        for _ in range(200):
            w = step(w, gradient(w), state, lr=0.05)
        print(f"{step.__name__:9s} after 200 steps: w = {np.round(w, 3)} (minimum at [1, -2])")
