"""Likelihood in bits per dimension: genlab's one convention, as small pure functions.

The convention (the field's, e.g. PixelCNN, RealNVP, Glow, DDPM papers):
- x is an 8-bit image: D = H * W * C integers in 0..255;
- bits/dim = -log2 P(x) / D, averaged over a test set; lower is better, and a model that
  spreads its probability evenly over all 256^D images scores exactly 8;
- a discrete model (PixelCNN's 256-way softmax, a discretized logistic) gives P(x) itself;
- a continuous density p over y = (x + u) / 256 in [0, 1]^D (uniform dequantization, u ~ U[0, 1)^D)
  gives P(x) = E_u[p(y)] / 256^D, so by Jensen -log2 P(x) <= E_u[-log2 p(y)] + D log2 256: its
  bits/dim is -log2 p(y) / D + 8, an upper bound (the log 256 per dimension accounted for).
Binarized MNIST is another dataset and reported in nats: never compared with these figures.
"""
from __future__ import annotations

import math

import numpy as np

LEVELS = 256
UNIFORM_BITS_PER_DIM = math.log2(LEVELS)          # 8.0: every 8-bit image equally likely
LOG2_E = 1.0 / math.log(2.0)


def bits_from_nats(nats):
    """-log p in nats -> -log2 p in bits."""
    return np.asarray(nats, dtype=np.float64) * LOG2_E


def bits_per_dim(bits_per_image, dimensions: int) -> np.ndarray:
    """-log2 P(x) per image (bits) -> bits per dimension per image."""
    if dimensions < 1:
        raise ValueError(f"dimensions must be at least 1, got {dimensions}")
    return np.asarray(bits_per_image, dtype=np.float64) / dimensions


def dequantized_bits(negative_log_density_nats, dimensions: int) -> np.ndarray:
    """A continuous density on [0, 1]^D at y = (x + u) / 256 -> an upper bound on -log2 P(x) in
    bits per image: -log2 p(y) + D log2 256 (uniform dequantization, see the module's docstring)."""
    return bits_from_nats(negative_log_density_nats) + dimensions * UNIFORM_BITS_PER_DIM


def mean_and_std_error(values) -> tuple[float, float]:
    """The mean of per-image figures and its standard error (sample std / sqrt(n); 0 for one value)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("no values to average")
    if values.size == 1:
        return float(values[0]), 0.0
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


def independent_pixel_log_probabilities(train_images: np.ndarray, smoothing: float = 0.5) -> np.ndarray:
    """The per-pixel independent model fitted on a training set: for each of the D dimensions a
    categorical over the 256 levels, from counts with `smoothing` added to each level (0.5: the
    Krichevsky-Trofimov estimate; without it a level never seen in training would get
    probability 0 and an infinite bits/dim). Returns log-probabilities, float64 (D, 256)."""
    images = _levels(train_images).reshape(len(train_images), -1)        # (N, D)
    dimensions = images.shape[1]
    # One bincount over (dimension, level) pairs: (D, 256) counts without a (N, D, 256) one-hot.
    pairs = np.arange(dimensions, dtype=np.int64)[None, :] * LEVELS + images
    counts = np.bincount(pairs.reshape(-1), minlength=dimensions * LEVELS).reshape(dimensions, LEVELS).astype(np.float64)
    counts += smoothing
    return np.log(counts / counts.sum(axis=1, keepdims=True))


def independent_pixel_bits(log_probabilities: np.ndarray, images: np.ndarray) -> np.ndarray:
    """-log2 P(x) per image (bits) under the independent model: the sum of each pixel's own."""
    levels = _levels(images).reshape(len(images), -1)                   # (N, D)
    if levels.shape[1] != log_probabilities.shape[0]:
        raise ValueError(f"images have {levels.shape[1]} dimensions, the model {log_probabilities.shape[0]}")
    picked = log_probabilities[np.arange(levels.shape[1])[None, :], levels]   # (N, D)
    return -picked.sum(axis=1) * LOG2_E


def categorical_bits(log_probabilities: np.ndarray, images: np.ndarray) -> np.ndarray:
    """-log2 P(x) per image for a discrete model's per-dimension log-probabilities
    (N x ... x 256, natural log, normalized over the last axis) at the images' levels."""
    levels = _levels(images).reshape(len(images), -1)
    flat = np.asarray(log_probabilities, dtype=np.float64).reshape(len(images), -1, log_probabilities.shape[-1])
    picked = np.take_along_axis(flat, levels[..., None].astype(np.int64), axis=-1)[..., 0]
    return -picked.sum(axis=1) * LOG2_E


def discretized_logistic_log_probability(levels: np.ndarray, mean: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """log P(level) (natural log) of 8-bit levels under a logistic(mean, exp(log_scale)) on the
    [-1, 1] pixel scale, discretized into 256 bins of width 2/255 with the two end bins open
    (PixelCNN++, Salimans et al. 2017): a proper distribution over 0..255 for every pixel."""
    x = np.asarray(levels, dtype=np.float64) / 127.5 - 1.0
    mean, log_scale = np.asarray(mean, np.float64), np.maximum(np.asarray(log_scale, np.float64), -7.0)
    inverse_scale = np.exp(-log_scale)
    upper = inverse_scale * (x - mean + 1.0 / 255.0)
    lower = inverse_scale * (x - mean - 1.0 / 255.0)
    log_cdf_upper = -np.logaddexp(0.0, -upper)            # log sigmoid(upper)
    log_one_minus_cdf_lower = -np.logaddexp(0.0, lower)   # log (1 - sigmoid(lower))
    # log(sigmoid(upper) - sigmoid(lower)), computed stably: sigmoid(u) - sigmoid(l) = sigmoid(u) (1 - exp(l - u)) ... via logs
    middle = log_cdf_upper + log_one_minus_cdf_lower + np.log(-np.expm1(lower - upper))
    return np.where(levels <= 0, log_cdf_upper, np.where(levels >= LEVELS - 1, log_one_minus_cdf_lower, middle))


def discretized_logistic_log_probability_ops(x, mean, log_scale):
    """The keras.ops twin of `discretized_logistic_log_probability`, for training losses: x holds
    the levels on the [-1, 1] scale (level / 127.5 - 1, a float tensor), mean and log_scale the
    logistic's parameters on that scale; returns log P(level) per pixel (natural log), the same
    figures as the numpy function (float32)."""
    from keras import ops

    x, mean = ops.cast(x, "float32"), ops.cast(mean, "float32")
    log_scale = ops.maximum(ops.cast(log_scale, "float32"), -7.0)
    inverse_scale = ops.exp(-log_scale)
    upper = inverse_scale * (x - mean + 1.0 / 255.0)
    lower = inverse_scale * (x - mean - 1.0 / 255.0)
    log_cdf_upper = -ops.softplus(-upper)
    log_one_minus_cdf_lower = -ops.softplus(lower)
    middle = log_cdf_upper + log_one_minus_cdf_lower + ops.log(-ops.expm1(lower - upper))
    edge = 1.0 - 0.5 / 127.5              # halfway between the last bin's centre and the one before
    return ops.where(x < -edge, log_cdf_upper, ops.where(x > edge, log_one_minus_cdf_lower, middle))


def discretized_gaussian_log_probability(levels: np.ndarray, mean: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """log P(level) (natural log) of 8-bit levels under a normal(mean, exp(log_scale)) on the
    [-1, 1] pixel scale, discretized into 256 bins of width 2/255 with the two end bins open (the
    DDPM decoder, Ho et al. 2020, eq. 13): a proper distribution over 0..255 for every pixel.
    Computed in log space on the tail each bin lies in, so far-off bins stay finite."""
    from scipy.special import log_ndtr

    x = np.asarray(levels, dtype=np.float64) / 127.5 - 1.0
    mean, scale = np.asarray(mean, np.float64), np.exp(np.asarray(log_scale, np.float64))
    upper = (x - mean + 1.0 / 255.0) / scale
    lower = (x - mean - 1.0 / 255.0) / scale
    log_cdf_upper = log_ndtr(upper)                       # log Phi(upper): the first bin
    log_survival_lower = log_ndtr(-lower)                 # log (1 - Phi(lower)): the last bin
    # log(Phi(u) - Phi(l)) for a middle bin: on the left of the mean as Phi(u) (1 - Phi(l) / Phi(u)),
    # on the right as (1 - Phi(l)) (1 - (1 - Phi(u)) / (1 - Phi(l))), so no difference of two numbers near 1.
    with np.errstate(divide="ignore"):
        left = log_cdf_upper + np.log1p(-np.exp(np.minimum(log_ndtr(lower) - log_cdf_upper, 0.0)))
        right = log_survival_lower + np.log1p(-np.exp(np.minimum(log_ndtr(-upper) - log_survival_lower, 0.0)))
    middle = np.where(lower > 0.0, right, left)
    return np.where(levels <= 0, log_cdf_upper, np.where(levels >= LEVELS - 1, log_survival_lower, middle))


def importance_weighted_nats(log_weights) -> np.ndarray:
    """The importance-weighted bound (IWAE, Burda et al. 2016) on -log p(x) in nats, per image, from
    log w_i = log p(x, z_i) - log q(z_i | x) for k draws z_i ~ q(z | x) (an N x k array):
    -log p(x) <= -log (1/k) sum_i w_i in expectation; k = 1 is the ELBO, and the bound tightens as
    k grows."""
    log_weights = np.asarray(log_weights, dtype=np.float64)
    if log_weights.ndim != 2 or log_weights.shape[1] < 1:
        raise ValueError(f"log weights must be N x k with k >= 1, got shape {log_weights.shape}")
    largest = log_weights.max(axis=1, keepdims=True)
    log_mean = largest[:, 0] + np.log(np.mean(np.exp(log_weights - largest), axis=1))
    return -log_mean


def _levels(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"8-bit levels must be uint8, got {images.dtype}")
    return images
