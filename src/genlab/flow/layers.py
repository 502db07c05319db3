"""The flow's invertible layers, in keras.ops (every backend), each registered as genlab>NAME so
that a saved model loads with `keras.saving.load_model(path)` in safe mode once this module is
imported (genlab.models imports it itself when a model file names it).

A flow layer runs both ways on the same weights:

    y, log_det = layer(x)              # forward: log_det (N,) = log |det dy/dx| of each image
    x = layer(y, inverse=True)         # backward, exactly (to float precision)

so the encoder (pixels -> z) and the decoder (z -> pixels) are two functional models over the same
layer objects. Shapes are N x H x W x C (the 1x1 convolution and activation normalization also
take N x C, which the closed-form tests use).
"""
from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

PACKAGE = "genlab"


def _other_axes(x) -> list[int]:
    return list(range(1, len(x.shape)))


def _per_image(x, value):
    """A constant log-determinant as one value per image of the batch: (N,)."""
    zeros = ops.zeros_like(ops.sum(x, axis=_other_axes(x)))
    return zeros + ops.cast(value, zeros.dtype)


def inverse_twin(layer):
    """A weightless layer whose forward and inverse calls take different structures (one tensor
    in, a list out, or the reverse) gets a twin of its own for the inverse: a Keras functional
    model cannot hold one layer called both ways."""
    return type(layer).from_config({**layer.get_config(), "name": layer.name + "_inverse"})


class FlowLayer(keras.layers.Layer):
    """A bijection: call(x) -> (y, log_det per image); call(y, inverse=True) -> x. (Its two
    directions are `transform` and `invert`: `forward` is torch's name for a module's call.)"""

    def call(self, inputs, inverse: bool = False):
        return self.invert(inputs) if inverse else self.transform(inputs)

    def transform(self, x):
        raise NotImplementedError

    def invert(self, y):
        raise NotImplementedError


# ---------------------------------------------------------------------------- the pixels' own bijection
@keras.saving.register_keras_serializable(package=PACKAGE)
class LogitTransform(FlowLayer):
    """y in [0, 1] (dequantized pixels / 256) -> logit(alpha + (1 - 2 alpha) y), so the flow works on
    an unbounded space (RealNVP); alpha keeps the ends finite. Its log-determinant is counted, so
    the density is still the one over y."""

    def __init__(self, alpha: float = 0.05, **kwargs):
        super().__init__(**kwargs)
        self.alpha = float(alpha)

    def transform(self, y):
        squeezed = self.alpha + (1.0 - 2.0 * self.alpha) * y
        z = ops.log(squeezed) - ops.log1p(-squeezed)
        # d logit(s)/ds = 1 / (s (1 - s)), ds/dy = 1 - 2 alpha
        log_det = math.log(1.0 - 2.0 * self.alpha) - ops.log(squeezed) - ops.log1p(-squeezed)
        return z, ops.sum(log_det, axis=_other_axes(y))

    def invert(self, z):
        return (ops.sigmoid(z) - self.alpha) / (1.0 - 2.0 * self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


# ---------------------------------------------------------------------------- reshaping (volume-preserving)
@keras.saving.register_keras_serializable(package=PACKAGE)
class Squeeze(FlowLayer):
    """N x H x W x C -> N x H/2 x W/2 x 4C: each 2 x 2 block of pixels becomes one pixel's
    channels (RealNVP's squeeze), so couplings split channels that were neighbours in space."""

    def transform(self, x):
        height, width, channels = x.shape[1:]
        blocks = ops.reshape(x, (-1, height // 2, 2, width // 2, 2, channels))
        y = ops.reshape(ops.transpose(blocks, (0, 1, 3, 2, 4, 5)), (-1, height // 2, width // 2, 4 * channels))
        return y, _per_image(x, 0.0)

    def invert(self, y):
        height, width, channels = y.shape[1:]
        blocks = ops.reshape(y, (-1, height, width, 2, 2, channels // 4))
        return ops.reshape(ops.transpose(blocks, (0, 1, 3, 2, 4, 5)), (-1, 2 * height, 2 * width, channels // 4))


@keras.saving.register_keras_serializable(package=PACKAGE)
class SplitChannels(keras.layers.Layer):
    """Multi-scale: x -> [kept, factored], the first half of the channels going on through the
    flow, the second half factored out as part of z; inverse=True joins them again."""

    def call(self, inputs, inverse: bool = False):
        if inverse:
            return ops.concatenate(list(inputs), axis=-1)
        half = inputs.shape[-1] // 2
        return [inputs[..., :half], inputs[..., half:]]


@keras.saving.register_keras_serializable(package=PACKAGE)
class LatentLayout(keras.layers.Layer):
    """The factored-out parts (each N x h x w x c) flattened and joined into z, N x D, in the
    order given; inverse=True cuts z back into the parts."""

    def __init__(self, shapes, **kwargs):
        super().__init__(**kwargs)
        self.shapes = [tuple(int(side) for side in shape) for shape in shapes]

    def call(self, inputs, inverse: bool = False):
        sizes = [int(np.prod(shape)) for shape in self.shapes]
        if inverse:
            parts, start = [], 0
            for shape, size in zip(self.shapes, sizes):
                parts.append(ops.reshape(inputs[:, start:start + size], (-1, *shape)))
                start += size
            return parts
        return ops.concatenate([ops.reshape(part, (-1, size)) for part, size in zip(inputs, sizes)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "shapes": [list(shape) for shape in self.shapes]}


# ---------------------------------------------------------------------------- Glow's step of flow
def _unit_triangular_inverse(strict, channels: int):
    """(I + strict)^-1 for a strictly triangular (C, C) `strict`: I - N + N^2 - ... (Horner)."""
    eye = ops.eye(channels, dtype=strict.dtype)
    inverse = eye
    for _ in range(channels - 1):
        inverse = eye - ops.matmul(strict, inverse)
    return inverse


@keras.saving.register_keras_serializable(package=PACKAGE)
class ActivationNormalization(FlowLayer):
    """y = (x + bias) * exp(log_scale) per channel (Glow's actnorm): a batch normalization whose
    statistics are fixed after the first batch (`initialize`), so the flow is the same function in
    training and in use. log_det = pixels * sum(log_scale)."""

    def build(self, input_shape):
        channels = input_shape[-1]
        self.bias = self.add_weight(shape=(channels,), initializer="zeros", name="bias")
        self.log_scale = self.add_weight(shape=(channels,), initializer="zeros", name="log_scale")

    def transform(self, x):
        pixels = int(np.prod(x.shape[1:-1]))
        return (x + self.bias) * ops.exp(self.log_scale), _per_image(x, pixels * ops.sum(self.log_scale))

    def invert(self, y):
        return y * ops.exp(-self.log_scale) - self.bias

    def initialize(self, x) -> None:
        """Data-dependent start: this batch's channels come out with mean 0 and variance 1."""
        values = np.asarray(ops.convert_to_numpy(x), np.float64)
        axes = tuple(range(values.ndim - 1))
        self.bias.assign((-values.mean(axis=axes)).astype(self.bias.dtype))
        self.log_scale.assign((-np.log(values.std(axis=axes) + 1e-6)).astype(self.log_scale.dtype))


@keras.saving.register_keras_serializable(package=PACKAGE)
class InvertibleConvolution(FlowLayer):
    """Glow's invertible 1x1 convolution, W = P L (U + diag(sign * exp(log_abs_diagonal))) (the LU
    form): a learnt mixing of the channels whose log-determinant, pixels * sum(log_abs_diagonal),
    costs nothing and cannot go through zero. P and the signs stay fixed; W starts as a random
    rotation (seeded)."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)

    def build(self, input_shape):
        import scipy.linalg

        channels = input_shape[-1]
        rotation, _ = np.linalg.qr(np.random.default_rng(self.seed).standard_normal((channels, channels)))
        permutation, lower, upper = scipy.linalg.lu(rotation)
        diagonal = np.diag(upper)

        def weight(name, value, trainable=True):
            variable = self.add_weight(shape=value.shape, initializer="zeros", name=name, trainable=trainable)
            variable.assign(value.astype(variable.dtype))
            return variable

        self.permutation = weight("permutation", permutation, trainable=False)
        self.lower = weight("lower", np.tril(lower, -1))
        self.upper = weight("upper", np.triu(upper, 1))
        self.log_abs_diagonal = weight("log_abs_diagonal", np.log(np.abs(diagonal)))
        self.sign = weight("sign", np.sign(diagonal), trainable=False)
        self.lower_mask = np.tril(np.ones((channels, channels)), -1)

    def matrix(self):
        channels = self.lower_mask.shape[0]
        eye = ops.eye(channels, dtype=self.compute_dtype)
        mask = ops.cast(self.lower_mask, self.compute_dtype)
        lower = self.lower * mask + eye
        upper = self.upper * ops.transpose(mask) + ops.diag(self.sign * ops.exp(self.log_abs_diagonal))
        return ops.matmul(self.permutation, ops.matmul(lower, upper))             # (C, C)

    def transform(self, x):
        pixels = int(np.prod(x.shape[1:-1]))
        y = ops.matmul(x, ops.transpose(self.matrix()))                             # each pixel's channels: W x
        return y, _per_image(x, pixels * ops.sum(self.log_abs_diagonal))

    def inverse_matrix(self):
        """W^-1 = U'^-1 L^-1 P^T with matrix products only (no matrix inverse op, which ONNX lacks):
        a unit triangular I + N has N^C = 0, so (I + N)^-1 = sum over k < C of (-N)^k exactly."""
        channels = self.lower_mask.shape[0]
        mask = ops.cast(self.lower_mask, self.compute_dtype)
        diagonal = self.sign * ops.exp(self.log_abs_diagonal)                                 # U' = diag(d) (I + N_u / d)
        lower_inverse = _unit_triangular_inverse(self.lower * mask, channels)
        upper_inverse = _unit_triangular_inverse(self.upper * ops.transpose(mask) / diagonal[:, None], channels) / diagonal[None, :]
        return ops.matmul(upper_inverse, ops.matmul(lower_inverse, ops.transpose(self.permutation)))

    def invert(self, y):
        return ops.matmul(y, ops.transpose(self.inverse_matrix()))

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class AffineCoupling(FlowLayer):
    """The first half of the channels x_a passes unchanged and sets an affine map of the second:

        y_b = x_b * exp(log_s) + t,   (t, raw) = network(x_a),   log_s = scale * tanh(raw),

    (RealNVP's coupling, its scale bounded by tanh so one update cannot blow a layer up: a cause
    of the NaN losses Glow ports see). The network is conv 3x3 -> ReLU -> conv 1x1 -> ReLU ->
    conv 3x3, the last one zero at the start, so the flow starts as the identity.
    log_det = sum(log_s)."""

    def __init__(self, hidden: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.hidden = int(hidden)
        policy = self.dtype_policy
        self.first = keras.layers.Conv2D(self.hidden, 3, padding="same", activation="relu", dtype=policy, name="first")
        self.middle = keras.layers.Conv2D(self.hidden, 1, activation="relu", dtype=policy, name="middle")
        self.last = None

    def build(self, input_shape):
        self._build_networks(tuple(input_shape), condition_channels=0)

    def _build_networks(self, input_shape, condition_channels: int) -> None:
        channels = input_shape[-1]
        self.kept = channels // 2
        changed = channels - self.kept
        self.last = keras.layers.Conv2D(2 * changed, 3, padding="same", kernel_initializer="zeros",
                                        bias_initializer="zeros", dtype=self.dtype_policy, name="last")
        spatial = tuple(input_shape[:-1])
        self.first.build(spatial + (self.kept + condition_channels,))
        self.middle.build(spatial + (self.hidden,))
        self.last.build(spatial + (self.hidden,))
        self.scale = self.add_weight(shape=(changed,), initializer="ones", name="scale")

    def _shift_and_log_scale(self, kept, condition=None):
        seen = kept if condition is None else ops.concatenate([kept, condition], axis=-1)
        out = self.last(self.middle(self.first(seen)))                   # (N, H, W, 2 * changed)
        changed = out.shape[-1] // 2
        return out[..., :changed], ops.multiply(ops.tanh(out[..., changed:]), self.scale)

    def transform(self, x, condition=None):
        kept, changed = x[..., :self.kept], x[..., self.kept:]
        shift, log_scale = self._shift_and_log_scale(kept, condition)
        y = ops.concatenate([kept, changed * ops.exp(log_scale) + shift], axis=-1)
        return y, ops.sum(log_scale, axis=_other_axes(log_scale))

    def invert(self, y, condition=None):
        kept, changed = y[..., :self.kept], y[..., self.kept:]
        shift, log_scale = self._shift_and_log_scale(kept, condition)
        return ops.concatenate([kept, (changed - shift) * ops.exp(-log_scale)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


@keras.saving.register_keras_serializable(package=PACKAGE)
class ConditionalAffineCoupling(AffineCoupling):
    """The affine coupling with a condition beside x_a in its network's input: called on
    [x, condition] (N x H x W x C and N x H x W x F), a bijection of x for each condition (the
    variational dequantizer's, conditioned on the image)."""

    def build(self, input_shape):
        shape, condition_shape = input_shape
        self._build_networks(tuple(shape), condition_channels=int(condition_shape[-1]))

    def call(self, inputs, inverse: bool = False):
        x, condition = inputs
        return self.invert(x, condition) if inverse else self.transform(x, condition)


# ---------------------------------------------------------------------------- training only
@keras.saving.register_keras_serializable(package=PACKAGE)
class UniformDequantization(keras.layers.Layer):
    """8-bit levels (floats 0..255) -> y = (levels + u) / 256, u ~ U[0, 1)^D drawn afresh at every
    call (in validation too: the validation figure is then the same bound as the training one)."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, levels):
        noise = keras.random.uniform(ops.shape(levels), dtype=self.compute_dtype, seed=self.seed_generator)
        return (ops.cast(levels, self.compute_dtype) + noise) / 256.0

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class BitsPerDimension(keras.layers.Layer):
    """[z (N, D), log_det (N,)] -> each image's -log2 p(x) / D in bits, p the density of y under a
    standard normal z (change of variables), plus log2 256 for the dequantization (genlab's
    convention: an upper bound on the 8-bit image's bits/dim). A third input, log q(u | x) of
    variational dequantization's noise (N,), is subtracted from log p: the bound for noise drawn
    from q instead of uniformly."""

    def call(self, inputs):
        z, log_det = inputs[:2]
        dimensions = z.shape[-1]
        log_density = -0.5 * ops.sum(ops.square(z), axis=-1) - 0.5 * dimensions * math.log(2.0 * math.pi) + log_det
        if len(inputs) == 3:
            log_density = log_density - inputs[2]     # log q(u | x) of variational dequantization's noise
        return -log_density / (dimensions * math.log(2.0)) + 8.0


# ---------------------------------------------------------------------------- variational dequantization
@keras.saving.register_keras_serializable(package=PACKAGE)
class StandardNormalNoise(keras.layers.Layer):
    """A draw of N(0, I) noise shaped like its input, afresh at every call (the trainer's source
    of the variational dequantizer's noise)."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, like):
        return keras.random.normal(ops.shape(like), dtype=self.compute_dtype, seed=self.seed_generator)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SigmoidDequantization(keras.layers.Layer):
    """[levels, h, noise, log_det] -> [y, log q(u | x)]: u = sigmoid(h) in (0, 1) is the noise added
    to the levels, y = (levels + u) / 256, and its density under the dequantizer, whose flow took
    the standard normal `noise` to h with log-determinant log_det:

        log q(u | x) = log N(noise; 0, I) - log_det - sum log sigmoid'(h)."""

    def call(self, inputs):
        levels, h, noise, log_det = inputs
        axes = _other_axes(h)
        log_normal = ops.sum(-0.5 * ops.square(noise) - 0.5 * math.log(2.0 * math.pi), axis=axes)
        log_sigmoid_slope = ops.sum(-ops.softplus(h) - ops.softplus(-h), axis=axes)     # log s(h)(1 - s(h))
        y = (ops.cast(levels, h.dtype) + ops.sigmoid(h)) / 256.0
        return [y, log_normal - log_det - log_sigmoid_slope]
