"""Out-of-distribution scores: `genlab ood RUN --against DATASET` and `genlab.ood(run, against)`.

How well a run's own score tells its dataset's test images from another dataset's, as AUROC
(genlab.metrics.ood holds the metric and its convention). The score is the family's:

- a family with a density scores bits/dim (-log2 p(x) / D, genlab.density's convention), and
  also the complexity-corrected score (bits/dim minus the image's PNG size in bits/dim);
- a family with its own score (Family.score: an energy, a discriminator's output) scores that;
- a family with a codec (autoencoders) scores the reconstruction's mean squared error.

A VAE whose decoder defines no density over 8-bit pixels falls back to its reconstruction error.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genlab.checks import DEFAULT_SEED
from genlab.checks import count as _count
from genlab.checks import seed as _seed
from genlab.errors import DataError, GenlabError

log = logging.getLogger("genlab")

# Test images scored on each side when not told: the AUROC's standard error is then about 0.005
# at 0.5 and smaller towards 0 or 1, while a density family scores them in seconds to minutes.
DEFAULT_IMAGES = 2000


@dataclass
class ImageScores:
    """One family's score of a batch of images: `values` (N,) higher = less like the training
    data; `bits_per_dim` says they are -log2 p(x) / D (so the complexity correction applies)."""
    values: np.ndarray
    name: str
    bits_per_dim: bool


@dataclass
class OutOfDistribution:
    """What `ood` measured: the run's score on `n` test images of its own dataset (`trained_on`)
    and of another (`against`), the AUROC of telling them apart (0.5 = chance, below 0.5 = the
    score prefers the other dataset) and, for a density, the complexity-corrected AUROC."""
    run: str
    family: str
    trained_on: str
    against: str
    score: str
    n: int
    auroc: float
    auroc_std_error: float
    mean_in: float
    mean_out: float
    corrected_auroc: float | None
    corrected_std_error: float | None
    seconds: float
    in_scores: np.ndarray = field(repr=False)
    out_scores: np.ndarray = field(repr=False)
    in_complexity: np.ndarray | None = field(default=None, repr=False)
    out_complexity: np.ndarray | None = field(default=None, repr=False)

    def as_json(self) -> dict:
        keys = ("run", "family", "trained_on", "against", "score", "n", "auroc", "auroc_std_error", "mean_in", "mean_out",
                "corrected_auroc", "corrected_std_error", "seconds")
        return {key: getattr(self, key) for key in keys}

    def lines(self) -> list[str]:
        found = [f"{self.family} run trained on {self.trained_on}, scored on {self.n} test images of {self.trained_on} "
                 f"and {self.n} of {self.against} ({self.seconds:.1f} s)",
                 f"  score: {self.score}; mean {self.mean_in:.4g} on {self.trained_on}, {self.mean_out:.4g} on {self.against}",
                 f"  AUROC ({self.against} as out-of-distribution): {self.auroc:.3f} ± {self.auroc_std_error:.3f}"
                 + ("  (below 0.5: the score finds the other dataset MORE like the training data)" if self.auroc < 0.45 else "")]
        if self.corrected_auroc is not None:
            found.append(f"  complexity-corrected (bits/dim - PNG bits/dim) AUROC: {self.corrected_auroc:.3f} "
                         f"± {self.corrected_std_error:.3f}")
        return found


def image_scores(run, family, config, levels: np.ndarray, *, seed: int) -> ImageScores:
    """The family's out-of-distribution score of uint8 images N x H x W x C (see the module's list)."""
    if family.likelihood is not None:
        try:
            density = family.likelihood(run, config, levels, seed=seed)
        except GenlabError as refusal:
            if family.score is None and family.codec is None:
                raise
            other = "own score" if family.score is not None else "reconstruction error"
            log.warning(f"this {family.name} run defines no density ({str(refusal).split(';')[0].split(', which')[-1].strip()}); "
                        f"scoring its {other} instead")
        else:
            bits = np.asarray(density.bits, dtype=np.float64) / float(np.prod(levels.shape[1:]))
            sign = "=" if density.bound == "exact" else "<="
            return ImageScores(bits, f"bits/dim {sign} -log2 p(x) / D ({density.method})", bits_per_dim=True)
    if family.score is not None:
        scored = family.score(run, config, levels, seed=seed)
        return ImageScores(np.asarray(scored.values, dtype=np.float64), scored.name, bits_per_dim=False)
    if family.codec is not None:
        from genlab.data import to_float

        pixels = to_float(levels)
        rebuilt = np.asarray(family.codec(run, config).reconstruct(pixels), dtype=np.float64)
        errors = np.mean((rebuilt.reshape(pixels.shape) - pixels) ** 2, axis=(1, 2, 3))
        return ImageScores(errors, "reconstruction error (mean squared, per pixel)", bits_per_dim=False)
    from genlab.api import _families_that

    raise GenlabError(f"a {family.name} run has no score for an image (no density, codec or score of its own); "
                      f"use a run of {_families_that('score')}")


def _checked(scores: ImageScores, count: int, family_name: str) -> ImageScores:
    if scores.values.shape != (count,) or not np.isfinite(scores.values).all():
        raise GenlabError(f"the {family_name} family's score gave {scores.values.shape} values (all finite: "
                          f"{bool(np.isfinite(scores.values).all())}) for {count} images; the run may be damaged (retrain it)")
    return scores


def ood(run: str | Path, against: str | Path, n: int | None = None, *, seed: int = DEFAULT_SEED,
        data_dir: str | Path | None = None) -> OutOfDistribution:
    """How well a run's own score tells its dataset's test images from another dataset's (AUROC).

    Parameters:
        run: the run folder, or "pretrained:NAME".
        against: the other dataset: a name genlab knows ("fashion-mnist"), an image folder or an
            .npz with x_test; its test images must have the run's image size and channels.
        n: test images scored on each side (default: 2000, or fewer where a family's score is a
            costly bound: its likelihood_images).
        seed: random seed of a score's sampling (dequantization, importance samples).
        data_dir: where datasets are looked for (default: GENLAB_DATA_DIR, then the caches).

    Returns:
        An OutOfDistribution: auroc (0.5 is chance), its standard error, the mean scores, the
        complexity-corrected AUROC for a density family (None otherwise), the per-image scores.

    Example:
        >>> genlab.ood("runs/flow-fashion", against="mnist").auroc
    """
    from genlab import data
    from genlab.api import open_run
    from genlab.metrics import ood as metric

    seed = _seed(seed)
    n = None if n is None else _count(n, "n (images on each side)", minimum=2)
    opened, family, config = open_run(run)
    own = data.load_configured(config, data_dir)
    # The other dataset as the run saw its own: a run trained at image_size 32 scores 32-pixel images.
    other = data.load(str(against), data_dir, image_size=getattr(config, "image_size", None),
                      channels=getattr(config, "image_channels", None))
    if other.name == own.name:
        raise DataError(f"--against names the run's own dataset ({own.name}); name another dataset to tell apart from it")
    if tuple(other.x_test.shape[1:]) != tuple(own.x_test.shape[1:]):
        raise DataError(f"{other.name}'s test images are {' x '.join(map(str, other.x_test.shape[1:]))} but the run "
                        f"learnt {' x '.join(map(str, own.x_test.shape[1:]))} images; pass a dataset of that size")
    if n is None:
        n = min(DEFAULT_IMAGES, family.likelihood_images or DEFAULT_IMAGES)
        log.warning(f"scoring {n} test images of each dataset; -n N for another number")
    n = min(n, len(own.x_test), len(other.x_test))
    inside, outside = own.x_test[:n], other.x_test[:n]
    started = time.perf_counter()
    in_scores = _checked(image_scores(opened, family, config, inside, seed=seed), n, family.name)
    out_scores = _checked(image_scores(opened, family, config, outside, seed=seed), n, family.name)
    auroc = metric.auroc(in_scores.values, out_scores.values)
    corrected = error = in_complexity = out_complexity = None
    if in_scores.bits_per_dim:
        in_complexity, out_complexity = metric.png_bits_per_dim(inside), metric.png_bits_per_dim(outside)
        corrected = metric.auroc(metric.complexity_corrected(in_scores.values, in_complexity),
                                 metric.complexity_corrected(out_scores.values, out_complexity))
        error = metric.auroc_std_error(corrected, n, n)
    return OutOfDistribution(
        run=str(run), family=family.name, trained_on=own.name, against=other.name, score=in_scores.name, n=n,
        auroc=auroc, auroc_std_error=metric.auroc_std_error(auroc, n, n), mean_in=float(in_scores.values.mean()),
        mean_out=float(out_scores.values.mean()), corrected_auroc=corrected, corrected_std_error=error,
        seconds=time.perf_counter() - started, in_scores=in_scores.values, out_scores=out_scores.values,
        in_complexity=in_complexity, out_complexity=out_complexity)


def figure(result: OutOfDistribution, path: str | Path) -> Path:
    """Histograms of the two datasets' scores (and of the corrected scores for a density)."""
    from genlab import plotting
    from genlab.metrics.ood import complexity_corrected

    panels = [(f"{result.score.split(' (')[0]}   AUROC {result.auroc:.3f}", result.in_scores, result.out_scores)]
    if result.corrected_auroc is not None:
        panels.append((f"bits/dim - PNG bits/dim   AUROC {result.corrected_auroc:.3f}",
                       complexity_corrected(result.in_scores, result.in_complexity),
                       complexity_corrected(result.out_scores, result.out_complexity)))
    title = f"{result.family} trained on {result.trained_on}: its test set against {result.against} (n = {result.n} each)"
    return plotting.score_histograms(panels, (result.trained_on, result.against), path, title=title)
