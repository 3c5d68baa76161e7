"""Exercise 15, reference solution: MLP autoencoder, GAN losses, generator and discriminator."""

import keras
import numpy as np
from keras import layers


def build_autoencoder(input_dim=64, hidden=32, code_dim=8):
    """64 -> hidden (ReLU) -> code -> hidden (ReLU) -> 64 (sigmoid); the encoder stops at the code."""
    inputs = keras.Input((input_dim,))
    code = layers.Dense(code_dim)(layers.Dense(hidden, activation="relu")(inputs))
    outputs = layers.Dense(input_dim, activation="sigmoid")(layers.Dense(hidden, activation="relu")(code))
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


def reconstruction_loss(autoencoder, x):
    """``mean((x - autoencoder(x))**2)``."""
    return float(np.mean((np.asarray(x) - np.asarray(autoencoder.predict(x, verbose=0))) ** 2))


def train_step(autoencoder, x, learning_rate=0.5):
    """One SGD step on the mean squared reconstruction error."""
    autoencoder.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return float(autoencoder.train_on_batch(x, x))


def _softplus(t):
    return np.logaddexp(0.0, t)


def discriminator_loss(real_logits, fake_logits):
    """``mean(softplus(-real)) + mean(softplus(fake))``."""
    return float(np.mean(_softplus(-np.asarray(real_logits))) + np.mean(_softplus(np.asarray(fake_logits))))


def generator_loss(fake_logits):
    """Non-saturating: ``mean(softplus(-fake)) = -mean(log sigmoid(fake))``."""
    return float(np.mean(_softplus(-np.asarray(fake_logits))))


def build_generator(latent_dim=16, hidden=32, output_dim=64):
    """Noise -> hidden (ReLU) -> image in [0, 1]."""
    noise = keras.Input((latent_dim,))
    return keras.Model(noise, layers.Dense(output_dim, activation="sigmoid")(
        layers.Dense(hidden, activation="relu")(noise)))


def build_discriminator(input_dim=64, hidden=32):
    """Image -> hidden (LeakyReLU) -> one logit."""
    images = keras.Input((input_dim,))
    return keras.Model(images, layers.Dense(1)(layers.LeakyReLU(0.2)(layers.Dense(hidden)(images))))
