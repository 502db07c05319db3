"""Generative metrics checked against hand-computed or independent values."""
import numpy as np
import pytest
from scipy import linalg

from genlab.metrics import generative as gm


def test_fid_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16))
    assert gm.fid(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_diagonal_gaussians():
    # For diagonal covariances: |mu_a - mu_b|^2 + sum (sqrt(va) - sqrt(vb))^2.
    mean_a, mean_b = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert gm.frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b)) == pytest.approx(expected, rel=1e-9)


def test_sqrtm_route_agrees_with_the_eigen_route_on_full_covariances():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) + 0.5
    stats_a, stats_b = gm.statistics(a), gm.statistics(b)
    assert gm.frechet_distance(*stats_a, *stats_b) == pytest.approx(gm.frechet_distance_eigen(*stats_a, *stats_b), rel=1e-6)


def test_fid_grows_with_a_mean_shift():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(2000, 4))
    assert gm.fid(base, base + 0.1) < gm.fid(base, base + 1.0)
    assert gm.fid(base, base + 1.0) == pytest.approx(4.0, rel=1e-6)  # 4 dims x 1.0^2, same covariance


def test_mmd_matches_a_hand_computed_value():
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0], [2.0, 0.0]])

    def k(a, b):
        return (a @ b / 2 + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(2) for j in range(2) if i != j) / 2
    yy = sum(k(y[i], y[j]) for i in range(3) for j in range(3) if i != j) / 6
    xy = sum(k(x[i], y[j]) for i in range(2) for j in range(3)) / 6
    assert gm.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(3)
    same_mean, same_std = gm.kid(rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8)), subsets=20, subset_size=500)
    shifted_mean, _ = gm.kid(rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8)) + 0.5, subsets=20, subset_size=500)
    assert abs(same_mean) < 3 * same_std + 1e-3
    assert shifted_mean > 10 * abs(same_mean)


def test_precision_recall_density_coverage_on_identical_and_disjoint_sets():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(400, 5))
    same = gm.precision_recall_density_coverage(real, real.copy(), k=5)
    # Every point sits at distance 0 from its twin, strictly inside any radius > 0.
    assert same["precision"] == 1.0 and same["recall"] == 1.0 and same["coverage"] == 1.0
    far = gm.precision_recall_density_coverage(real, real + 100.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_precision_drops_when_fakes_collapse_and_recall_drops_too():
    rng = np.random.default_rng(5)
    real = rng.normal(size=(500, 4))
    collapsed = np.repeat(real[:1], 500, axis=0) + rng.normal(scale=1e-3, size=(500, 4))
    values = gm.precision_recall_density_coverage(real, collapsed, k=5)
    assert values["precision"] == 1.0          # the one mode is realistic...
    assert values["recall"] < 0.05              # ...but covers almost nothing
    assert values["coverage"] < 0.05


def test_pairwise_distances_match_scipy():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(70, 9)), rng.normal(size=(50, 9))
    np.testing.assert_allclose(gm._pairwise_distances(a, b, chunk=16), cdist(a, b), rtol=1e-4, atol=1e-4)


def test_classifier_score_bounds():
    confident_balanced = np.eye(10)[np.arange(1000) % 10]
    assert gm.classifier_score(confident_balanced) == pytest.approx(10.0, rel=1e-6)
    one_class = np.eye(10)[np.zeros(1000, dtype=int)]
    assert gm.classifier_score(one_class) == pytest.approx(1.0, rel=1e-6)
    uniform = np.full((100, 10), 0.1)
    assert gm.classifier_score(uniform) == pytest.approx(1.0, rel=1e-6)


def test_class_coverage_flags_mode_collapse():
    balanced = gm.class_coverage(np.arange(1000) % 10, 10)
    assert balanced["class_coverage"] == 1.0 and balanced["class_kl_uniform"] == pytest.approx(0.0, abs=1e-12)
    collapsed = gm.class_coverage(np.full(1000, 3), 10)
    assert collapsed["class_coverage"] == 0.1 and collapsed["class_kl_uniform"] == pytest.approx(np.log(10))


def test_nearest_neighbour_distance_is_zero_for_copies_and_matches_brute_force():
    rng = np.random.default_rng(7)
    training = rng.normal(size=(300, 6))
    assert gm.nearest_neighbour_distance(training[:50], training, chunk=7) == pytest.approx(0.0, abs=1e-3)
    samples = rng.normal(size=(40, 6))
    brute = np.mean([np.min(np.linalg.norm(training - sample, axis=1)) for sample in samples])
    assert gm.nearest_neighbour_distance(samples, training, chunk=7) == pytest.approx(brute, rel=1e-4)


def test_statistics_rejects_too_few_points():
    with pytest.raises(ValueError, match="N >= 2"):
        gm.statistics(np.zeros((1, 3)))


def test_scipy_sqrtm_is_what_fid_uses():
    # Guard against a silent change of route: sqrtm of the product, as the FID authors' code.
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    (mean_a, cov_a), (mean_b, cov_b) = gm.statistics(a), gm.statistics(b)
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * linalg.sqrtm(cov_a @ cov_b).real)
    assert gm.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-9)
