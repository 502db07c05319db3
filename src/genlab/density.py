"""Likelihood as a capability: `genlab likelihood RUN` and `genlab.likelihood(run)`.

A family with a density (Family.likelihood) returns -log2 p(x) per image, exactly or as a named
upper bound (genlab.contract.Density); this module checks the images, averages the figure into
bits per dimension with its standard error (genlab.metrics.likelihood holds the convention) and
times it. Families without a density refuse in one line.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from genlab.checks import DEFAULT_SEED
from genlab.checks import count as _count
from genlab.checks import seed as _seed
from genlab.errors import DataError, GenlabError

log = logging.getLogger("genlab")


@dataclass
class Likelihood:
    """Test bits per dimension of a run: -log2 p(x) / D averaged over `n` images (lower is
    better; 8.00 is a uniform model), exact or an upper bound (`bound`), with its standard error."""
    bits_per_dim: float
    std_error: float
    n: int
    bound: str                  # "exact" | "upper"
    method: str
    seconds: float
    dimensions: int
    images: str                 # what was scored: "mnist test set" or a file

    def as_json(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        sign = "=" if self.bound == "exact" else "<="
        return (f"-log2 p(x) / D {sign} {self.bits_per_dim:.4f} ± {self.std_error:.4f} bits/dim ({self.bound}; {self.method}) "
                f"on {self.n} images of the {self.images}, D = {self.dimensions}, {self.seconds:.1f} s")


def levels_of(images, image_shape: tuple[int, int, int] | None = None, *, where: str = "images") -> np.ndarray:
    """8-bit images (uint8 N x H x W x C) from an array: uint8 as is; floats in [0, 1] quantized to
    round(255 x) with a one-line notice; anything else a one-line DataError naming the fix."""
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise DataError(f"{where} have shape {array.shape}; pass N x H x W or N x H x W x C images")
    if len(array) == 0:
        raise DataError(f"{where}: no images (an empty batch); pass at least one image")
    if image_shape is not None and tuple(array.shape[1:]) != tuple(image_shape):
        raise DataError(f"{where} are {' x '.join(map(str, array.shape[1:]))} but the run models "
                        f"{' x '.join(map(str, image_shape))} images; pass images of that size")
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise DataError(f"{where} hold NaN or infinite values; pass uint8 levels 0..255 or floats in [0, 1]")
        if array.min() < 0.0 or array.max() > 1.0:
            raise DataError(f"{where} are floats outside [0, 1] (from {array.min():.3g} to {array.max():.3g}); "
                            "pass uint8 levels 0..255 or floats in [0, 1]")
        log.warning(f"{where}: float pixels in [0, 1] quantized to 8-bit levels round(255 x)")
        return np.round(array.astype(np.float64) * 255.0).astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise DataError(f"{where} are integers outside 0..255; pass uint8 levels 0..255")
        return array.astype(np.uint8)
    raise DataError(f"{where} have dtype {array.dtype}; pass uint8 levels 0..255 or floats in [0, 1]")


def read_images_file(path: str | Path) -> np.ndarray:
    """The `images` array of an .npz (pickles refused), as stored: a one-line DataError when it
    cannot be read."""
    from genlab.api import load_samples_file

    return load_samples_file(path)


def run_image_shape(run) -> tuple[int, int, int]:
    """The H x W x C of the images a run models (genlab.runs.Run.image_shape)."""
    return run.image_shape()


def likelihood(run: str | Path, images=None, n: int | None = None, *, seed: int = DEFAULT_SEED,
               data_dir: str | Path | None = None) -> Likelihood:
    """Bits per dimension of a run's density on its dataset's test set, or on given images.

    Parameters:
        run: the run folder, or "pretrained:NAME" (families with a density: see `genlab info`).
        images: None (the run's test set), an array (uint8 levels 0..255, or floats in [0, 1],
            which are quantized with a notice), or the path of an .npz with an `images` array.
        n: score the first n images only (None: all; diffusion's bound costs a network call per
            timestep and image, so it defaults to fewer: see its family).
        seed: random seed of the family's sampling (dequantization, importance samples, timesteps).
        data_dir: where the run's dataset is looked for (default: GENLAB_DATA_DIR, then the caches).

    Returns:
        A Likelihood: bits_per_dim, std_error, n, bound ("exact" or "upper"), method, seconds.

    Example:
        >>> genlab.likelihood("pretrained:mnist-pixelcnn", n=1000).bits_per_dim
    """
    from genlab.api import _families_that, open_run

    seed = _seed(seed)
    opened, family, config = open_run(run)
    if family.likelihood is None:
        raise GenlabError(f"{run} is a {family.name} run, which defines no density over images, so it has no likelihood; "
                          f"score its samples with genlab evaluate, or use a run of {_families_that('likelihood')}")
    image_shape = run_image_shape(opened)
    if images is None:
        from genlab import data

        dataset = data.load_configured(config, data_dir)
        levels, what = dataset.x_test, f"{dataset.name} test set"
    elif isinstance(images, (str, Path)):
        levels, what = levels_of(read_images_file(images), image_shape, where=str(images)), str(images)
    else:
        levels, what = levels_of(images, image_shape), "given images"
    if n is None and images is None and family.likelihood_images is not None and family.likelihood_images < len(levels):
        n = family.likelihood_images
        log.warning(f"scoring the first {n} test images (the {family.name} family's default: its bound costs many network "
                    "calls per image); -n N for more")
    if n is not None:
        levels = levels[:_count(n, "n (the number of images)")]
    started = time.perf_counter()
    density = family.likelihood(opened, config, levels, seed=seed)
    seconds = time.perf_counter() - started
    from genlab.metrics import likelihood as metric

    dimensions = int(np.prod(levels.shape[1:]))
    bits = np.asarray(density.bits, dtype=np.float64)
    if bits.shape != (len(levels),) or not np.isfinite(bits).all():
        raise GenlabError(f"the {family.name} family's likelihood gave {bits.shape} values (finite: {np.isfinite(bits).all()}) "
                          f"for {len(levels)} images; the run may be damaged (retrain it)")
    mean, error = metric.mean_and_std_error(metric.bits_per_dim(bits, dimensions))
    return Likelihood(bits_per_dim=mean, std_error=error, n=len(levels), bound=density.bound, method=density.method,
                      seconds=seconds, dimensions=dimensions, images=what)


def reference_rows(dataset_name: str, data_dir=None) -> dict[str, dict]:
    """The two reference rows of a bits/dim table on a dataset's test set: the uniform model
    (exactly 8) and the per-pixel independent model fitted on its training set (genlab computes it)."""
    from genlab import data
    from genlab.metrics import likelihood as metric

    dataset = data.load(dataset_name, data_dir)
    table = metric.independent_pixel_log_probabilities(dataset.x_train)
    dimensions = int(np.prod(dataset.image_shape))
    independent = metric.bits_per_dim(metric.independent_pixel_bits(table, dataset.x_test), dimensions)
    mean, error = metric.mean_and_std_error(independent)
    return {"uniform over 256 levels": {"bits_per_dim": metric.UNIFORM_BITS_PER_DIM, "std_error": 0.0, "bound": "exact"},
            "independent pixels (fitted on train)": {"bits_per_dim": mean, "std_error": error, "bound": "exact"}}


def complete(run: str | Path, images, keep_rows: int | None = None, *, samples: int = 4, seed: int = DEFAULT_SEED,
             label: int | None = None, **options) -> np.ndarray:
    """Keep the top rows of each image and let an autoregressive run draw the rest.

    Parameters:
        run: a pixelcnn run folder, or "pretrained:mnist-pixelcnn".
        images: uint8 levels or floats in [0, 1] (quantized), N x H x W [x C], or an .npz path.
        keep_rows: rows kept from the top (default: half the image).
        samples: completions per image.
        seed: random seed of the draws; the same seed gives the same completions.
        label: a class for a conditional run.
        options: the family's sampler options (pixelcnn: temperature).

    Returns:
        float32 array (N, samples, H, W, C) in [0, 1].

    Example:
        >>> test = genlab.load_dataset("mnist").x_test[:4]
        >>> grids = genlab.complete("pretrained:mnist-pixelcnn", test, keep_rows=14)
    """
    from genlab.api import _families_that, _sample_options, open_run

    seed = _seed(seed)
    samples = _count(samples, "samples (completions per image)", maximum=64)
    opened, family, config = open_run(run)
    if family.complete is None:
        raise GenlabError(f"{run} is a {family.name} run, which cannot complete an image from its top rows; "
                          f"use a run of {_families_that('complete')}")
    image_shape = run_image_shape(opened)
    where = str(images) if isinstance(images, (str, Path)) else "images"
    levels = levels_of(read_images_file(images) if isinstance(images, (str, Path)) else images, image_shape, where=where)
    keep_rows = image_shape[0] // 2 if keep_rows is None else _count(keep_rows, "keep_rows", minimum=0, maximum=image_shape[0])
    if label is not None:
        label = _count(label, "the class", minimum=0)
    return family.complete(opened, config, levels, keep_rows=keep_rows, samples=samples, seed=seed, label=label,
                           **_sample_options(family, options))


def completion_rows(levels: np.ndarray, drawn: np.ndarray, keep_rows: int) -> np.ndarray:
    """The completions figure's rows: per image, its kept rows (the rest grey), the completions
    (float32 N x S x H x W x C in [0, 1]) and the original. Returns float32 N x (S + 2) x H x W x C."""
    original = levels.astype(np.float32) / 255.0
    given = original.copy()
    given[:, keep_rows:] = 0.25                                  # the rows the model draws, grey
    return np.concatenate([given[:, None], drawn.astype(np.float32), original[:, None]], axis=1)
