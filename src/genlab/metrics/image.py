"""Reconstruction metrics on float images in [0, 1].

- `mse`: mean squared error over every pixel of every image (as Keras' MSE loss reports it).
- `psnr_db`: 10 log10(data_range^2 / mse), from the *pooled* MSE, which is how the reference
  script reports it; per-image PSNR averages would differ.
- `ssim`: mean SSIM over images, from scikit-image's `structural_similarity` (7x7 uniform
  window, data_range 1), the well-kept implementation most papers' code uses.
"""
from __future__ import annotations

import numpy as np


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size != b.size:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    return a.reshape(b.shape) if a.shape != b.shape else a, b


def mse(predicted, target) -> float:
    predicted, target = _pair(predicted, target)
    return float(np.mean((predicted - target) ** 2))


def psnr_db(predicted, target, data_range: float = 1.0) -> float:
    error = mse(predicted, target)
    if error == 0:
        return float("inf")
    return float(10.0 * np.log10(data_range ** 2 / error))


def ssim(predicted, target, data_range: float = 1.0) -> float:
    """Mean SSIM over a batch of N x H x W (x 1), N x H x W x 3 (the mean over the three
    channels, scikit-image's channel_axis) or N x H*W (square grey) images."""
    from skimage.metrics import structural_similarity

    predicted, target = _pair(predicted, target)
    target = _as_square_batch(target)
    predicted = predicted.reshape(target.shape)
    channel_axis = -1 if target.ndim == 4 else None
    scores = [structural_similarity(p, t, data_range=data_range, channel_axis=channel_axis) for p, t in zip(predicted, target)]
    return float(np.mean(scores))


def _as_square_batch(images: np.ndarray) -> np.ndarray:
    if images.ndim == 2:  # N x 784 -> N x 28 x 28; N x 3072 -> N x 32 x 32 x 3
        side = int(round(np.sqrt(images.shape[1])))
        if side * side == images.shape[1]:
            return images.reshape(len(images), side, side)
        side = int(round(np.sqrt(images.shape[1] / 3)))
        return images.reshape(len(images), side, side, 3)
    if images.ndim == 4 and images.shape[-1] == 1:
        return images[..., 0]
    if images.ndim == 4 and images.shape[-1] != 3:
        raise ValueError(f"ssim here expects grey or RGB images, got {images.shape[-1]} channels")
    return images
