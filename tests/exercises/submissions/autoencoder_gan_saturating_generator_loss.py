"""A realistic wrong exercise-15 submission: the minimax (saturating) generator loss mean(log(1 - D(G(z))))."""

import keras
import numpy as np
from keras import layers


def build_autoencoder(input_dim=64, hidden=32, code_dim=8):
    inputs = keras.Input((input_dim,))
    code = layers.Dense(code_dim)(layers.Dense(hidden, activation="relu")(inputs))
    outputs = layers.Dense(input_dim, activation="sigmoid")(layers.Dense(hidden, activation="relu")(code))
    return keras.Model(inputs, outputs), keras.Model(inputs, code)


def reconstruction_loss(autoencoder, x):
    return float(np.mean((np.asarray(x) - np.asarray(autoencoder.predict(x, verbose=0))) ** 2))


def train_step(autoencoder, x, learning_rate=0.5):
    autoencoder.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mse")
    return float(autoencoder.train_on_batch(x, x))


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-np.asarray(t, dtype=float)))


def discriminator_loss(real_logits, fake_logits):
    return float(-np.mean(np.log(_sigmoid(real_logits))) - np.mean(np.log(1.0 - _sigmoid(fake_logits))))


def generator_loss(fake_logits):
    return float(np.mean(np.log(1.0 - _sigmoid(fake_logits))))  # the saturating minimax form


def build_generator(latent_dim=16, hidden=32, output_dim=64):
    noise = keras.Input((latent_dim,))
    return keras.Model(noise, layers.Dense(output_dim, activation="sigmoid")(
        layers.Dense(hidden, activation="relu")(noise)))


def build_discriminator(input_dim=64, hidden=32):
    images = keras.Input((input_dim,))
    return keras.Model(images, layers.Dense(1)(layers.Dense(hidden, activation="relu")(images)))
