"""Network pieces that several families share, as small functional-API builders.

Each function takes a Keras tensor and returns one (or builds a whole `keras.Model`), so a
family composes its networks from these and adds only what is its own (a label embedding, a
projection head, a sampling layer). Shapes in comments are for 28x28x1 images.
"""
from __future__ import annotations

import math

from genlab.errors import ConfigError


def check_sides_divisible(image_shape, factor: int, what: str) -> None:
    """Networks that halve (or double) the image twice need sides divisible by 4: say so in one line."""
    height, width = image_shape[:2]
    if height % factor or width % factor:
        raise ConfigError(f"{what} needs image sides divisible by {factor}, got {height}x{width}; "
                          f"resize the images (e.g. to 28x28){' or use architecture=dense' if 'conv' in what else ''}")


# ---------------------------------------------------------------------------- adversarial families
def conv_trunk(images, *, dropout: float = 0.4, leaky: bool = False):
    """The chapter's discriminator convolutions: three 5x5 stride-2 convolutions, flattened.

    (batch, 28, 28, 1) -> 14 -> 7 -> 4 pixels -> (batch, 4*4*256). `leaky` and `dropout=0`
    give the WGAN-GP critic's variant (LeakyReLU, no dropout: the penalty is per example).
    """
    from keras import layers

    x = images
    for filters in (64, 128, 256):
        x = layers.Conv2D(filters, 5, strides=2, padding="same", activation=None if leaky else "relu")(x)
        if leaky:
            x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return layers.Flatten()(x)


def trunk_flops(image_shape) -> float:
    """Forward FLOPs of `conv_trunk` for one image (multiply-add = 2 FLOPs)."""
    height, width, channels = image_shape
    sides = [(math.ceil(height / 2 ** k), math.ceil(width / 2 ** k)) for k in (1, 2, 3)]
    widths = [channels, 64, 128, 256]
    return sum(2.0 * h * w * 25 * widths[index] * widths[index + 1] for index, (h, w) in enumerate(sides))


def latent_to_map(z, image_shape, channels: int = 64):
    """Dense projection of the latent input to a quarter-size feature map: (batch, 7, 7, 64)."""
    from keras import layers

    height, width = image_shape[0] // 4, image_shape[1] // 4
    x = layers.Dense(height * width * channels)(z)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.LeakyReLU()(x)
    return layers.Reshape((height, width, channels))(x)


def upsampling_head(feature_map, image_shape):
    """The chapter's generator body from the quarter-size map to the image:
    dropout, then twice (upsample, 5x5 transposed convolution, batch norm, LeakyReLU), then a
    5x5 sigmoid convolution. (batch, 7, 7, c) -> 14x14x32 -> 28x28x16 -> (batch, 28, 28, 1).
    The image stays float32 under mixed precision so losses are computed accurately."""
    from keras import layers

    x = layers.Dropout(0.4)(feature_map)
    for filters in (32, 16):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2DTranspose(filters, 5, padding="same")(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU()(x)
    return layers.Conv2D(image_shape[-1], 5, padding="same", activation="sigmoid", dtype="float32", name="image")(x)


def generator_flops(latent_dim: int, image_shape) -> float:
    """Forward FLOPs of latent_to_map + upsampling_head for one image."""
    height, width, channels = image_shape

    def conv(out_h, out_w, k, c_in, c_out):
        return 2.0 * out_h * out_w * k * k * c_in * c_out

    return (2.0 * latent_dim * (height // 4) * (width // 4) * 64 + conv(height // 2, width // 2, 5, 64, 32)
            + conv(height, width, 5, 32, 16) + conv(height, width, 5, 16, channels))


# ---------------------------------------------------------------------------- autoencoder families
def dense_encoder(image_shape, latent_dim: int, activation: str | None = "relu"):
    """The chapter's encoder: flat pixels (batch, 784) -> Dense(latent_dim) code (batch, 32)."""
    import keras
    from keras import layers

    size = math.prod(image_shape)
    pixels = keras.Input(shape=(size,), name="pixels")
    code = layers.Dense(latent_dim, activation=activation, name="code")(pixels)
    return keras.Model(pixels, code, name="encoder")


def dense_decoder(image_shape, latent_dim: int):
    """The chapter's decoder: code (batch, 32) -> Dense(784, sigmoid) flat pixels."""
    import keras
    from keras import layers

    code = keras.Input(shape=(latent_dim,), name="code_input")
    restored = layers.Dense(math.prod(image_shape), activation="sigmoid", name="restored")(code)
    return keras.Model(code, restored, name="decoder")


def conv_encoder_trunk(images):
    """Two 3x3 stride-2 ReLU convolutions, flattened: (batch, 28, 28, 1) -> 14x14x32 -> 7x7x64 -> (batch, 3136)."""
    from keras import layers

    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(images)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Flatten()(x)


def conv_decoder(image_shape, latent_dim: int):
    """Code -> (batch, 7, 7, 64) -> transposed convolutions 14x14x32 -> 28x28x16 -> sigmoid image.

    32 and 16 filters (not 64 and 32): a third of the FLOPs, measured 60-77 s/epoch -> far less
    on 2 cores, and still far below the dense network's error."""
    import keras
    from keras import layers

    check_sides_divisible(image_shape, 4, "the conv architecture")
    height, width = image_shape[0] // 4, image_shape[1] // 4
    code = keras.Input(shape=(latent_dim,), name="code_input")
    x = layers.Dense(height * width * 64, activation="relu")(code)
    x = layers.Reshape((height, width, 64))(x)
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)
    restored = layers.Conv2D(image_shape[-1], 3, padding="same", activation="sigmoid", name="restored")(x)
    return keras.Model(code, restored, name="decoder")
