"""Paths through latent space, shared by every family that interpolates."""
from __future__ import annotations

import numpy as np


def latent_paths(starts: np.ndarray, ends: np.ndarray, steps: int) -> np.ndarray:
    """Straight lines in latent space: (rows, dim) starts and ends -> (rows * steps, dim) float32,
    row by row, each from its start (weight 0) to its end (weight 1)."""
    weights = np.linspace(0.0, 1.0, steps)[None, :, None]                          # (1, steps, 1)
    starts, ends = np.asarray(starts)[:, None, :], np.asarray(ends)[:, None, :]     # (rows, 1, dim)
    return ((1 - weights) * starts + weights * ends).reshape(-1, starts.shape[-1]).astype("float32")
