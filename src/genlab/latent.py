"""Latent spaces: the paths through them every family interpolates along, and the LatentSpace
a generative family describes its own with (what the explorer and export build on)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np


def latent_paths(starts: np.ndarray, ends: np.ndarray, steps: int) -> np.ndarray:
    """Straight lines in latent space: (rows, dim) starts and ends -> (rows * steps, dim) float32,
    row by row, each from its start (weight 0) to its end (weight 1)."""
    weights = np.linspace(0.0, 1.0, steps)[None, :, None]                          # (1, steps, 1)
    starts, ends = np.asarray(starts)[:, None, :], np.asarray(ends)[:, None, :]     # (rows, 1, dim)
    return ((1 - weights) * starts + weights * ends).reshape(-1, starts.shape[-1]).astype("float32")


def spherical_paths(starts: np.ndarray, ends: np.ndarray, steps: int) -> np.ndarray:
    """Great-circle paths (slerp) between (rows, dim) starts and ends -> (rows * steps, dim).
    For Gaussian noise of many dimensions (a diffusion model's x_T) a straight line passes
    through points of too small a norm, which the model never saw; slerp keeps the norm."""
    starts, ends = np.asarray(starts, np.float64), np.asarray(ends, np.float64)
    cosine = np.sum(starts * ends, axis=1) / (np.linalg.norm(starts, axis=1) * np.linalg.norm(ends, axis=1) + 1e-12)
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))[:, None, None]                  # (rows, 1, 1)
    weights = np.linspace(0.0, 1.0, steps)[None, :, None]                          # (1, steps, 1)
    sine = np.sin(angle)
    safe = np.where(sine < 1e-6, 1.0, sine)
    start_weight = np.where(sine < 1e-6, 1 - weights, np.sin((1 - weights) * angle) / safe)
    end_weight = np.where(sine < 1e-6, weights, np.sin(weights * angle) / safe)
    paths = start_weight * starts[:, None, :] + end_weight * ends[:, None, :]
    return paths.reshape(-1, starts.shape[-1]).astype("float32")


@dataclass
class Axis:
    """One slider of the explorer: a unit direction in latent space and the range it covers."""
    name: str
    direction: np.ndarray       # (size,) unit vector
    low: float
    high: float


@dataclass
class LatentSpace:
    """A trained generative model's latent space: how genlab draws its points and turns any
    point into an image. Every generative family provides one (Family.latent_space); the
    explorer and the exported models' descriptions are built on it.

    decode(points (N, size), labels (N,) or None, **options) -> float32 images N x H x W x C in [0, 1];
    draw(seed, count) -> (count, size) float32 points, exactly as `genlab sample --seed` draws them.
    """
    family: str
    size: int
    distribution: str                       # in words, e.g. "uniform(-1, 1)"
    decode: Callable[..., np.ndarray]
    draw: Callable[[int, int], np.ndarray]
    low: np.ndarray                         # (size,) the range sliders and walks keep to
    high: np.ndarray
    num_classes: int = 0                    # > 0: decode takes one class label per point
    dims_by_use: Sequence[int] | None = None    # dimensions, those that change the image most first
    spherical: bool = False                 # interpolate and walk on spheres (Gaussian noise of many dims)
    bounded: bool = False                   # points stay inside [low, high] (a uniform prior)
    options: Mapping[str, Any] = field(default_factory=dict)   # decode's keyword options and their defaults
    # trajectory(point (size,), label or None, points, **options) -> (points, H, W, C): how one
    # point becomes its image, for families that get there in steps (diffusion's reverse process)
    trajectory: Callable[..., np.ndarray] | None = None

    def axes(self, count: int = 8, seed: int = 0) -> list[Axis]:
        """Directions for `count` sliders: the most used dimensions when known; for a space of
        many equally used dimensions (diffusion noise), fixed random orthonormal directions."""
        count = min(count, self.size)
        if self.size <= 64 or self.dims_by_use is not None:
            order = list(self.dims_by_use) if self.dims_by_use is not None else list(range(self.size))
            axes = []
            for dim in order[:count]:
                direction = np.zeros(self.size, np.float32)
                direction[dim] = 1.0
                axes.append(Axis(f"z[{dim}]", direction, float(self.low[dim]), float(self.high[dim])))
            return axes
        random = np.random.default_rng(seed).standard_normal((self.size, count))
        basis, _ = np.linalg.qr(random)                                               # (size, count) orthonormal
        spread = float(np.mean(self.high - self.low)) / 2.0
        return [Axis(f"direction {index + 1}", basis[:, index].astype(np.float32), -spread, spread) for index in range(count)]

    def coordinates(self, point: np.ndarray, axes: Sequence[Axis]) -> list[float]:
        """The point's position along each slider's direction."""
        return [float(np.dot(point, axis.direction)) for axis in axes]

    def moved(self, point: np.ndarray, axes: Sequence[Axis], values: Sequence[float]) -> np.ndarray:
        """The point with its coordinates along `axes` set to `values` (the rest unchanged)."""
        point = np.array(point, np.float32)
        for axis, value in zip(axes, values):
            point += (float(value) - float(np.dot(point, axis.direction))) * axis.direction
        return self.kept_inside(point)

    def kept_inside(self, points: np.ndarray) -> np.ndarray:
        return np.clip(points, self.low, self.high).astype(np.float32) if self.bounded else np.asarray(points, np.float32)

    def between(self, seed_a: int, seed_b: int, steps: int) -> np.ndarray:
        """(steps, size) points from seed_a's point to seed_b's."""
        ends = np.stack([self.draw(seed_a, 1)[0], self.draw(seed_b, 1)[0]])
        paths = spherical_paths if self.spherical else latent_paths
        return paths(ends[:1], ends[1:], steps)

    def walk(self, seed: int, steps: int, step_size: float = 0.25) -> np.ndarray:
        """(steps, size) points of a random walk from seed's point (each step a Gaussian move of
        `step_size` times the prior's spread per dimension; on the sphere for diffusion noise)."""
        rng = np.random.default_rng(seed + 1_000_003)
        point = self.draw(seed, 1)[0].astype(np.float64)
        spread = (self.high - self.low) / 6.0
        points = [point]
        for _ in range(steps - 1):
            if self.spherical:
                noise = rng.standard_normal(self.size)
                angle = step_size
                point = np.cos(angle) * point + np.sin(angle) * noise
            else:
                point = point + step_size * spread * rng.standard_normal(self.size)
                if self.bounded:
                    # reflect at the box's walls, so the walk stays inside the prior's support
                    point = np.where(point > self.high, 2 * self.high - point, point)
                    point = np.where(point < self.low, 2 * self.low - point, point)
            points.append(point)
        return self.kept_inside(np.asarray(points))
