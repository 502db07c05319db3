"""Out-of-distribution metrics as small pure functions: scores -> AUROC, images -> complexity.

Convention: a score is higher for images *less* like the training data (bits/dim, a
reconstruction error, an energy), so AUROC is the probability that a random image of the other
dataset scores higher than a random test image of the run's own: 1.0 separates them perfectly,
0.5 is chance, and well below 0.5 means the score prefers the other dataset (the known failure
of raw likelihood: a Fashion-MNIST model finds MNIST digits more likely than clothes).

The complexity correction is Serra et al. (2020), "Input complexity and out-of-distribution
detection with likelihood-based generative models": S(x) = bits/dim(x) - L(x), where L(x) is
the size of the losslessly compressed image (PNG, the strongest zlib level) in bits/dim, a
generic compressor's bound on -log2 p(x) that knows nothing of the training data.
"""
from __future__ import annotations

import io

import numpy as np


def auroc(in_scores, out_scores) -> float:
    """Area under the ROC curve of telling `out_scores` (positives) from `in_scores` by the score
    (higher = more out of distribution); ties count one half. scikit-learn's roc_auc_score."""
    from sklearn.metrics import roc_auc_score

    in_scores, out_scores = np.asarray(in_scores, np.float64).ravel(), np.asarray(out_scores, np.float64).ravel()
    if len(in_scores) == 0 or len(out_scores) == 0:
        raise ValueError("AUROC needs at least one score on each side")
    if not (np.isfinite(in_scores).all() and np.isfinite(out_scores).all()):
        raise ValueError("AUROC of scores that are not all finite")
    truth = np.concatenate([np.zeros(len(in_scores)), np.ones(len(out_scores))])
    return float(roc_auc_score(truth, np.concatenate([in_scores, out_scores])))


def auroc_std_error(value: float, in_count: int, out_count: int) -> float:
    """The standard error of an AUROC estimate (Hanley & McNeil, 1982), from the AUROC and the
    two sample sizes: what a +/- beside it in a table means."""
    q1, q2 = value / (2 - value), 2 * value * value / (1 + value)
    variance = (value * (1 - value) + (out_count - 1) * (q1 - value * value)
                + (in_count - 1) * (q2 - value * value)) / (in_count * out_count)
    return float(np.sqrt(max(variance, 0.0)))


def png_bits_per_dim(images) -> np.ndarray:
    """L(x): each image's PNG size (zlib level 9) in bits per dimension. uint8 N x H x W x C with
    C = 1 (grey) or 3 (RGB) -> float64 (N,). The file's fixed overhead (signature, headers, ~60
    bytes) is the same for every image of a size, so it shifts L and never reorders it."""
    from PIL import Image

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"PNG complexity needs uint8 N x H x W x 1 or 3 images, not {images.dtype} {images.shape}")
    dimensions = int(np.prod(images.shape[1:]))
    sizes = np.empty(len(images), dtype=np.float64)
    for index, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG", compress_level=9)
        sizes[index] = 8.0 * buffer.tell()
    return sizes / dimensions


def complexity_corrected(bits_per_dim, complexity_bits_per_dim) -> np.ndarray:
    """S(x) = bits/dim(x) - L(x): how much worse the model codes an image than PNG does (higher =
    more out of distribution). Both float (N,) in bits per dimension."""
    return np.asarray(bits_per_dim, np.float64) - np.asarray(complexity_bits_per_dim, np.float64)
