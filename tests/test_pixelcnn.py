"""The gated PixelCNN: an exact, normalized density in raster order, and samplers that agree."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from conftest import raises_one_line
from genlab import density
from genlab.autoregressive.network import Shape, build
from genlab.autoregressive.sampling import RowSampler, image_nats, naive_sample
from genlab.errors import GenlabError


def _scrambled(shape: Shape, seed: int = 0):
    """A network with large random weights, so every dependence it has shows in its outputs."""
    network = build(shape)
    rng = np.random.default_rng(seed)
    for variable in network.weights:
        variable.assign(rng.normal(0.0, 0.5, variable.shape).astype("float32"))
    return network


def test_probabilities_of_all_images_sum_to_one():
    # 2 x 2 images with 4 levels: all 4^4 = 256 images, whose probabilities must add up to 1.
    network = _scrambled(Shape(2, 2, 1, 8, 2, levels=4))
    every = np.array(list(itertools.product(range(4), repeat=4)), np.uint8).reshape(256, 2, 2, 1)
    total = np.exp(-image_nats(network, every)).sum()
    assert abs(total - 1.0) < 1e-4, total


def test_zeroed_output_weights_give_exactly_eight_bits_per_dim():
    from genlab.families.pixelcnn import PixelCNNConfig, image_bits

    network = _scrambled(Shape(28, 28, 1, 8, 1))
    for variable in network.get_layer("output").weights:
        variable.assign(np.zeros(variable.shape, "float32"))
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28, 1), dtype=np.uint8)
    np.testing.assert_allclose(image_bits(network, PixelCNNConfig(), images) / 784, 8.0, rtol=1e-6)


@pytest.mark.parametrize("classes", [0, 3])
def test_each_pixel_sees_exactly_the_pixels_before_it(classes):
    """Changing pixel k changes no distribution of a pixel up to k (the autoregressive order), and
    the last pixel's depends on every pixel before it (no blind spot above-right)."""
    network = _scrambled(Shape(5, 5, 1, 8, 3, classes))
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (1, 5, 5, 1)).astype("float32") / 255.0
    inputs = (lambda x: [x, np.array([1], "int32")]) if classes else (lambda x: x)
    base = np.asarray(network(inputs(image)))
    reaches_last = []
    for k in range(25):
        changed = image.copy()
        changed.reshape(-1)[k] = 1.0 - changed.reshape(-1)[k]
        difference = np.abs(np.asarray(network(inputs(changed))) - base).reshape(25, -1).max(axis=1)
        assert difference[:k + 1].max() == 0.0, f"pixel {k} leaks into the pixels up to it"
        reaches_last.append(difference[24] > 1e-6)
    assert all(reaches_last[:24]), f"the last pixel does not see pixels {[k for k in range(24) if not reaches_last[k]]}"


@pytest.mark.parametrize("classes", [0, 3])
def test_the_row_sampler_draws_what_the_full_pass_sampler_draws(classes):
    network = _scrambled(Shape(6, 5, 1, 8, 2, classes))
    labels = np.array([0, 1, 2, 1]) if classes else None
    cached = RowSampler(network).sample(4, seed=3, labels=labels, temperature=0.8)
    np.testing.assert_array_equal(cached, naive_sample(network, 4, seed=3, labels=labels, temperature=0.8))
    assert len({image.tobytes() for image in cached}) == 4


def test_completion_keeps_the_given_rows_and_varies_the_rest():
    network = _scrambled(Shape(6, 5, 1, 8, 2))
    known = np.random.default_rng(0).integers(0, 256, (2, 6, 5, 1), dtype=np.uint8)
    drawn = RowSampler(network).sample(2, seed=0, known=known, known_rows=3)
    np.testing.assert_array_equal(drawn[:, :3], known[:, :3])
    assert not np.array_equal(drawn[:, 3:], known[:, 3:])
    # Given rows change what follows: the same seed with other top rows draws other bottoms.
    other = RowSampler(network).sample(2, seed=0, known=255 - known, known_rows=3)
    assert not np.array_equal(other[:, 3:], drawn[:, 3:])


def test_a_tiny_run_beats_uniform_and_completes_test_digits(shared_tiny_run):
    from genlab import data

    run = shared_tiny_run("pixelcnn")
    metrics = run.read_metrics()
    assert metrics["likelihood_bound"] == "exact" and metrics["test_bits_per_dim"] < 8.0
    # The saved model's exact figure is what training wrote (full test set, same formula).
    again = density.likelihood(run.path)
    np.testing.assert_allclose(again.bits_per_dim, metrics["test_bits_per_dim"], rtol=1e-5)
    assert again.bound == "exact" and again.n == 1000
    test = data.load("mnist-5k").x_test[:2]
    completions = density.complete(run.path, test, keep_rows=20, samples=3, seed=0)
    assert completions.shape == (2, 3, 28, 28, 1)
    np.testing.assert_allclose(completions[:, :, :20], np.repeat(test[:, None, :20] / 255.0, 3, axis=1), atol=1e-6)
    with raises_one_line(GenlabError, "not conditional"):
        density.complete(run.path, test, samples=1, label=3)
    with raises_one_line(GenlabError, "temperature"):
        density.complete(run.path, test, samples=1, temperature=-1.0)


def test_a_conditional_run_draws_the_asked_class_and_mixes_classes_for_its_likelihood(shared_tiny_run):
    run = shared_tiny_run("pixelcnn", conditional=True)
    metrics = run.read_metrics()
    # The mixture over 10 classes costs at most log2(10) bits per image over the best class.
    assert 0.0 < metrics["test_bits_per_dim"] < 8.0
    images = density.complete(run.path, np.zeros((1, 28, 28), np.uint8), keep_rows=27, samples=1, seed=0, label=3)
    assert images.shape == (1, 1, 28, 28, 1)
    with raises_one_line(GenlabError, "out of range"):
        density.complete(run.path, np.zeros((1, 28, 28), np.uint8), samples=1, label=12)
    assert math.isfinite(metrics["train_wall_s"])


def test_a_time_budget_stops_training_inside_an_epoch(tmp_path):
    from conftest import tiny_run

    run = tiny_run("pixelcnn", tmp_path / "run", epochs=3, batch_size=32, steps_per_execution=1, time_budget_s=0.5, train_images=0)
    metrics = run.read_metrics()
    assert metrics["stopped_by_time_budget"] is True
    assert 1 <= metrics["steps"] < 3 * 4000 // 32           # stopped well before the 3 epochs' 375 steps
    assert "seconds_per_epoch" not in metrics                # a partial epoch is no epoch's time
    assert len(run.read_history()) == 1 and metrics["test_bits_per_dim"] < 8.0


def test_the_likelihood_and_complete_commands(shared_tiny_run, tmp_path, capsys):
    import json

    from genlab import cli, data

    run = shared_tiny_run("pixelcnn")
    out = tmp_path / "bits.json"
    assert cli.main(["likelihood", str(run.path), "-n", "50", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    written = json.loads(out.read_text())
    assert written["n"] == 50 and written["bound"] == "exact" and "bits/dim (exact" in printed
    assert set(written) >= {"bits_per_dim", "n", "bound", "std_error", "seconds"}
    assert f"{written['bits_per_dim']:.4f}" in printed
    # The same images through --images: the same exact figure.
    images = tmp_path / "images.npz"
    np.savez(images, images=data.load("mnist-5k").x_test[:50])
    assert cli.main(["likelihood", str(run.path), "--images", str(images), "--json", str(tmp_path / "again.json")]) == 0
    assert abs(json.loads((tmp_path / "again.json").read_text())["bits_per_dim"] - written["bits_per_dim"]) < 1e-6
    # Bad input: one line each.
    np.savez(tmp_path / "small.npz", images=np.zeros((2, 14, 14), np.uint8))
    np.savez(tmp_path / "empty.npz", images=np.zeros((0, 28, 28), np.uint8))
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    capsys.readouterr()
    for name, message in (("small.npz", "28 x 28 x 1"), ("empty.npz", "no images"), ("broken.npz", "not a readable .npz")):
        assert cli.main(["likelihood", str(run.path), "--images", str(tmp_path / name)]) == 2
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1, error
    grid = tmp_path / "completions.png"
    assert cli.main(["complete", str(run.path), "-n", "2", "--samples", "2", "--keep-rows", "20", "--temperature", "0.8",
                     "--out", str(grid)]) == 0
    assert grid.is_file() and "2 completions" in capsys.readouterr().out
