"""Sample-quality metrics as small pure functions on feature arrays (torch-fidelity's split):
images -> features (genlab.evaluator) -> statistics -> metric.

All take float arrays N x D of evaluator features (or class probabilities for the
classifier score and class coverage) and return plain floats.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg


# ---------------------------------------------------------------------------- FID
def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of N x D features."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(f"need an N x D feature array with N >= 2, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mean_a, covariance_a, mean_b, covariance_b, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (Heusel et al. 2017).

    scipy's `sqrtm` of the product; if it is singular, the covariances get `eps` on the
    diagonal (as the FID authors' code does). Tiny imaginary parts from round-off are dropped.
    """
    mean_a, mean_b = np.atleast_1d(mean_a), np.atleast_1d(mean_b)
    covariance_a, covariance_b = np.atleast_2d(covariance_a), np.atleast_2d(covariance_b)
    difference = mean_a - mean_b
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", linalg.LinAlgWarning)
        root = linalg.sqrtm(covariance_a @ covariance_b)
    if caught or not np.isfinite(root).all():
        # Singular product (e.g. a collapsed or constant sample set): regularise, as the FID authors do.
        offset = np.eye(len(covariance_a)) * eps
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            root = linalg.sqrtm((covariance_a + offset) @ (covariance_b + offset))
    if np.iscomplexobj(root):
        root = root.real
    return float(max(difference @ difference + np.trace(covariance_a) + np.trace(covariance_b) - 2.0 * np.trace(root), 0.0))


def frechet_distance_eigen(mean_a, covariance_a, mean_b, covariance_b) -> float:
    """The same distance by an independent route: Tr((S_a S_b)^(1/2)) = sum sqrt(eig(S_a S_b)),
    computed stably as the eigenvalues of S_a^(1/2) S_b S_a^(1/2) (symmetric, PSD)."""
    values, vectors = np.linalg.eigh(covariance_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_a @ covariance_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    difference = np.atleast_1d(mean_a) - np.atleast_1d(mean_b)
    return float(max(difference @ difference + np.trace(covariance_a) + np.trace(covariance_b) - 2.0 * trace_root, 0.0))


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    return frechet_distance(*statistics(features_a), *statistics(features_b))


# ---------------------------------------------------------------------------- KID
def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3, the cubic kernel of Binkowski et al. (2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of MMD^2 (diagonals of the within-set kernels left out)."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((k_xx.sum() - np.trace(k_xx)) / (m * (m - 1)) + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
                 - 2.0 * k_xy.mean())


def kid(features_a: np.ndarray, features_b: np.ndarray, subsets: int = 50, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance: mean and standard deviation of MMD^2 over random subsets."""
    features_a = np.asarray(features_a, dtype=np.float64)
    features_b = np.asarray(features_b, dtype=np.float64)
    size = min(subset_size, len(features_a), len(features_b))
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(features_a[rng.choice(len(features_a), size, replace=False)],
                            features_b[rng.choice(len(features_b), size, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


# ---------------------------------------------------------------------------- precision / recall / density / coverage
def _pairwise_distances(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Euclidean distances, float32, computed in row chunks to bound memory."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    b_squared = (b * b).sum(axis=1)
    out = np.empty((len(a), len(b)), dtype=np.float32)
    for start in range(0, len(a), chunk):
        rows = a[start:start + chunk]
        squared = (rows * rows).sum(axis=1)[:, None] + b_squared[None, :] - 2.0 * rows @ b.T
        out[start:start + chunk] = np.sqrt(np.maximum(squared, 0.0))
    return out


def _kth_neighbour_radii(features: np.ndarray, k: int) -> np.ndarray:
    distances = _pairwise_distances(features, features)
    # Column 0 of the sorted row is the point itself (distance 0), so the k-th neighbour is column k.
    return np.partition(distances, k, axis=1)[:, k]


def precision_recall_density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> dict[str, float]:
    """k-NN manifold metrics: precision and recall (Kynkäänniemi et al. 2019), density and
    coverage (Naeem et al. 2020). Each real (fake) point's ball reaches its k-th nearest
    real (fake) neighbour."""
    real_radii = _kth_neighbour_radii(real, k)
    fake_radii = _kth_neighbour_radii(fake, k)
    real_to_fake = _pairwise_distances(real, fake)                      # (N_real, N_fake)
    inside_real_balls = real_to_fake < real_radii[:, None]              # fake j inside real i's ball
    precision = inside_real_balls.any(axis=0).mean()
    recall = (real_to_fake < fake_radii[None, :]).any(axis=1).mean()    # real i inside some fake ball
    density = inside_real_balls.sum(axis=0).mean() / k
    coverage = (real_to_fake.min(axis=1) < real_radii).mean()
    return {"precision": float(precision), "recall": float(recall), "density": float(density), "coverage": float(coverage)}


# ---------------------------------------------------------------------------- class-based
def classifier_score(probabilities: np.ndarray, eps: float = 1e-12) -> float:
    """The Inception-score analogue: exp(E_x KL(p(y|x) || p(y))), between 1 and the class count."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    marginal = probabilities.mean(axis=0, keepdims=True)
    kl = (probabilities * (np.log(probabilities + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


def class_coverage(predicted_classes: np.ndarray, num_classes: int, min_share: float = 0.01) -> dict[str, float]:
    """Which classes the samples fall in: the share of classes with at least `min_share` of the
    samples, and the KL divergence of the class histogram from uniform (0 = perfectly balanced;
    log(num_classes) = every sample in one class, i.e. mode collapse)."""
    counts = np.bincount(np.asarray(predicted_classes, dtype=np.int64), minlength=num_classes).astype(np.float64)
    shares = counts / counts.sum()
    nonzero = shares > 0
    kl_uniform = float((shares[nonzero] * np.log(shares[nonzero] * num_classes)).sum())
    return {"class_coverage": float((shares >= min_share).mean()), "class_kl_uniform": kl_uniform}


def nearest_neighbour_distance(samples: np.ndarray, training: np.ndarray, chunk: int = 512) -> float:
    """Mean distance from each sample to its nearest training point (a memorisation check:
    compare with the same figure for real test images; much smaller means copying).
    Computed in chunks so 10k x 60k distances never sit in memory at once."""
    samples = np.asarray(samples, dtype=np.float32)
    training = np.asarray(training, dtype=np.float32)
    training_squared = (training * training).sum(axis=1)
    nearest = np.empty(len(samples), dtype=np.float64)
    for start in range(0, len(samples), chunk):
        rows = samples[start:start + chunk]
        squared = (rows * rows).sum(axis=1)[:, None] + training_squared[None, :] - 2.0 * rows @ training.T
        nearest[start:start + chunk] = np.sqrt(np.maximum(squared.min(axis=1), 0.0))
    return float(nearest.mean())
