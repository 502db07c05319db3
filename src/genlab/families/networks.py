"""Network pieces that several families share, as small functional-API builders.

Each function takes a Keras tensor and returns one (or builds a whole `keras.Model`), so a
family composes its networks from these and adds only what is its own (a label embedding, a
projection head, a sampling layer). Shapes in comments are for 28x28x1 images.

The networks grow with the image: `resolution_levels` halves the sides down to a map of at most
8 pixels (28 -> 14 -> 7 and 32 -> 16 -> 8: two levels; 64 -> 32 -> 16 -> 8: three), and every
builder here has one resolution level per halving, the widths halving as the maps double (so
each level costs about the same, and the extra ones at the full-size end stay cheap). 28 and 32
pixels build exactly the chapter's networks.
"""
from __future__ import annotations

import math

from genlab.errors import ConfigError


def unflatten_images(images):
    """Flat square images (N, H*W*C) from a dense decoder -> N x H x W x C; others as they are.

    The side and channels follow from the length alone: H*W (grey) is a square and 3*H*W (RGB)
    three times one, and no whole number is both (the square root of 3 is irrational)."""
    if images.ndim != 2:
        return images
    length = images.shape[1]
    for channels in (1, 3):
        side = math.isqrt(length // channels)
        if side * side * channels == length:
            return images.reshape(len(images), side, side, channels)
    raise ValueError(f"cannot read flat images of {length} values as square grey or RGB images")


SMALLEST_MAP = 8      # the coarsest map's side: 7 for MNIST, 8 for 32 and 64 pixels


def resolution_levels(image_shape, minimum: int = 2) -> int:
    """How many times the networks halve the image: while both sides are even and one is above
    SMALLEST_MAP, and at least `minimum` (the chapter's two; a side that then does not divide is
    check_sides_divisible's to report). 28 and 32 pixels: 2; 64: 3; 128: 4."""
    height, width = int(image_shape[0]), int(image_shape[1])
    levels = 0
    while max(height, width) > SMALLEST_MAP and height % 2 == 0 and width % 2 == 0:
        height, width, levels = height // 2, width // 2, levels + 1
    return max(minimum, levels)


def check_sides_divisible(image_shape, factor: int, what: str) -> None:
    """Networks that halve (or double) the image k times need sides divisible by 2^k: say so in one line."""
    height, width = image_shape[:2]
    if height % factor or width % factor:
        raise ConfigError(f"{what} needs image sides divisible by {factor}, got {height}x{width}; "
                          f"resize the images (e.g. to 28x28){' or use architecture=dense' if 'conv' in what else ''}")


# ---------------------------------------------------------------------------- adversarial families
def trunk_filters(image_shape) -> tuple[int, ...]:
    """The discriminator trunk's widths, one per stride-2 convolution: (64, 128, 256) for 28 and
    32 pixels (the chapter's), a level more per doubling, all at half width beyond: (16, 32, 64,
    128) at 64. (32, 64, 128, 256) there cost 84 MFLOP per image, a quarter of it 21, and the
    discriminator is two thirds of a GAN step: measured on 2 shared cores at batch 128, 1.64 ->
    1.03 s per step in float32, 1.33 -> 0.39-0.81 in bf16, so 2000 steps at 64 pixels fit in
    about a quarter of an hour.)"""
    levels = resolution_levels(image_shape)
    widest = 256 if levels <= 2 else 128
    return tuple(widest // 2 ** level for level in reversed(range(levels + 1)))


def conv_trunk(images, *, dropout: float = 0.4, leaky: bool = False):
    """The chapter's discriminator convolutions: three 5x5 stride-2 convolutions, flattened.

    (batch, 28, 28, 1) -> 14 -> 7 -> 4 pixels -> (batch, 4*4*256); 64 x 64 images get a fourth
    (64 -> 32 -> 16 -> 8 -> 4, half as wide: trunk_filters). `leaky` and `dropout=0` give the WGAN-GP critic's
    variant (LeakyReLU, no dropout: the penalty is per example).
    """
    from keras import layers

    x = images
    for filters in trunk_filters(images.shape[1:]):
        x = layers.Conv2D(filters, 5, strides=2, padding="same", activation=None if leaky else "relu")(x)
        if leaky:
            x = layers.LeakyReLU(0.2)(x)
        if dropout:
            x = layers.Dropout(dropout)(x)
    return layers.Flatten()(x)


def trunk_flops(image_shape) -> float:
    """Forward FLOPs of `conv_trunk` for one image (multiply-add = 2 FLOPs)."""
    height, width, channels = image_shape
    filters = trunk_filters(image_shape)
    sides = [(math.ceil(height / 2 ** k), math.ceil(width / 2 ** k)) for k in range(1, len(filters) + 1)]
    widths = [channels, *filters]
    return sum(2.0 * h * w * 25 * widths[index] * widths[index + 1] for index, (h, w) in enumerate(sides))


def trunk_features(image_shape) -> int:
    """Length of conv_trunk's flattened output: 4*4*256 for 28 and 32 pixels, 4*4*128 at 64."""
    filters = trunk_filters(image_shape)
    levels = len(filters)
    return math.ceil(image_shape[0] / 2 ** levels) * math.ceil(image_shape[1] / 2 ** levels) * filters[-1]


MIN_FILTERS = 8


def generator_filters(image_shape) -> tuple[int, ...]:
    """The generator's (and conv decoder's) upsampling widths, one per level, halving as the map
    doubles: (32, 16) for 28 and 32 pixels (the chapter's), (32, 16, 8) at 64 (where (64, 32, 16)
    would cost 3.9 times the FLOPs: 272 against 70 MFLOP per image)."""
    return tuple(max(MIN_FILTERS, 32 // 2 ** level) for level in range(resolution_levels(image_shape)))


def coarsest_map(image_shape) -> tuple[int, int]:
    """(height, width) of the generator's first map: 7 x 7 at 28 pixels, 8 x 8 at 32 and 64."""
    scale = 2 ** resolution_levels(image_shape)
    return image_shape[0] // scale, image_shape[1] // scale


def latent_to_map(z, image_shape, channels: int = 64):
    """Dense projection of the latent input to the coarsest feature map: (batch, 7, 7, 64)
    (a quarter of the side at 28 and 32 pixels, an eighth at 64)."""
    from keras import layers

    height, width = coarsest_map(image_shape)
    x = layers.Dense(height * width * channels)(z)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.LeakyReLU()(x)
    return layers.Reshape((height, width, channels))(x)


def upsampling_head(feature_map, image_shape):
    """The chapter's generator body from the coarsest map to the image:
    dropout, then per level (upsample, 5x5 transposed convolution, batch norm, LeakyReLU), then a
    5x5 sigmoid convolution. (batch, 7, 7, c) -> 14x14x32 -> 28x28x16 -> (batch, 28, 28, 1);
    at 64 pixels 8 -> 16x16x32 -> 32x32x16 -> 64x64x8 (generator_filters).
    The image stays float32 under mixed precision so losses are computed accurately."""
    from keras import layers

    x = layers.Dropout(0.4)(feature_map)
    for filters in generator_filters(image_shape):
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

    filters = generator_filters(image_shape)
    levels = len(filters)
    widths = [64, *filters]                                           # latent_to_map's 64 channels first
    total = 2.0 * latent_dim * (height // 2 ** levels) * (width // 2 ** levels) * 64
    for level in range(levels):                                       # the map doubles before each convolution
        scale = 2 ** (levels - level - 1)
        total += conv(height // scale, width // scale, 5, widths[level], widths[level + 1])
    return total + conv(height, width, 5, filters[-1], channels)


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


def encoder_filters(image_shape) -> tuple[int, ...]:
    """The conv encoder's widths, one per stride-2 convolution, doubling as the map halves:
    (32, 64) for 28 and 32 pixels, (16, 32, 64) at 64 (the same 8 x 8 x 64 at the end)."""
    levels = resolution_levels(image_shape)
    return tuple(max(MIN_FILTERS, 64 // 2 ** level) for level in reversed(range(levels)))


def conv_encoder_trunk(images):
    """3x3 stride-2 ReLU convolutions, flattened: (batch, 28, 28, 1) -> 14x14x32 -> 7x7x64 -> (batch, 3136);
    at 64 pixels one more in front, 32x32x16 -> 16x16x32 -> 8x8x64 (encoder_filters)."""
    from keras import layers

    x = images
    for filters in encoder_filters(images.shape[1:]):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    return layers.Flatten()(x)


def conv_decoder(image_shape, latent_dim: int):
    """Code -> (batch, 7, 7, 64) -> transposed convolutions 14x14x32 -> 28x28x16 -> sigmoid image;
    at 64 pixels (batch, 8, 8, 64) -> 16x16x32 -> 32x32x16 -> 64x64x8 (generator_filters).

    32 and 16 filters (not 64 and 32): a third of the FLOPs, measured 60-77 s/epoch -> far less
    on 2 cores, and still far below the dense network's error."""
    import keras
    from keras import layers

    levels = resolution_levels(image_shape)
    check_sides_divisible(image_shape, 2 ** levels, "the conv architecture")
    height, width = image_shape[0] // 2 ** levels, image_shape[1] // 2 ** levels
    code = keras.Input(shape=(latent_dim,), name="code_input")
    x = layers.Dense(height * width * 64, activation="relu")(code)
    x = layers.Reshape((height, width, 64))(x)
    for filters in generator_filters(image_shape):                    # (32, 16); (32, 16, 8) at 64 pixels
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", activation="relu")(x)
    restored = layers.Conv2D(image_shape[-1], 3, padding="same", activation="sigmoid", name="restored")(x)
    return keras.Model(code, restored, name="decoder")
