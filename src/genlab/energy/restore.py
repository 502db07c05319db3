"""Restoring a damaged image by energy descent: the energy as a tool.

A trained energy is low on images like the training data and high on noise. Walking downhill
on it from a damaged image (gradient descent, no noise added) moves the image towards the data:
noise on every pixel fades, and where the damaged pixels are known (a block) only they change,
the intact ones held fixed. The same chain as sampling, started from the damaged image instead
of noise. A few steps are what is wanted: descending long enough reaches a minimum of the
energy, which need not be the digit the image was.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError


@dataclass
class Restoration:
    """What `restore` did: the restored images (float32 N x H x W x C in [0, 1]) and the energy
    of each image before and after (float64 (N,))."""
    images: np.ndarray
    energy_before: np.ndarray
    energy_after: np.ndarray


CORRUPTIONS = ("noise", "block")


def corrupt(clean: np.ndarray, rng: np.random.Generator, kind: str = "noise", amount: float | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Damaged copies of `clean` (float32 N x H x W x C in [0, 1]) and where they are intact.

    kind "noise": Gaussian noise of std `amount` (default 0.3) on every pixel, clipped to [0, 1];
    keep is 0 everywhere (any pixel may be wrong). kind "block": a square of side `amount`
    pixels (default a third of the side) at a random place in the middle replaced by uniform
    noise; keep is 1 outside it. Returns (damaged, keep), both float32 of clean's shape."""
    clean = np.asarray(clean, np.float32)
    if kind not in CORRUPTIONS:
        raise GenlabError(f"corruption '{kind}' is unknown; choose {' or '.join(CORRUPTIONS)}")
    if kind == "noise":
        sigma = 0.3 if amount is None else float(amount)
        damaged = np.clip(clean + sigma * rng.standard_normal(clean.shape).astype(np.float32), 0.0, 1.0)
        return damaged, np.zeros(clean.shape, np.float32)
    count, height, width = clean.shape[:3]
    block = int(amount or max(2, min(height, width) // 3))
    damaged, keep = clean.copy(), np.ones(clean.shape, np.float32)
    for index in range(count):
        top = int(rng.integers(height // 4, max(height // 4 + 1, height - height // 4 - block + 1)))
        left = int(rng.integers(width // 4, max(width // 4 + 1, width - width // 4 - block + 1)))
        damaged[index, top:top + block, left:left + block] = rng.random((block, block, clean.shape[3]), dtype=np.float32)
        keep[index, top:top + block, left:left + block] = 0.0
    return damaged, keep


def restore_images(sampler, images: np.ndarray, *, steps: int, step_size: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Energy descent from `images` with a genlab.energy.langevin.Sampler: `steps` steps of
    size `step_size`, no noise, pixels where keep is 1 held fixed (None: every pixel may move)."""
    images = np.asarray(images, np.float32)
    return sampler.run(images, steps=steps, step_size=step_size, noise=0.0, known=images, keep=keep)


def restore(run, images, *, steps: int | None = None, step_size: float | None = None, keep=None) -> Restoration:
    """Restore damaged images by descending a trained energy-based run's energy.

    Parameters:
        run: an ebm run folder (or "pretrained:NAME" of one), or a loaded energy network.
        images: float32 N x H x W x C in [0, 1] (uint8 levels are scaled).
        steps: descent steps (default: the run's restore_steps).
        step_size: the step on the gradient (default: the run's step_size).
        keep: 1 where a pixel is intact and must stay as it is, 0 where it may change (None: all may).

    Returns:
        A Restoration: the images after descent and each image's energy before and after.

    Example:
        >>> damaged, keep = genlab.energy.corrupt(clean, np.random.default_rng(0))
        >>> result = genlab.energy.restore("runs/ebm-20261201-101500", damaged, keep=keep)
    """
    from genlab.energy.langevin import Sampler

    images = np.asarray(images)
    images = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    if isinstance(run, (str, Path)):
        from genlab import api

        opened, family, config = api.open_run(run)
        if not all(hasattr(config, key) for key in ("restore_steps", "step_size", "gradient_clip")):
            raise GenlabError(f"{run} is a {family.name} run, which has no energy; restoring by energy descent "
                              "needs an energy-based run (genlab train ebm)")
        network = opened.load_model("model.keras")
        steps = config.restore_steps if steps is None else steps
        step_size = config.step_size if step_size is None else step_size
        clip = config.gradient_clip
    else:
        network, clip = run, 0.0
        if steps is None or step_size is None:
            raise GenlabError("with a network instead of a run, give steps and step_size")
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(network.input_shape[1:]):
        raise GenlabError(f"images have shape {images.shape}; this energy takes N x {' x '.join(map(str, network.input_shape[1:]))}")
    if not np.isfinite(images).all():
        raise GenlabError("images contain NaN or infinite values; give pixels in [0, 1]")
    sampler = Sampler(network, clip)
    before = sampler.energy(images)
    restored = restore_images(sampler, np.clip(images, 0.0, 1.0), steps=int(steps), step_size=float(step_size),
                              keep=None if keep is None else np.asarray(keep, np.float32))
    return Restoration(images=restored, energy_before=before, energy_after=sampler.energy(restored))
