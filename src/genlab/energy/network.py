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
