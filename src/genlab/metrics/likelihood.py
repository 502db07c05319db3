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


def _levels(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"8-bit levels must be uint8, got {images.dtype}")
    return images
