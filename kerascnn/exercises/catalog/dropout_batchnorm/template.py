"""Exercise 6: inverted dropout and batch normalisation, forward pass (train vs test).

Lecture idea: both layers behave differently while training and at test time.

* Dropout (Srivastava et al. 2014) keeps each unit with probability ``p`` while
  training. *Inverted* dropout divides the survivors by ``p`` during training, so the
  expected activation is unchanged and the test-time forward pass is the identity
  (no rescaling at test time).
* Batch normalisation (Ioffe & Szegedy 2015) normalises each channel with the
  *batch* mean and variance while training and updates running averages
  ``running = momentum * running + (1 - momentum) * batch_statistic``; at test time it
  uses the running averages instead (one example must not depend on the others).
  Then it scales and shifts: ``gamma * x_hat + beta``.

Work in NumPy. Your functions are compared with ``keras.layers.BatchNormalization``
(which uses the biased batch variance, ``x.var(axis)``) and checked statistically.
"""

import numpy as np


def dropout_forward(x, keep_prob, training, rng):
    """Inverted dropout.

    Args:
        x: array of any shape.
        keep_prob: probability ``p`` of *keeping* a unit (0 < p <= 1).
        training: True while training, False at test time.
        rng: a ``numpy.random.Generator`` to draw the mask with.

    Returns:
        An array shaped like ``x``.
    """
    # Hint: mask = rng.random(x.shape) < keep_prob; think about what the kept units
    # must be divided by so that E[output] == x, and what happens at test time.
    raise NotImplementedError("TODO: inverted dropout (mask while training, identity at test time)")


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.99, epsilon=1e-3):
    """Batch normalisation over every axis but the last (the channels).

    Args:
        x: ``(N, C)`` or ``(N, H, W, C)`` array.
        gamma, beta: ``(C,)`` scale and shift.
        running_mean, running_var: ``(C,)`` running statistics (Keras's moving mean/variance).
        training: True: normalise with the batch statistics and update the running ones.
            False: normalise with the running statistics and leave them unchanged.
        momentum, epsilon: as in ``keras.layers.BatchNormalization``.

    Returns:
        ``(out, new_running_mean, new_running_var)``.
    """
    # Hint: axes = tuple(range(x.ndim - 1)); mean = x.mean(axes); var = x.var(axes)
    # x_hat = (x - mean) / sqrt(var + epsilon)
    raise NotImplementedError("TODO: batch normalisation forward (batch stats + running update / running stats)")


if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3))
    print(dropout_forward(x, 0.5, True, rng))
    out, mean, var = batchnorm_forward(x, np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True)
    print(out.mean(0), out.std(0), mean, var)
