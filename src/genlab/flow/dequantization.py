"""From 8-bit images to the flow's continuous pixels and back, and the bits they cost.

A flow is a density over continuous y; 8-bit images are discrete. Uniform dequantization
(genlab.metrics.likelihood's convention) adds u ~ U[0, 1)^D to the levels and scales to [0, 1):
y = (x + u) / 256. Then -log2 P(x) <= E_u[-log2 p(y)] + D log2 256, an upper bound (Jensen), which
k draws tighten: -log2 P(x) <= -log2 (1/k sum_i p(y_i)) + D log2 256, the k-sample bound, still
above -log2 P(x) in expectation and decreasing in k (Burda et al.'s argument, q uniform).

Without noise an image goes to its bins' centres, y = (x + 1/2) / 256 = (255 g + 1/2) / 256 for a
grey level g = x / 255 in [0, 1]: the point `genlab.encode` maps to z, and which the decoder maps
back to g exactly.
"""
from __future__ import annotations

import math

import numpy as np

from genlab.metrics.likelihood import LOG2_E, UNIFORM_BITS_PER_DIM


def dequantized(levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """y = (levels + u) / 256, u ~ U[0, 1) per pixel: float32, the shape of `levels`."""
    return ((np.asarray(levels, np.float64) + rng.random(np.shape(levels))) / 256.0).astype(np.float32)


def bin_centres(grey: np.ndarray) -> np.ndarray:
    """Grey levels in [0, 1] (level / 255) -> the flow's pixels at the bins' centres, (255 g + 1/2) / 256."""
    return ((np.asarray(grey, np.float64) * 255.0 + 0.5) / 256.0).astype(np.float32)


def negative_log_density_nats(z: np.ndarray, log_det: np.ndarray) -> np.ndarray:
    """-log p(y) per image in nats, by the change of variables: z = f(y) standard normal,
    log p(y) = log N(z; 0, I) + log |det df/dy|. z (N, D), log_det (N,) -> (N,) float64."""
    z = np.asarray(z, np.float64)
    dimensions = z.shape[1]
    log_normal = -0.5 * np.sum(z ** 2, axis=1) - 0.5 * dimensions * math.log(2.0 * math.pi)
    return -(log_normal + np.asarray(log_det, np.float64))


def image_bits(nats_per_draw: np.ndarray, dimensions: int) -> np.ndarray:
    """The upper bound on -log2 P(x) per image, in bits, from -log p(y_i) (nats) of k draws per
    image (N, k): -log2 of the draws' mean density, plus D log2 256."""
    from scipy.special import logsumexp

    nats = np.asarray(nats_per_draw, np.float64)
    mean_log_density = logsumexp(-nats, axis=1) - math.log(nats.shape[1])
    return -mean_log_density * LOG2_E + dimensions * UNIFORM_BITS_PER_DIM
