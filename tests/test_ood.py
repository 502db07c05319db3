"""Out-of-distribution scores: the metric's pure functions against hand-computed values, and
`genlab ood`'s refusals. Every family's score is run on its tiny run in test_families.py."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import raises_one_line
from PIL import Image

from genlab import cli
from genlab.errors import DataError, GenlabError
from genlab.metrics import ood as metric
from genlab.out_of_distribution import ood


def test_auroc_by_hand():
    # Pairs (out, in) with out > in: 2.5 beats 1 and 2, 4 beats all three: 5 of 6.
    assert metric.auroc([1.0, 2.0, 3.0], [2.5, 4.0]) == pytest.approx(5 / 6)
    # A tie counts one half; swapping the sides mirrors the figure around 0.5.
    assert metric.auroc([1.0], [1.0]) == 0.5
    assert metric.auroc([2.5, 4.0], [1.0, 2.0, 3.0]) == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="at least one score"):
        metric.auroc([], [1.0])


def test_auroc_standard_error_by_hand():
    # Hanley & McNeil at A = 0.5: Q1 = Q2 = 1/3, so with 100 images a side the variance is
    # (0.25 + 99 (1/3 - 1/4) + 99 (1/3 - 1/4)) / 100^2 = 16.75 / 10^4.
    assert metric.auroc_std_error(0.5, 100, 100) == pytest.approx(np.sqrt(16.75e-4))
    assert metric.auroc_std_error(1.0, 50, 50) == 0.0


def test_png_complexity_is_the_png_size_in_bits_per_dim():
    rng = np.random.default_rng(0)
    blank = np.zeros((1, 28, 28, 1), np.uint8)
    noise = rng.integers(0, 256, (1, 28, 28, 1), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise[0, ..., 0]).save(buffer, format="PNG", compress_level=9)
    complexity = metric.png_bits_per_dim(np.concatenate([blank, noise]))
    assert complexity[1] == pytest.approx(8 * len(buffer.getvalue()) / 784)
    # Noise does not compress (more than 8 bits/dim with the headers); a blank image is a few bytes.
    assert complexity[1] > 8.0 > 1.0 > complexity[0]
    colour = rng.integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    assert metric.png_bits_per_dim(colour).shape == (2,)
    with pytest.raises(ValueError, match="uint8"):
        metric.png_bits_per_dim(colour.astype(np.float32))


def test_complexity_correction_subtracts():
    np.testing.assert_allclose(metric.complexity_corrected([3.0, 1.5], [2.0, 2.5]), [1.0, -1.0])


def test_ood_refuses_its_own_dataset_and_another_size(shared_tiny_run, tmp_path):
    run = shared_tiny_run("ae", architecture="dense")
    with raises_one_line(DataError, "names the run's own dataset"):
        ood(run.path, "mnist-5k", n=8)
    small = np.zeros((4, 14, 14, 1), np.uint8)
    other = tmp_path / "small.npz"
    np.savez(other, x_train=small, y_train=np.zeros(4, np.int64), x_test=small, y_test=np.zeros(4, np.int64))
    with raises_one_line(DataError, r"are 14 x 14 x 1 but the run learnt 28 x 28 x 1"):
        ood(run.path, other, n=8)
    with raises_one_line(GenlabError, "n .* must be"):
        ood(run.path, other, n=0)


def test_cli_writes_the_figure_and_the_json(shared_tiny_run, tmp_path, capsys):
    run = shared_tiny_run("ae", architecture="dense")
    from genlab import data

    inverted = 255 - data.load("mnist-5k").x_test[:32]
    other = tmp_path / "inverted.npz"
    np.savez(other, x_train=inverted, y_train=np.zeros(32, np.int64), x_test=inverted, y_test=np.zeros(32, np.int64))
    figure, report = tmp_path / "ood.png", tmp_path / "ood.json"
    assert cli.main(["ood", str(run.path), "--against", str(other), "-n", "32", "--out", str(figure), "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    written = json.loads(report.read_text())
    assert written["n"] == 32 and written["against"] == "inverted" and written["corrected_auroc"] is None
    assert f"{written['auroc']:.3f}" in printed and "reconstruction error" in printed
    assert Image.open(figure).size[0] > 300


def test_encode_then_decode_goes_through_the_latent_space(shared_tiny_run):
    # genlab.encode gives the points latent_space(run).decode turns back into images: for an
    # autoencoder, decode(encode(x)) is its reconstruction.
    import genlab
    from genlab import data

    run = shared_tiny_run("ae", architecture="dense")
    images = data.to_float(data.load("mnist-5k").x_test[:5])
    points = genlab.encode(run.path, images)
    assert points.shape == (5, genlab.latent_space(run.path).size)
    np.testing.assert_allclose(genlab.latent_space(run.path).decode(points), genlab.reconstruct(run.path, images), atol=1e-5)
    with raises_one_line(GenlabError, "has no encoder; encode needs a run of"):
        genlab.encode(shared_tiny_run("gan").path, images)
