"""Evaluating generated images against a dataset with the shipped evaluator.

    samples (N x 28 x 28 x 1 in [0, 1]) --evaluator--> features, class probabilities
    real test set                       --evaluator--> features
    -> FID, KID, precision / recall / density / coverage, classifier score, class coverage,
       nearest-training-neighbour distance.

Generated images are compared with the *test* set (never seen in training). Two reference rows
bracket every table: the real test set scored against the training set (the best a model can
hope for) and the per-pixel mean image repeated (the chapter's deterministic "model").

On the Mondrian paintings every row also has the rule score (genlab.metrics.rules: palette,
horizontal/vertical edges, rectangles bounded by lines), which needs no network; where no
evaluator network exists for the dataset yet, the rule score is all that is reported.
"""
from __future__ import annotations

import logging
import time

import numpy as np

from genlab.errors import DataError, GenlabError
from genlab.metrics import generative as gm
from genlab.metrics import rules

logger = logging.getLogger("genlab.evaluation")

MANIFOLD_POINTS = 5000      # precision/recall/density/coverage on this many points per side
TRAIN_REFERENCE = 10000     # training images used for the floor row and memorisation check


class NoEvaluator:
    """Stands in for the evaluator network of a dataset that has a rule score but no evaluator
    yet: its samples get the rule score only, and `sha256` None says no network scored them."""

    sha256 = None

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason

    def embed(self, images, batch_size: int = 1000):
        raise GenlabError(self.reason)


class RealReference:
    """Features of the real test set and of a fixed training subset, computed once per dataset."""

    def __init__(self, dataset_name: str, data_dir=None, *, image_size: int | None = None, channels: int | None = None):
        from genlab import data, evaluator

        self.ruled = rules.applies_to(dataset_name)
        # A run trained at another size or in other channels is measured on its data as it learnt
        # it; that data (not the name) then finds its evaluator, by the arrays' fingerprint.
        resized = image_size is not None or channels is not None
        self.dataset = data.load(dataset_name, data_dir, image_size=image_size, channels=channels) if resized else None
        try:
            self.evaluator = evaluator.load(self.dataset if resized else dataset_name, data_dir)
        except GenlabError as error:
            if not self.ruled:
                raise
            logger.warning("%s; until then no FID, KID or precision/recall: reporting the rule score only", error)
            self.evaluator = NoEvaluator(dataset_name, str(error))
        if self.dataset is None:
            self.dataset = data.load(dataset_name, data_dir)
        rng = np.random.default_rng(0)
        train_subset = rng.choice(len(self.dataset.x_train), min(TRAIN_REFERENCE, len(self.dataset.x_train)), replace=False)
        self.train_images = data.to_float(self.dataset.x_train[np.sort(train_subset)])
        self.test_images = data.to_float(self.dataset.x_test)
        if self.has_network:
            self.test_features, self.test_probabilities = self.evaluator.embed(self.test_images)
            self.train_features, _ = self.evaluator.embed(self.train_images)
            self.test_statistics = gm.statistics(self.test_features)

    @property
    def has_network(self) -> bool:
        return not isinstance(self.evaluator, NoEvaluator)


_REFERENCES: dict[tuple, RealReference] = {}


def real_reference(dataset_name: str, data_dir=None, *, image_size: int | None = None,
                   channels: int | None = None) -> RealReference:
    """RealReference, computed once per process, dataset and size (`run chapter` evaluates three runs)."""
    key = (dataset_name, str(data_dir), image_size, channels)
    if key not in _REFERENCES:
        _REFERENCES[key] = RealReference(dataset_name, data_dir, image_size=image_size, channels=channels)
    return _REFERENCES[key]


def check_images(images: np.ndarray, shape: tuple[int, int, int], where: str) -> np.ndarray:
    """Samples as the evaluator wants them, float32 N x H x W x C in [0, 1], or a one-line error.

    Values outside [0, 1] are refused, never clipped: samples in [-1, 1] (a tanh generator's)
    clipped to [0, 1] lose their whole dark half, and were scored so without a word (real digits
    saved in [-1, 1] got an FID of 2.42). Only 0..255 pixels are rescaled (by 1/255), which is
    unambiguous, and said in one line.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != shape:
        raise DataError(f"{where}: images of shape {images.shape} do not match the dataset's {shape}; "
                        f"save N x {shape[0]} x {shape[1]} float images in [0, 1]")
    if images.dtype == np.bool_ or not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
        raise DataError(f"{where}: images must be real numbers in [0, 1], got {images.dtype}")
    if len(images) < MIN_SAMPLES:
        raise DataError(f"{where}: {len(images)} images are too few to evaluate; pass at least {MIN_SAMPLES} "
                        f"(FID is biased upwards below a few thousand: 10000 is standard)")
    images = images.astype("float32")
    if not np.isfinite(images).all():
        raise DataError(f"{where}: images contain NaN or Inf; the generator diverged")
    return to_unit_range(images, where)


# Samples from a float32 sigmoid may miss [0, 1] by rounding; more than this is not rounding.
RANGE_TOLERANCE = 1e-3
# The fewest samples the metrics can be computed from: the 5-nearest-neighbour manifold metrics
# need 6 points and KID's unbiased estimate 2; genlab.api asks at least this many of a run.
MIN_SAMPLES = 10


def to_unit_range(images: np.ndarray, where: str) -> np.ndarray:
    """Finite float images in [0, 1] (tiny rounding excursions clipped); 0..255 pixels scaled by
    1/255 with a notice; anything else refused in one line that says how to rescale it."""
    low, high = float(images.min()), float(images.max())   # never empty: check_images counted them
    if low >= -RANGE_TOLERANCE and high <= 1.0 + RANGE_TOLERANCE:
        return np.clip(images, 0.0, 1.0)
    if low >= -RANGE_TOLERANCE and 1.5 < high <= 255.0 + RANGE_TOLERANCE:
        logger.info("%s: pixel values run from %g to %g, read as 0..255 and divided by 255", where, low, high)
        return np.clip(images / 255.0, 0.0, 1.0)
    if low < 0.0 and low >= -1.0 - RANGE_TOLERANCE and high <= 1.0 + RANGE_TOLERANCE:
        raise DataError(f"{where}: pixel values run from {low:g} to {high:g}, which looks like [-1, 1]; the evaluator "
                        "wants [0, 1]: rescale with (x + 1) / 2 before saving")
    raise DataError(f"{where}: pixel values run from {low:g} to {high:g}, outside [0, 1] (and not 0..255 pixels); "
                    "save float images in [0, 1]")


def score(images: np.ndarray, reference: RealReference, seed: int = 0) -> dict[str, float]:
    """Every sample-quality metric of `images` against the real test set; on a dataset with a
    rule score (mondrian) its three shares and the score too (rules.KEYS)."""
    start = time.perf_counter()
    metrics = network_scores(images, reference, seed) if reference.has_network else {}
    if reference.ruled:
        metrics.update(rules.summary(images))
    metrics["samples"] = int(len(images))
    metrics["eval_seconds"] = time.perf_counter() - start
    return metrics


def network_scores(images: np.ndarray, reference: RealReference, seed: int = 0) -> dict[str, float]:
    """The metrics computed in the evaluator network's features and class probabilities."""
    features, probabilities = reference.evaluator.embed(images)
    rng = np.random.default_rng(seed)
    manifold_fake = features[rng.choice(len(features), min(MANIFOLD_POINTS, len(features)), replace=False)]
    manifold_real = reference.test_features[rng.choice(len(reference.test_features), min(MANIFOLD_POINTS, len(reference.test_features)), replace=False)]
    kid_mean, kid_std = gm.kid(features, reference.test_features, seed=seed)
    metrics = {"fid": gm.frechet_distance(*gm.statistics(features), *reference.test_statistics),
               "kid": kid_mean, "kid_std": kid_std,
               **gm.precision_recall_density_coverage(manifold_real, manifold_fake, k=5),
               "classifier_score": gm.classifier_score(probabilities),
               **gm.class_coverage(probabilities.argmax(axis=1), probabilities.shape[1]),
               "nn_train_distance": gm.nearest_neighbour_distance(features, reference.train_features)}
    return metrics


def reference_rows(reference: RealReference) -> dict[str, dict[str, float]]:
    """The floor (real training images vs the test set) and the ceiling (the per-pixel mean)."""
    from genlab import data

    mean_image = data.to_float(reference.dataset.x_train).mean(axis=0)
    repeated = np.broadcast_to(mean_image, (len(reference.test_images),) + mean_image.shape).copy()
    # Tiny jitter keeps the repeated image's feature covariance from being exactly singular.
    repeated += np.random.default_rng(0).normal(0, 1e-3, repeated.shape).astype("float32")
    real = score(reference.train_images, reference)
    if reference.has_network:
        # These training images are the very ones the distance is measured to (0 by construction); the
        # memorisation yardstick is how far unseen real images, the test set, sit from them.
        real["nn_train_distance"] = gm.nearest_neighbour_distance(reference.test_features, reference.train_features)
    return {"real training images": real, "per-pixel mean image": score(np.clip(repeated, 0, 1), reference)}


TABLE_KEYS = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score", "class_coverage",
              "class_kl_uniform", "nn_train_distance")
TABLE_HEADERS = ("FID", "KID", "prec", "recall", "density", "cover", "CS", "classes", "KL(unif)", "NN dist")
RULE_HEADERS = ("palette", "axis edges", "rectangles", "rule score")


def format_table(rows: dict[str, dict[str, float]], title: str) -> str:
    """The sample-quality table: one row per set of images, the metrics as columns (the
    network's where any row has them, the rule score's where any row has it; '-' for a gap)."""
    from genlab.console import table

    columns = []
    if any("fid" in values for values in rows.values()):
        columns += list(zip(TABLE_KEYS, TABLE_HEADERS))
    if any(rules.KEYS[-1] in values for values in rows.values()):
        columns += list(zip(rules.KEYS, RULE_HEADERS))
    return table(["images"] + [header for _key, header in columns],
                 [[name] + [values.get(key, "-") for key, _header in columns] for name, values in rows.items()], title=title)
