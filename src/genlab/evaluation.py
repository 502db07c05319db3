"""Evaluating generated images against a dataset with the shipped evaluator.

    samples (N x 28 x 28 x 1 in [0, 1]) --evaluator--> features, class probabilities
    real test set                       --evaluator--> features
    -> FID, KID, precision / recall / density / coverage, classifier score, class coverage,
       nearest-training-neighbour distance.

Generated images are compared with the *test* set (never seen in training). Two reference rows
bracket every table: the real test set scored against the training set (the best a model can
hope for) and the per-pixel mean image repeated (the chapter's deterministic "model").
"""
from __future__ import annotations

import time

import numpy as np

from genlab.errors import DataError
from genlab.metrics import generative as gm

MANIFOLD_POINTS = 5000      # precision/recall/density/coverage on this many points per side
TRAIN_REFERENCE = 10000     # training images used for the floor row and memorisation check


class RealReference:
    """Features of the real test set and of a fixed training subset, computed once per dataset."""

    def __init__(self, dataset_name: str, data_dir=None):
        from genlab import data, evaluator

        self.evaluator = evaluator.load(dataset_name)
        self.dataset = data.load(dataset_name, data_dir)
        rng = np.random.default_rng(0)
        train_subset = rng.choice(len(self.dataset.x_train), min(TRAIN_REFERENCE, len(self.dataset.x_train)), replace=False)
        self.train_images = data.to_float(self.dataset.x_train[np.sort(train_subset)])
        self.test_images = data.to_float(self.dataset.x_test)
        self.test_features, self.test_probabilities = self.evaluator.embed(self.test_images)
        self.train_features, _ = self.evaluator.embed(self.train_images)
        self.test_statistics = gm.statistics(self.test_features)


_REFERENCES: dict[tuple[str, str], RealReference] = {}


def real_reference(dataset_name: str, data_dir=None) -> RealReference:
    """RealReference, computed once per process and dataset (`run chapter` evaluates three runs)."""
    key = (dataset_name, str(data_dir))
    if key not in _REFERENCES:
        _REFERENCES[key] = RealReference(dataset_name, data_dir)
    return _REFERENCES[key]


def check_images(images: np.ndarray, shape: tuple[int, int, int], where: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != shape:
        raise DataError(f"{where}: images of shape {images.shape} do not match the dataset's {shape}; "
                        f"save N x {shape[0]} x {shape[1]} float images in [0, 1]")
    if not np.issubdtype(images.dtype, np.number):
        raise DataError(f"{where}: images must be numeric, got {images.dtype}")
    images = images.astype("float32")
    if images.max(initial=0) > 1.5:  # 0..255 images
        images = images / 255.0
    if not np.isfinite(images).all():
        raise DataError(f"{where}: images contain NaN or Inf; the generator diverged")
    if len(images) < 10:
        raise DataError(f"{where}: {len(images)} images are too few to evaluate; pass at least 1000 (10000 is standard)")
    return np.clip(images, 0.0, 1.0)


def score(images: np.ndarray, reference: RealReference, seed: int = 0) -> dict[str, float]:
    """Every sample-quality metric of `images` against the real test set."""
    start = time.perf_counter()
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
               "nn_train_distance": gm.nearest_neighbour_distance(features, reference.train_features),
               "samples": int(len(images))}
    metrics["eval_seconds"] = time.perf_counter() - start
    return metrics


def reference_rows(reference: RealReference) -> dict[str, dict[str, float]]:
    """The floor (real training images vs the test set) and the ceiling (the per-pixel mean)."""
    from genlab import data

    mean_image = data.to_float(reference.dataset.x_train).mean(axis=0)
    repeated = np.broadcast_to(mean_image, (len(reference.test_images),) + mean_image.shape).copy()
    # Tiny jitter keeps the repeated image's feature covariance from being exactly singular.
    repeated += np.random.default_rng(0).normal(0, 1e-3, repeated.shape).astype("float32")
    real = score(reference.train_images, reference)
    # These training images are the very ones the distance is measured to (0 by construction); the
    # memorisation yardstick is how far unseen real images, the test set, sit from them.
    real["nn_train_distance"] = gm.nearest_neighbour_distance(reference.test_features, reference.train_features)
    return {"real training images": real, "per-pixel mean image": score(np.clip(repeated, 0, 1), reference)}


TABLE_KEYS = ("fid", "kid", "precision", "recall", "density", "coverage", "classifier_score", "class_coverage",
              "class_kl_uniform", "nn_train_distance")


def format_table(rows: dict[str, dict[str, float]], title: str) -> str:
    """The sample-quality table: one row per set of images, the metrics as columns."""
    from genlab.console import table

    return table(["images", "FID", "KID", "prec", "recall", "density", "cover", "CS", "classes", "KL(unif)", "NN dist"],
                 [[name] + [values[key] for key in TABLE_KEYS] for name, values in rows.items()], title=title)
