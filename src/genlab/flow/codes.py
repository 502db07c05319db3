"""Between images and the flow's z, with its saved models (encoder: model.keras, decoder:
decoder.keras): numpy in, numpy out, in batches."""
from __future__ import annotations

import numpy as np

from genlab.errors import DataError

BATCH = 500        # images per network call when scoring, encoding or decoding


def draw(seed: int, count: int, dimensions: int) -> np.ndarray:
    """Standard normal points (count, D) float32, from numpy's generator seeded `seed`."""
    return np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)


def decode(decoder, z: np.ndarray) -> np.ndarray:
    """Images (float32 N x H x W x C in [0, 1]) of latent points z (N, D)."""
    z = np.asarray(z, np.float32)
    size = int(decoder.inputs[0].shape[-1])
    if z.ndim != 2 or z.shape[1] != size:
        raise DataError(f"latent points of shape {z.shape} do not fit this flow's z of {size} dimensions; pass N x {size} points")
    if not np.isfinite(z).all():
        raise DataError("latent points must be finite numbers")
    return np.asarray(decoder.predict(z, batch_size=BATCH, verbose=0), np.float32)


def encode(encoder, images: np.ndarray) -> np.ndarray:
    """Latent points z (N, D) float64 of images (float N x H x W x C in [0, 1]) at their bins'
    centres (no dequantization noise: genlab.flow.dequantization.bin_centres)."""
    from genlab.flow.dequantization import bin_centres

    z, _ = encoder.predict(bin_centres(images), batch_size=BATCH, verbose=0)
    return np.asarray(z, np.float64)
