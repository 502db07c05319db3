"""Likelihood in bits/dim: the convention's pure functions against hand-computed values, the
`genlab likelihood` command's refusals and bad input, and the families' densities."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import raises_one_line
from genlab import density, families
from genlab.errors import DataError, GenlabError
from genlab.metrics import likelihood as metric


# ------------------------------------------------------------------------------------ the convention
def test_bits_per_dim_of_a_uniform_model_is_eight():
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 1), dtype=np.uint8)
    uniform = np.full((5, 16, 256), -math.log(256.0))
    np.testing.assert_allclose(metric.bits_per_dim(metric.categorical_bits(uniform, images), 16), 8.0)


def test_dequantized_density_uniform_on_the_unit_cube_is_eight_bits_per_dim():
    # A density equal to 1 on [0, 1]^D (-log p(y) = 0 nats) is the uniform model of the dequantized
    # images: exactly 8 bits/dim once the log 256 per dimension is accounted for.
    assert metric.bits_per_dim(metric.dequantized_bits(np.zeros(3), 784), 784).tolist() == [8.0, 8.0, 8.0]
    # A density twice as high (on half the cube) saves one bit per image.
    np.testing.assert_allclose(metric.dequantized_bits(np.array([-math.log(2.0)]), 10), [79.0])


def test_independent_pixel_model_matches_counts_by_hand():
    # 2 training images of 2 pixels: pixel 0 is 0 twice, pixel 1 is 0 once and 255 once.
    train = np.array([[[[0]], [[0]]], [[[0]], [[255]]]], dtype=np.uint8).reshape(2, 2, 1, 1)
    table = metric.independent_pixel_log_probabilities(train, smoothing=0.5)
    # pixel 0: level 0 has (2 + 0.5) / (2 + 128), pixel 1: level 255 has (1 + 0.5) / 130
    np.testing.assert_allclose(np.exp(table[0, 0]), 2.5 / 130)
    np.testing.assert_allclose(np.exp(table[1, 255]), 1.5 / 130)
    np.testing.assert_allclose(np.exp(table).sum(axis=1), 1.0)
    test = np.array([0, 255], dtype=np.uint8).reshape(1, 2, 1, 1)
    expected = -(math.log2(2.5 / 130) + math.log2(1.5 / 130))
    np.testing.assert_allclose(metric.independent_pixel_bits(table, test), [expected])


def test_discretized_logistic_is_a_distribution_over_256_levels():
    levels = np.arange(256)
    for level, log_scale in ((0, -2.0), (200, -4.0), (90, -3.0), (255, -6.5), (17, -9.0)):
        mean = level / 127.5 - 1.0                     # the centre of the level's bin on the [-1, 1] scale
        probabilities = np.exp(metric.discretized_logistic_log_probability(levels, np.full(256, mean), np.full(256, log_scale)))
        assert abs(probabilities.sum() - 1.0) < 1e-9
        assert np.argmax(probabilities) == level


def test_mean_and_standard_error_by_hand():
    mean, error = metric.mean_and_std_error([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    np.testing.assert_allclose(error, np.std([1, 2, 3, 4], ddof=1) / 2)


# ------------------------------------------------------------------------------------ images in
@pytest.mark.parametrize("images, message", [
    (np.zeros((0, 28, 28), np.uint8), "no images"),
    (np.zeros((2, 14, 14), np.uint8), "run models 28 x 28 x 1 images"),
    (np.full((2, 28, 28), np.nan, np.float32), "NaN"),
    (np.full((2, 28, 28), 3.0, np.float32), "outside"),
    (np.full((2, 28, 28), 300, np.int64), "outside 0..255"),
    (np.array([["a"] * 28] * 28)[None], "dtype"),
])
def test_bad_images_are_one_line(images, message):
    with raises_one_line(DataError, message):
        density.levels_of(images, (28, 28, 1))


def test_floats_are_quantized_with_a_notice(caplog):
    images = np.array([0.0, 0.5, 1.0], np.float32).reshape(1, 3, 1)
    with caplog.at_level("WARNING", logger="genlab"):
        levels = density.levels_of(images)
    assert levels.dtype == np.uint8 and levels.reshape(-1).tolist() == [0, 128, 255]
    assert "quantized" in caplog.text


# ------------------------------------------------------------------------------------ families
def test_families_without_a_density_refuse_in_one_line(shared_tiny_run):
    without = [family for family in families.all_families() if not family.can("likelihood") and family.generate is not None]
    assert without, "some generative family has no density (the GANs)"
    run = shared_tiny_run(without[0].name)
    with raises_one_line(GenlabError, "defines no density over images.*genlab evaluate"):
        density.likelihood(run.path)


@pytest.mark.parametrize("name", [family.name for family in families.all_families() if family.can("likelihood")])
def test_every_density_scores_the_test_set_below_uniform(name, shared_tiny_run, tmp_path):
    """Each likelihood family's tiny run: a finite bits/dim with its bound named, the same through
    an .npz of the same images, and below the 8.00 of a uniform model (it has learnt something)."""
    family = families.get(name)
    run = shared_tiny_run(name, **(family.tiny_density_variant or family.tiny_variants[0]))
    result = density.likelihood(run.path, n=40)
    assert result.bound in ("exact", "upper") and result.n == 40 and result.dimensions == 784
    assert 0.0 < result.bits_per_dim < 8.0 and result.std_error > 0
    from genlab import data

    path = tmp_path / "images.npz"
    np.savez(path, images=data.load("mnist-5k").x_test[:40])
    again = density.likelihood(run.path, path)
    np.testing.assert_allclose(again.bits_per_dim, result.bits_per_dim, rtol=1e-5 if result.bound == "exact" else 0.05)
    with raises_one_line(DataError, "run models 28 x 28 x 1"):
        density.likelihood(run.path, np.zeros((3, 14, 14), np.uint8))
