"""The multi-scale flow (RealNVP's architecture with Glow's steps), as functional Keras models over
one set of invertible layers (genlab.flow.layers):

    y (N x H x W x C, dequantized pixels / 256)
      -> logit
      -> scale 1: squeeze (H/2 x W/2 x 4C), `depth` x [actnorm, 1x1 convolution, affine coupling],
                  split: half the channels leave as part of z
      -> scale 2: squeeze, `depth` steps, (split) ...
      -> the last scale's output is the rest of z
    z = the parts flattened and joined (N x D, D = H W C), a standard normal under the model.

For 28 x 28 x 1 and two scales: 14 x 14 x 4 (2 channels factored out: 392 dims), then
7 x 7 x 8 (392 dims). `encoder` maps y to [z, log_det] (log_det: the log-determinant of the
whole map, logit included), `decoder` maps z back to images in [0, 1] (bin centres: the inverse
of `genlab.flow.dequantization.bin_centres`), `trainer` maps 8-bit levels to each image's
negative log-likelihood in bits/dim with fresh dequantization noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Architecture:
    """What the flow is built for: image H x W x C, scales (squeezes), steps per scale, the
    coupling networks' width, the logit's alpha, and the seed of the 1x1 convolutions' start."""
    height: int
    width: int
    channels: int
    scales: int = 2
    depth: int = 8
    hidden: int = 64
    alpha: float = 0.05
    seed: int = 0

    def problem(self) -> str | None:
        """Why images of this shape cannot go through `scales` squeezes (None: they can)."""
        side = 2 ** self.scales
        if self.height % side or self.width % side:
            return (f"images of {self.height} x {self.width} cannot be squeezed {self.scales} times (each halves the sides): "
                    f"height and width must be multiples of {side}; lower scales")
        return None


@dataclass
class Flow:
    """The built flow: the program of layers in forward order, and the three models over it."""
    program: list            # [(kind, layer)], kind "step" (a FlowLayer) or "split" (SplitChannels)
    layout: object           # LatentLayout: the factored parts <-> z
    encoder: object          # y -> [z, log_det]
    decoder: object          # z -> images in [0, 1]
    trainer: object          # 8-bit levels -> bits/dim per image (dequantization noise inside)
    dimensions: int
    dequantizer: object = None   # variational dequantization's q(u | x) (genlab.flow.variational), or None: uniform


def _program(architecture: Architecture) -> list:
    from genlab.flow import layers

    program = [("step", layers.LogitTransform(architecture.alpha, name="logit"))]
    for scale in range(architecture.scales):
        program.append(("step", layers.Squeeze(name=f"scale{scale}_squeeze")))
        for step in range(architecture.depth):
            name = f"scale{scale}_step{step}"
            program += [("step", layers.ActivationNormalization(name=f"{name}_actnorm")),
                        ("step", layers.InvertibleConvolution(seed=architecture.seed * 1000 + scale * 100 + step,
                                                              name=f"{name}_mixing")),
                        ("step", layers.AffineCoupling(architecture.hidden, name=f"{name}_coupling"))]
        if scale < architecture.scales - 1:
            program.append(("split", layers.SplitChannels(name=f"scale{scale}_split")))
    return program


def forward(program: list, y, *, initialize: bool = False):
    """Run the program forwards: (the factored parts and the last output, in order; the
    log-determinant terms). Works on Keras tensors (building a model) and on real ones; with
    `initialize`, each activation normalization first takes its data-dependent start from what
    reaches it (eager only)."""
    from genlab.flow.layers import ActivationNormalization

    parts, log_dets, x = [], [], y
    for kind, layer in program:
        if kind == "split":
            x, factored = layer(x)
            parts.append(factored)
            continue
        if initialize and isinstance(layer, ActivationNormalization):
            if not layer.built:
                layer.build(tuple(x.shape))
            layer.initialize(x)
        x, log_det = layer(x)
        log_dets.append(log_det)
    return parts + [x], log_dets


def backward(program: list, parts: list):
    """Run the program backwards from the factored parts (the order `forward` gives) to y."""
    from genlab.flow.layers import inverse_twin

    parts = list(parts)
    x = parts.pop()
    for kind, layer in reversed(program):
        x = inverse_twin(layer)([x, parts.pop()], inverse=True) if kind == "split" else layer(x, inverse=True)
    return x


def build(architecture: Architecture, dequantization_seed: int = 0, variational_depth: int = 0) -> Flow:
    """The flow's models; variational_depth > 0 adds a variational dequantizer of that many steps
    (its trainer then draws u from q(u | x) instead of uniformly)."""
    import keras
    from keras import layers as keras_layers

    from genlab.flow import layers

    image_shape = (architecture.height, architecture.width, architecture.channels)
    dimensions = int(np.prod(image_shape))
    program = _program(architecture)
    pixels = keras.Input(shape=image_shape, name="pixels")                   # y = (levels + u) / 256
    parts, log_dets = forward(program, pixels)
    layout = layers.LatentLayout([tuple(part.shape[1:]) for part in parts], name="latent_layout")
    z = layout(parts)                                                        # (N, D)
    log_det = keras_layers.Add(name="log_det")(log_dets)                     # (N,)
    encoder = keras.Model(pixels, [z, log_det], name="flow_encoder")

    codes = keras.Input(shape=(dimensions,), name="z")
    y = backward(program, layers.inverse_twin(layout)(codes, inverse=True))
    # y back to the image's grey level: bin centres (level + 1/2) / 256 are levels / 255 again, then
    # [0, 1] kept (a sample's y may fall outside the bins' centres at the ends).
    images = keras_layers.Rescaling(256.0 / 255.0, offset=-0.5 / 255.0, name="to_grey_levels")(y)
    images = keras_layers.ReLU(max_value=1.0, name="kept_in_range")(images)
    decoder = keras.Model(codes, images, name="flow_decoder")

    levels = keras.Input(shape=image_shape, name="levels")                   # 0..255 as floats
    dequantizer = None
    if variational_depth:
        from genlab.flow.variational import build_dequantizer

        dequantizer = build_dequantizer(image_shape, depth=variational_depth, hidden=architecture.hidden,
                                        seed=architecture.seed)
        noise = layers.StandardNormalNoise(dequantization_seed, name="dequantization_noise")(levels)
        dequantized, log_q = dequantizer([levels, noise])
        bits = layers.BitsPerDimension(name="bits_per_dim")([*encoder(dequantized), log_q])
    else:
        dequantized = layers.UniformDequantization(dequantization_seed, name="dequantization")(levels)
        bits = layers.BitsPerDimension(name="bits_per_dim")(list(encoder(dequantized)))
    trainer = keras.Model(levels, bits, name="flow_trainer")
    return Flow(program=program, layout=layout, encoder=encoder, decoder=decoder, trainer=trainer, dimensions=dimensions,
                dequantizer=dequantizer)


def initialize(flow: Flow, y: np.ndarray) -> None:
    """Activation normalization's data-dependent start, from one batch of dequantized pixels y
    (N x H x W x C in [0, 1]): at the start every actnorm's output has zero mean and unit variance."""
    from keras import ops

    forward(flow.program, ops.convert_to_tensor(np.asarray(y, np.float32)), initialize=True)
