"""Exercise 15: an MLP autoencoder and a small GAN on the 8x8 digits.

Lecture idea (MLPs, autoencoders, GANs):

* An autoencoder squeezes its input through a small *code* and learns to reconstruct it:
  ``64 -> hidden (ReLU) -> code (linear) -> hidden (ReLU) -> 64 (sigmoid)`` on 8x8 digits
  scaled to [0, 1], trained on the mean squared reconstruction error. The encoder is the
  first half (input -> code).
* A GAN (Goodfellow et al. 2014) trains a generator ``G(z)`` against a discriminator ``D(x)``
  that outputs a *logit* (``D = sigmoid(logit)`` is the probability that ``x`` is real).
  With binary cross-entropy on logits (``softplus(t) = log(1 + exp(t))``):

      discriminator loss = mean(softplus(-real_logits)) + mean(softplus(fake_logits))
                         = -mean(log D(x)) - mean(log(1 - D(G(z))))
      generator loss (non-saturating) = mean(softplus(-fake_logits)) = -mean(log D(G(z)))

  The original minimax generator loss ``mean(log(1 - D(G(z))))`` saturates: its gradient
  vanishes exactly when the generator is bad (D(G(z)) near 0), so GANs use the
  non-saturating form.

Use Keras for the models and NumPy (or ``keras.ops``) for the losses. The checks pass you the
digits as a float array ``(n, 64)`` in [0, 1] (your file cannot import kerascnn).
"""

import keras
import numpy as np
from keras import layers


def build_autoencoder(input_dim=64, hidden=32, code_dim=8):
    """``(autoencoder, encoder)``: two ``keras.Model``s sharing layers, as described above."""
    raise NotImplementedError("TODO: the MLP autoencoder (Dense layers) and its encoder")


def reconstruction_loss(autoencoder, x):
    """Mean squared error between ``x`` and ``autoencoder(x)`` as a Python float."""
    raise NotImplementedError("TODO: mean squared reconstruction error")


def train_step(autoencoder, x, learning_rate=0.5):
    """One gradient-descent step of ``autoencoder`` on the reconstruction error of the batch ``x``."""
    # Hint: autoencoder.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse");
    # then autoencoder.train_on_batch(x, x) does exactly one step.
    raise NotImplementedError("TODO: one training step")


def discriminator_loss(real_logits, fake_logits):
    """Binary cross-entropy of the discriminator: real examples labelled 1, generated ones 0."""
    raise NotImplementedError("TODO: discriminator loss on logits")


def generator_loss(fake_logits):
    """The non-saturating generator loss ``-mean(log D(G(z)))`` on the discriminator's logits."""
    raise NotImplementedError("TODO: non-saturating generator loss")


def build_generator(latent_dim=16, hidden=32, output_dim=64):
    """``G``: ``(batch, latent_dim)`` noise -> ``(batch, output_dim)`` images in [0, 1] (sigmoid output)."""
    raise NotImplementedError("TODO: an MLP generator")


def build_discriminator(input_dim=64, hidden=32):
    """``D``: ``(batch, input_dim)`` images -> ``(batch, 1)`` logits (no sigmoid on the output)."""
    raise NotImplementedError("TODO: an MLP discriminator")


if __name__ == "__main__":
    from sklearn.datasets import load_digits

    x = (load_digits().data / 16.0).astype("float32")
    autoencoder, encoder = build_autoencoder()
    for step in range(5):
        print(step, reconstruction_loss(autoencoder, x))
        train_step(autoencoder, x)
