"""The noise-predicting U-Net of the diffusion family (Keras functional API) and its FLOP count.

eps_theta([x_t, time_features(t)(, label)]) -> eps, the same shape as the images. The time
features are computed outside the network (`schedule.time_features`), so a saved network holds
plain Keras layers only and loads in safe mode. `config` is a DiffusionConfig
(genlab.families.diffusion): channels, res_blocks, attention, groups, time_dim, dropout, conditional.
"""
from __future__ import annotations

import math

import numpy as np


def padded_shape(image_shape, levels: int) -> tuple[int, int]:
    """Sides rounded up to a multiple of 2^(levels - 1), so every down-sampling halves an even side."""
    factor = 2 ** (levels - 1)
    return tuple(int(math.ceil(side / factor) * factor) for side in image_shape[:2])


def _residual_block(x, embedded, width: int, config):
    """GroupNorm-swish-conv, + the time (and class) embedding per channel, GroupNorm-swish-[dropout]-conv, + skip."""
    from keras import layers

    h = layers.Conv2D(width, 3, padding="same")(layers.Activation("swish")(layers.GroupNormalization(config.groups)(x)))
    shift = layers.Reshape((1, 1, width))(layers.Dense(width)(layers.Activation("swish")(embedded)))   # (batch, 1, 1, width)
    h = layers.Add()([h, shift])                                                                       # broadcast over H, W
    h = layers.Activation("swish")(layers.GroupNormalization(config.groups)(h))
    if config.dropout:
        h = layers.Dropout(config.dropout)(h)
    h = layers.Conv2D(width, 3, padding="same")(h)
    skip = x if x.shape[-1] == width else layers.Conv2D(width, 1)(x)
    return layers.Add()([skip, h])


def _attention_block(x, config):
    """Self-attention over the H*W positions of a (batch, H, W, C) map, residual."""
    from keras import layers

    height, width, channels = x.shape[1:]
    heads = 4 if channels % 4 == 0 else 1
    tokens = layers.Reshape((height * width, channels))(layers.GroupNormalization(config.groups)(x))   # (batch, HW, C)
    attended = layers.MultiHeadAttention(num_heads=heads, key_dim=channels // heads)(tokens, tokens)
    return layers.Add()([x, layers.Reshape((height, width, channels))(attended)])


def level_widths(config, image_shape) -> tuple[int, ...]:
    """The U-Net's widths, one per resolution: config.channels for images up to 32 pixels, and a
    level more per doubling beyond (as genlab.families.networks.resolution_levels counts them),
    added at the full-size end with the first level's width, so the coarsest map stays at 7 or 8
    pixels: (16, 32, 64) at 64 x 64 becomes (16, 16, 32, 64), 64 -> 32 -> 16 -> 8."""
    from genlab.families.networks import resolution_levels

    extra = resolution_levels(image_shape) - 2
    return (config.channels[0],) * max(0, extra) + tuple(config.channels)


def build_network(config, image_shape, num_classes: int = 10):
    """The U-Net eps_theta([x_t, time_features(t)(, label)]) -> eps, same shape as the images.

    For 28x28 and channels (16, 32, 64): 28 -> 14 -> 7 on the way down (one residual block per
    level, a stride-2 convolution between levels), two blocks at 7x7 (attention between them if
    asked), and back up with res_blocks + 1 blocks per level, each fed the matching skip
    connection. Sides that the down-sampling cannot halve are zero-padded first and cropped back.
    A conditional network adds a label embedding (num_classes + 1 entries: the last is 'no class')
    to the time embedding. Images above 32 pixels get more levels (level_widths).
    """
    import keras
    from keras import layers

    height, width, image_channels = image_shape
    channels = level_widths(config, image_shape)
    levels = len(channels)
    padded_height, padded_width = padded_shape(image_shape, levels)
    images = keras.Input(shape=tuple(image_shape), name="noisy_images")                 # (batch, 28, 28, 1)
    features = keras.Input(shape=(config.time_dim,), name="time_features")               # (batch, 64)
    inputs = [images, features]
    embedding_width = 4 * channels[0]
    embedded = layers.Dense(embedding_width)(layers.Dense(embedding_width, activation="swish")(features))   # (batch, 64)
    if config.conditional:
        label = keras.Input(shape=(1,), dtype="int32", name="label")                     # (batch, 1); num_classes = none
        inputs.append(label)
        class_vector = layers.Flatten()(layers.Embedding(num_classes + 1, embedding_width)(label))
        embedded = layers.Add()([embedded, class_vector])

    x = images
    padding = ((0, padded_height - height), (0, padded_width - width))
    if padded_height != height or padded_width != width:
        x = layers.ZeroPadding2D(padding)(x)
    x = layers.Conv2D(channels[0], 3, padding="same")(x)                                 # (batch, 28, 28, 16)
    skips = [x]
    for level, level_width in enumerate(channels):                                       # 28 -> 14 -> 7
        for _ in range(config.res_blocks):
            x = _residual_block(x, embedded, level_width, config)
            skips.append(x)
        if level < levels - 1:
            x = layers.Conv2D(level_width, 3, strides=2, padding="same")(x)
            skips.append(x)
    x = _residual_block(x, embedded, channels[-1], config)                               # (batch, 7, 7, 64)
    if config.attention:
        x = _attention_block(x, config)
    x = _residual_block(x, embedded, channels[-1], config)
    for level in reversed(range(levels)):                                                # 7 -> 14 -> 28
        for _ in range(config.res_blocks + 1):
            x = _residual_block(layers.Concatenate()([x, skips.pop()]), embedded, channels[level], config)
        if level > 0:
            x = layers.Conv2D(channels[level], 3, padding="same")(layers.UpSampling2D(2)(x))
    x = layers.Activation("swish")(layers.GroupNormalization(config.groups)(x))
    # Zero-initialised output: the untrained network predicts eps = 0 (loss 1), a clean start.
    x = layers.Conv2D(image_channels, 3, padding="same", kernel_initializer="zeros", dtype="float32", name="noise")(x)
    if padded_height != height or padded_width != width:
        x = layers.Cropping2D(padding)(x)                                                # back to (batch, H, W, C)
    return keras.Model(inputs, x, name="noise_predictor")


def forward_flops(network) -> float:
    """FLOPs of one image through `network`, counted from the layer shapes (multiply-add = 2):
    convolutions, dense layers and attention (projections and the two H*W x H*W products);
    normalisation and activations are left out (a few per cent)."""
    import keras

    total = 0.0
    for layer in network.layers:
        if isinstance(layer, keras.layers.Conv2D):
            output = layer.output.shape                                                  # (batch, H, W, C_out)
            kernel_height, kernel_width, channels_in, channels_out = layer.kernel.shape
            total += 2.0 * output[1] * output[2] * kernel_height * kernel_width * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            positions = int(np.prod(layer.input.shape[1:-1])) if len(layer.input.shape) > 2 else 1
            total += 2.0 * positions * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.MultiHeadAttention):
            tokens, channels = layer.input[0].shape[1:] if isinstance(layer.input, (list, tuple)) else layer.input.shape[1:]
            inner = layer.num_heads * layer.key_dim
            total += 2.0 * tokens * channels * inner * 4                                 # q, k, v and output projections
            total += 2.0 * 2 * tokens * tokens * inner                                   # scores and weighted sum
    return total

