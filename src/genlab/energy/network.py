"""The energy network: one number E(x) per image, low for images like the training data.

A small convolutional network in the functional API (the field's Keras textbook's EBM, sized
for 28 x 28): four strided convolutions with Swish activations, a dense layer, one output.
No BatchNorm and no dropout: an energy must depend on the image alone, not on the rest of the
batch or on a random mask, or Langevin dynamics would follow a moving target. Spectral
normalization (keras.layers.SpectralNormalization) is optional; it bounds each layer's
Lipschitz constant, which keeps the energy landscape smooth.
"""
from __future__ import annotations

from genlab.errors import ConfigError


def build_energy_network(image_shape=(28, 28, 1), filters: int = 16, dense: int = 64, spectral_norm: bool = False):
    """images (batch, H, W, C) in [0, 1] -> energy (batch, 1), float32.

    Convolutions of filters, 2*filters, 4*filters, 4*filters feature maps, each stride 2:
    28 -> 14 -> 7 -> 4 -> 2 pixels for MNIST."""
    import keras
    from keras import layers

    if filters < 1 or dense < 1:
        raise ConfigError(f"filters and dense must be at least 1, got {filters} and {dense}")
    height, width = image_shape[:2]
    if height < 4 or width < 4:
        raise ConfigError(f"the energy network needs images of at least 4 x 4 pixels, got {height} x {width}")

    def wrapped(layer):
        return layers.SpectralNormalization(layer) if spectral_norm else layer

    images = keras.Input(shape=tuple(image_shape), name="images")                       # (batch, 28, 28, 1)
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)                    # [-1, 1], the textbook's scale
    for index, (width_factor, kernel) in enumerate(((1, 5), (2, 3), (4, 3), (4, 3))):
        x = wrapped(layers.Conv2D(filters * width_factor, kernel, strides=2, padding="same", activation="swish",
                                  name=f"conv{index}"))(x)                             # 14, 7, 4, 2 pixels
    x = layers.Flatten()(x)                                                             # (batch, 2*2*4*filters)
    x = wrapped(layers.Dense(dense, activation="swish", name="hidden"))(x)
    energy = layers.Dense(1, dtype="float32", name="energy")(x)                         # (batch, 1), unbounded
    return keras.Model(images, energy, name="energy")


def build_classifier_energy_network(image_shape=(28, 28, 1), classes: int = 10, hidden=(64, 64)):
    """The chapter's classifier as an energy (JEM, Grathwohl et al. 2020): images (batch, H, W, C)
    -> (batch, 1 + classes), column 0 the energy E(x) = -logsumexp_y f(x)[y], columns 1.. the
    class logits f(x). Every energy reader takes column 0, so Langevin, scoring and restoration
    treat it like the convolutional energy; the training step also reads the logits.

    The network is program 1's Flatten -> Dense(64, relu) -> Dense(64, relu) -> Dense(classes).
    -logsumexp is built from plain layers, so the saved model loads in safe mode: f - log_softmax(f)
    is logsumexp(f) in every column, and a frozen Dense of weights -1/classes averages the equal
    columns and negates them."""
    import keras
    from keras import layers

    if classes < 2:
        raise ConfigError(f"a classifier's energy needs at least 2 classes, got {classes}")
    images = keras.Input(shape=tuple(image_shape), name="images")                       # (batch, 28, 28, 1)
    x = layers.Flatten(name="flatten")(images)                                          # (batch, 784)
    for index, units in enumerate(hidden):
        x = layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
    logits = layers.Dense(classes, dtype="float32", name="logits")(x)                   # (batch, classes)
    log_probabilities = layers.Activation("log_softmax", dtype="float32", name="log_softmax")(logits)
    logsumexp = layers.Subtract(dtype="float32", name="logsumexp")([logits, log_probabilities])  # each column: logsumexp f
    energy = layers.Dense(1, use_bias=False, trainable=False, dtype="float32", name="energy",
                          kernel_initializer=keras.initializers.Constant(-1.0 / classes))(logsumexp)   # (batch, 1)
    outputs = layers.Concatenate(dtype="float32", name="energy_and_logits")([energy, logits])          # (batch, 1 + classes)
    return keras.Model(images, outputs, name="classifier_energy")
