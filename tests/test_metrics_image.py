"""Tests for genlab.metrics.image against hand-computed values and scikit-image itself."""
from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from genlab.metrics import image as metrics


def digits(count=4, side=28, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((count, side, side, 1)).astype(np.float32)


def test_mse_by_hand():
    a = np.array([[0.0, 0.5], [1.0, 0.25]])
    b = np.array([[0.1, 0.5], [0.5, 0.0]])
    # (0.01 + 0 + 0.25 + 0.0625) / 4
    assert metrics.mse(a, b) == pytest.approx(0.080625)
    assert metrics.mse(b, a) == pytest.approx(0.080625)
    assert metrics.mse(a, a) == 0.0


def test_mse_pools_over_all_images():
    a = np.zeros((2, 2, 2, 1))
    b = np.zeros((2, 2, 2, 1))
    b[0] = 1.0  # first image all wrong by 1, second exact
    assert metrics.mse(a, b) == pytest.approx(0.5)


def test_mse_accepts_flat_and_square_of_the_same_size():
    images = digits(3)
    flat = images.reshape(3, -1)
    assert metrics.mse(flat, images + 0.1) == pytest.approx(0.01, rel=1e-5)
    assert metrics.mse(images, flat) == 0.0


def test_mse_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"shape mismatch: \(2, 784\) vs \(3, 28, 28, 1\)"):
        metrics.mse(np.zeros((2, 784)), np.zeros((3, 28, 28, 1)))


def test_psnr_of_a_constant_error():
    clean = np.full((5, 28, 28, 1), 0.4)
    for error, expected_db in ((0.1, 20.0), (0.01, 40.0), (0.5, 10 * math.log10(1 / 0.25))):
        assert metrics.psnr_db(clean + error, clean) == pytest.approx(expected_db, abs=1e-9)
        assert metrics.psnr_db(clean - error, clean) == pytest.approx(expected_db, abs=1e-9)


def test_psnr_data_range_and_identical_images():
    clean = np.full((2, 4, 4), 100.0)
    assert metrics.psnr_db(clean + 25.5, clean, data_range=255.0) == pytest.approx(20.0)
    assert metrics.psnr_db(clean, clean) == float("inf")


def test_psnr_uses_the_pooled_mse():
    clean = np.zeros((2, 4, 4))
    noisy = clean.copy()
    noisy[0] = 0.1   # image 0: mse 0.01 (20 dB); image 1: exact (inf dB)
    assert metrics.psnr_db(noisy, clean) == pytest.approx(10 * math.log10(1 / 0.005))


def test_ssim_of_identical_images_is_one():
    images = digits(3)
    assert metrics.ssim(images, images) == pytest.approx(1.0)


def test_ssim_matches_scikit_image():
    rng = np.random.default_rng(42)
    clean = rng.random((3, 28, 28, 1))
    noisy = np.clip(clean + 0.3 * rng.standard_normal(clean.shape), 0, 1)
    expected = np.mean([structural_similarity(noisy[i, ..., 0], clean[i, ..., 0], data_range=1.0) for i in range(3)])
    assert metrics.ssim(noisy, clean) == pytest.approx(expected, rel=1e-9)
    assert 0.0 < metrics.ssim(noisy, clean) < 0.9
    # The same images given flat (N x 784) or as N x H x W give the same score.
    assert metrics.ssim(noisy.reshape(3, -1), clean.reshape(3, -1)) == pytest.approx(expected, rel=1e-9)
    assert metrics.ssim(noisy[..., 0], clean[..., 0]) == pytest.approx(expected, rel=1e-9)


def test_ssim_gets_worse_with_more_noise():
    rng = np.random.default_rng(1)
    clean = rng.random((2, 28, 28, 1))
    scores = [metrics.ssim(np.clip(clean + s * rng.standard_normal(clean.shape), 0, 1), clean) for s in (0.05, 0.2, 0.5)]
    assert scores[0] > scores[1] > scores[2]


def test_ssim_of_colour_is_the_mean_over_channels():
    rng = np.random.default_rng(7)
    clean = rng.random((2, 32, 32, 3))
    noisy = np.clip(clean + 0.2 * rng.standard_normal(clean.shape), 0, 1)
    expected = np.mean([structural_similarity(noisy[i, ..., c], clean[i, ..., c], data_range=1.0) for i in range(2) for c in range(3)])
    assert metrics.ssim(noisy, clean) == pytest.approx(expected, rel=1e-9)
    assert metrics.ssim(noisy.reshape(2, -1), clean.reshape(2, -1)) == pytest.approx(expected, rel=1e-9)   # flat 32*32*3
    with pytest.raises(ValueError, match="grey or RGB"):
        metrics.ssim(np.zeros((2, 28, 28, 4)), np.zeros((2, 28, 28, 4)))
