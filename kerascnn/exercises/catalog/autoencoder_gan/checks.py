"""Checks of exercise 15: autoencoder shapes and one training step on the digits; GAN losses in closed form."""

import numpy as np

from kerascnn.exercises.checking import CheckFailed, check, expect_close, expect_equal, function_of

NUMBER = 15
TITLE = "An MLP autoencoder and a small GAN on the 8x8 digits"
LECTURE = "MLPs, autoencoders and GANs: reconstruction error, discriminator and non-saturating generator losses"

_AUTOENCODER_HINT = ("Revisit the autoencoder: input -> Dense(hidden, ReLU) -> Dense(code) -> Dense(hidden, ReLU) -> "
                     "Dense(input, sigmoid); the encoder is the model from the input to the code. Parameters: "
                     "(n*h + h) + (h*c + c) + (c*h + h) + (h*n + n).")
_LOSS_HINT = "Revisit the reconstruction error: mean over every example and pixel of (x - autoencoder(x))**2."
_STEP_HINT = ("Revisit a training step: compute the reconstruction loss, its gradient with respect to the weights, "
              "and move the weights against it (compile with an optimizer and loss='mse', then train_on_batch(x, x)).")
_DISCRIMINATOR_HINT = ("Revisit the discriminator loss: binary cross-entropy with real examples labelled 1 and "
                       "generated ones 0, on logits: mean(softplus(-real_logits)) + mean(softplus(fake_logits)).")
_GENERATOR_HINT = ("Revisit the non-saturating generator loss: -mean(log D(G(z))) = mean(softplus(-fake_logits)); "
                   "the minimax form mean(log(1 - D(G(z)))) has vanishing gradients when D(G(z)) is near 0.")
_GAN_SHAPES_HINT = ("Revisit the GAN's models: G maps (batch, latent_dim) noise to (batch, output_dim) images with a "
                    "sigmoid output; D maps (batch, input_dim) images to (batch, 1) logits.")


def digits_batch(count=256, offset=0):
    """Bundled 8x8 digits as ``(count, 64)`` floats in [0, 1] (the student file cannot import kerascnn)."""
    from kerascnn.data import digits

    images = digits.load().x_train[offset:offset + count]
    return (images.reshape(len(images), -1) / 255.0).astype("float32")


def _model(value, what):
    if not hasattr(value, "predict") or not hasattr(value, "output_shape"):
        raise CheckFailed(f"{what} must be a keras.Model, got {type(value).__name__}.")
    return value


def _autoencoder(student, **kwargs):
    result = function_of(student, "build_autoencoder")(**kwargs)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed("build_autoencoder must return a pair (autoencoder, encoder).")
    return _model(result[0], "the autoencoder"), _model(result[1], "the encoder")


@check(points=1)
def autoencoder_shapes_and_parameters(student):
    """Autoencoder and encoder output shapes, and the autoencoder's exact parameter count."""
    for n, h, c in ((64, 32, 8), (64, 20, 3)):
        autoencoder, encoder = _autoencoder(student, input_dim=n, hidden=h, code_dim=c)
        what = f"build_autoencoder(input_dim={n}, hidden={h}, code_dim={c})"
        expect_equal(tuple(autoencoder.output_shape), (None, n), f"{what}: autoencoder output shape", _AUTOENCODER_HINT)
        expect_equal(tuple(encoder.output_shape), (None, c), f"{what}: encoder output shape", _AUTOENCODER_HINT)
        expect_equal(int(autoencoder.count_params()), (n * h + h) + (h * c + c) + (c * h + h) + (h * n + n),
                     f"{what}: parameters", _AUTOENCODER_HINT)


@check(points=1)
def reconstruction_loss_is_mse(student):
    """reconstruction_loss equals the mean squared error of a given autoencoder on digits."""
    import keras

    loss = function_of(student, "reconstruction_loss")
    for seed, offset in ((150, 0), (151, 300)):
        inputs = keras.Input((64,))
        hidden = keras.layers.Dense(16, activation="relu", kernel_initializer=keras.initializers.HeNormal(seed))(inputs)
        outputs = keras.layers.Dense(64, activation="sigmoid",
                                     kernel_initializer=keras.initializers.GlorotNormal(seed))(hidden)
        model = keras.Model(inputs, outputs)
        x = digits_batch(128, offset)
        expected = float(np.mean((x - np.asarray(model.predict(x, verbose=0))) ** 2))
        expect_close(loss(model, x), expected, f"reconstruction_loss on {len(x)} digits", _LOSS_HINT, rtol=1e-4)


@check(points=2)
def training_step_lowers_reconstruction_loss(student):
    """One train_step on a batch of digits lowers the autoencoder's reconstruction error on that batch."""
    import keras

    keras.utils.set_random_seed(152)
    autoencoder, _ = _autoencoder(student)
    x = digits_batch(256)

    def mse():
        return float(np.mean((x - np.asarray(autoencoder.predict(x, verbose=0))) ** 2))

    before = mse()
    function_of(student, "train_step")(autoencoder, x)
    after = mse()
    if not after < before:
        raise CheckFailed(f"reconstruction error after one train_step: expected below {before:.5f}, got {after:.5f}. "
                          f"{_STEP_HINT}")


def _logits(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(1.0, 2.0, 32).astype("float32"), rng.normal(-1.0, 2.5, 48).astype("float32")


@check(points=1)
def discriminator_loss_closed_form(student):
    """Discriminator loss equals binary cross-entropy on logits (real = 1, fake = 0), as Keras computes it."""
    import keras

    loss = function_of(student, "discriminator_loss")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    for seed in (153, 154):
        real, fake = _logits(seed)
        expected = float(bce(np.ones_like(real), real)) + float(bce(np.zeros_like(fake), fake))
        closed = np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake))
        expect_close(loss(real.copy(), fake.copy()), closed, f"discriminator_loss on {len(real)} real and "
                     f"{len(fake)} fake logits (Keras BinaryCrossentropy gives {expected:.5f})", _DISCRIMINATOR_HINT,
                     rtol=1e-4)


@check(points=1, hidden=True)
def generator_loss_is_non_saturating(student):
    """Generator loss equals -mean(log sigmoid(fake_logits)), not the saturating minimax form."""
    loss = function_of(student, "generator_loss")
    for seed in (155, 156):
        _, fake = _logits(seed)
        expect_close(loss(fake.copy()), np.mean(np.logaddexp(0, -fake)),
                     f"generator_loss on {len(fake)} fake logits", _GENERATOR_HINT, rtol=1e-4)


@check(points=1)
def generator_and_discriminator_shapes(student):
    """G maps noise to (batch, 64) images in [0, 1]; D maps images to (batch, 1) logits."""
    for latent_dim in (16, 5):
        generator = _model(function_of(student, "build_generator")(latent_dim=latent_dim),
                           f"build_generator(latent_dim={latent_dim})")
        noise = np.random.default_rng(157).normal(size=(6, latent_dim)).astype("float32")
        images = np.asarray(generator.predict(noise, verbose=0))
        expect_equal(images.shape, (6, 64), f"generator output shape for noise {noise.shape}", _GAN_SHAPES_HINT)
        if images.min() < 0 or images.max() > 1:
            raise CheckFailed(f"generated images range over [{images.min():.3g}, {images.max():.3g}], expected "
                              f"[0, 1]. {_GAN_SHAPES_HINT}")
    discriminator = _model(function_of(student, "build_discriminator")(), "build_discriminator()")
    logits = np.asarray(discriminator.predict(digits_batch(10), verbose=0))
    expect_equal(logits.shape, (10, 1), "discriminator output shape for 10 digits", _GAN_SHAPES_HINT)
