"""The energy-based model: Langevin dynamics on known energies, the replay buffer, training that
separates real from sampled images, exact resume, sampling, completion, scoring and restoration."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from conftest import raises_one_line, tiny_run
from keras import ops

from genlab import api, backend, config, data, density, families
from genlab.energy import corrupt, restore
from genlab.energy.buffer import ReplayBuffer, fresh_count
from genlab.energy.langevin import langevin
from genlab.errors import ConfigError, GenlabError

MEAN = np.array([1.0, -0.5], np.float32)
COVARIANCE = np.array([[1.0, 0.6], [0.6, 0.5]], np.float32)


def gaussian_energy(x):
    """E(x) = (x - mean)' covariance^-1 (x - mean) / 2: exp(-E) is N(mean, covariance)."""
    difference = x - ops.convert_to_tensor(MEAN)
    return 0.5 * ops.sum(ops.matmul(difference, ops.convert_to_tensor(np.linalg.inv(COVARIANCE).astype(np.float32))) * difference,
                         axis=1)


def compiled_chain(energy, seed: int = 3, box=(None, None)):
    """Langevin as genlab compiles it: x, steps, step size, noise -> x after the steps."""
    generator = keras.random.SeedGenerator(seed)

    def chain(x, steps, step_size, noise):
        return langevin(energy, x, steps=steps, step_size=step_size, noise=noise, seed_generator=generator,
                        low=box[0], high=box[1])

    compiled = backend.compile_step(chain, [generator.state])
    return lambda x, steps, step_size, noise: np.asarray(backend.to_numpy(compiled(
        np.asarray(x, np.float32), np.int32(steps), np.float32(step_size), np.float32(noise))))


def test_langevin_draws_a_known_gaussian():
    """With noise sqrt(2 * step) Langevin samples exp(-E): 4000 chains from N(0, I) end with the
    target's mean and covariance (the step's bias is O(step), far below the tolerance)."""
    start = np.random.default_rng(0).normal(size=(4000, 2))
    samples = compiled_chain(gaussian_energy)(start, 500, 0.01, np.sqrt(0.02))
    np.testing.assert_allclose(samples.mean(axis=0), MEAN, atol=0.06)
    np.testing.assert_allclose(np.cov(samples.T), COVARIANCE, atol=0.07)
    # The start was far from the target: the chain moved there, it was not already there.
    assert abs(start.mean(axis=0)[0] - MEAN[0]) > 0.5
    # The noise matters: without it every chain collapses onto the mean.
    collapsed = compiled_chain(gaussian_energy)(start, 500, 0.01, 0.0)
    assert np.cov(collapsed.T).max() < 0.01


def test_langevin_without_noise_descends_monotonically():
    """Noise 0 is gradient descent: the energy after k steps never rises with k, in the box [0, 1] too."""
    start = np.random.default_rng(1).normal(size=(64, 2)) * 3
    chain = compiled_chain(gaussian_energy)
    energies = [backend.to_numpy(gaussian_energy(ops.convert_to_tensor(chain(start, steps, 0.05, 0.0).astype(np.float32))))
                for steps in range(0, 30, 3)]
    energies = np.stack(energies)                                               # (moments, chains)
    assert (np.diff(energies, axis=0) <= 1e-5).all()
    assert (energies[-1] < energies[0] - 0.1).mean() > 0.9                      # and it did go down
    boxed = compiled_chain(gaussian_energy, box=(0.0, 1.0))
    inside = np.random.default_rng(2).random((64, 2))
    path = [boxed(inside, steps, 0.05, 0.0) for steps in range(0, 20, 2)]
    assert all(((x >= 0) & (x <= 1)).all() for x in path)
    boxed_energies = np.stack([backend.to_numpy(gaussian_energy(ops.convert_to_tensor(x.astype(np.float32)))) for x in path])
    assert (np.diff(boxed_energies, axis=0) <= 1e-5).all()


def test_the_replay_buffer_keeps_its_size_and_renews_the_configured_share():
    buffer = ReplayBuffer(50, (4, 4, 1), fresh_share=0.25, seed=0)
    buffer.images.assign(np.full((50, 4, 4, 1), 0.5, np.float32))
    generator = keras.random.SeedGenerator(1)
    indices, starts = buffer.draw(8, generator)
    indices, starts = backend.to_numpy(indices), backend.to_numpy(starts)
    assert len(set(indices.tolist())) == 8 and indices.min() >= 0 and indices.max() < 50     # distinct entries
    fresh = fresh_count(8, 0.25)
    assert fresh == 2
    assert (starts[fresh:] == 0.5).all()                                        # the rest are the entries themselves
    assert not np.isclose(starts[:fresh], 0.5).any() and starts[:fresh].std() > 0.1       # fresh uniform noise
    buffer.store(ops.convert_to_tensor(indices), np.zeros((8, 4, 4, 1), np.float32))
    after = buffer.show(50)
    assert after.shape == (50, 4, 4, 1)
    written = np.zeros(50, bool)
    written[indices] = True
    assert (after[written] == 0).all() and (after[~written] == 0.5).all()
    # The share rounds, but a positive share always renews at least one chain.
    assert fresh_count(64, 0.05) == 3 and fresh_count(16, 0.01) == 1 and fresh_count(16, 0.0) == 0


def _checkpoint(run):
    meta = json.loads((run.path / "checkpoints" / "latest.json").read_text())
    with np.load(run.path / "checkpoints" / meta["file"], allow_pickle=False) as arrays:
        return meta, dict(arrays)


def test_the_replay_buffer_is_checkpointed_and_resumed_exactly(tmp_path):
    """--resume restores the buffer (and the noise state): four steps then four more give the
    buffer, the weights and the optimizer of eight straight steps, bit for bit."""
    settings = dict(buffer_size=48, batch_size=16, fresh_share=0.25)
    first = tiny_run("ebm", tmp_path / "resumed", **settings)
    _, after_four = _checkpoint(first)
    start = np.random.default_rng([0, 17]).random((48, 28, 28, 1), dtype=np.float32)     # the buffer's initial noise
    buffer = after_four["replay_buffer/0000"]
    assert buffer.shape == (48, 28, 28, 1)
    changed = (buffer != start).any(axis=(1, 2, 3)).sum()
    assert 16 <= changed <= 4 * 16                                               # written to, by at most 4 batches
    resumed = api.train("ebm", resume=first.path, overrides={"steps": 8}, verbose=0, print_summary=False)
    straight = tiny_run("ebm", tmp_path / "straight", steps=8, **settings)
    meta, ours = _checkpoint(resumed)
    _, theirs = _checkpoint(straight)
    assert meta["step"] == 8 and set(ours) == set(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
    assert not np.array_equal(ours["replay_buffer/0000"], buffer)


SHORT = dict(batch_size=32, filters=8, dense=32, buffer_size=512, langevin_steps=20, learning_rate=1e-3, sample_steps=20,
             restore_steps=20, log_every=10, sample_grid=16)


def test_a_diverged_step_rolls_back_the_buffer_too(tmp_path, monkeypatch):
    """A NaN batch at step 3 poisons the network, and step 4 (run before the values are read back
    at step 4) fills the buffer with its NaN chains: the default on_nan=rollback restores the
    step-2 checkpoint, buffer included, with half the learning rate, and the run finishes with
    every state array finite."""
    from genlab.energy import trainer as energy_trainer

    original_init = energy_trainer.EnergyTrainer.__init__
    calls = {"count": 0}

    def patched_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        real_step = self.step

        def step(real):
            calls["count"] += 1
            return real_step(np.full_like(real, np.nan) if calls["count"] == 3 else real)

        self.step = step

    monkeypatch.setattr(energy_trainer.EnergyTrainer, "__init__", patched_init)
    run = tiny_run("ebm", tmp_path / "run", steps=6, log_every=2)
    metrics = run.read_metrics()
    assert metrics["status"] == "complete" and metrics["rollbacks"] == 1
    assert [row["step"] for row in run.read_history()] == [2, 4, 6]
    _, arrays = _checkpoint(run)
    assert all(np.isfinite(value).all() for value in arrays.values() if value.dtype.kind == "f")
    assert 0 < float(arrays["optimizer/0001"]) < families.get("ebm").tiny["learning_rate"]    # halved


@pytest.fixture(scope="module")
def briefly_trained(tmp_path_factory):
    """30 steps on mnist-5k: the energy has learnt what its sampler's images are not."""
    return tiny_run("ebm", tmp_path_factory.mktemp("ebm-30") / "run", steps=30, sample_every=30, checkpoint_every=30, **SHORT)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """120 steps on mnist-5k: enough for energy descent to clean a noisy digit."""
    return tiny_run("ebm", tmp_path_factory.mktemp("ebm-120") / "run", steps=120, sample_every=60, checkpoint_every=60, **SHORT)


def energies(run, levels: np.ndarray) -> np.ndarray:
    """The family's out-of-distribution score (the energy) of uint8 images."""
    opened, family, config = api.open_run(run.path)
    score = family.score(opened, config, levels, seed=0)
    assert score.name == "energy E(x)" and score.values.shape == (len(levels),)
    return score.values


def test_training_gives_real_images_lower_energy_than_the_sampler_s(briefly_trained):
    """After 30 steps the test digits' energies are below those of the sampler's images (Langevin
    from noise, as many steps as in training), nearly every digit below nearly every sample. (Later
    the two meet: contrastive divergence trains until the sampler's images score like the data.)"""
    real = energies(briefly_trained, data.load("mnist-5k").x_test[:200])
    samples = api.sample(briefly_trained.path, 200, seed=0)
    sampled = energies(briefly_trained, np.round(samples * 255).astype(np.uint8))
    assert real.mean() < sampled.mean()
    assert (real[:, None] < sampled[None, :]).mean() > 0.95                     # the energy's AUROC
    # The training log says the same of every window: E(sampled) - E(real) above 0.
    history = briefly_trained.read_history()
    assert [row["step"] for row in history] == [10, 20, 30] and all(row["energy_gap"] > 0 for row in history)
    metrics = briefly_trained.read_metrics()
    assert metrics["energy_test"] < metrics["energy_samples"] < metrics["energy_noise"]


def test_energy_descent_restores_a_corrupted_digit(trained):
    """Test digits with Gaussian noise (std 0.3) on every pixel, descended on the energy (the run's
    restore_steps, no noise added): every image's energy goes down and every image gets closer
    to its clean digit, the mean squared error at least halved."""
    clean = data.to_float(data.load("mnist-5k").x_test[:16])
    noisy, _ = corrupt(clean, np.random.default_rng(0), "noise")
    result = restore(trained.path, noisy)
    assert (result.energy_after < result.energy_before).all()
    error_before = ((noisy - clean) ** 2).mean(axis=(1, 2, 3))
    error_after = ((result.images - clean) ** 2).mean(axis=(1, 2, 3))
    assert (error_after < error_before).all()
    assert error_after.mean() < 0.5 * error_before.mean()
    # A block of noise with the rest held: only the block's pixels move.
    damaged, keep = corrupt(clean, np.random.default_rng(1), "block")
    held = restore(trained.path, damaged, keep=keep)
    np.testing.assert_array_equal(held.images[keep == 1], damaged[keep == 1])
    assert not np.array_equal(held.images[keep == 0], damaged[keep == 0])
    assert (held.energy_after < held.energy_before).all()
    with raises_one_line(GenlabError, r"images have shape"):
        restore(trained.path, damaged[:, :20])
    with raises_one_line(GenlabError, r"corruption 'blur' is unknown"):
        corrupt(clean, np.random.default_rng(0), "blur")


def test_sampler_options_and_completion(trained):
    few = api.sample(trained.path, 4, seed=3, steps=5)
    many = api.sample(trained.path, 4, seed=3, steps=40)
    assert few.shape == many.shape == (4, 28, 28, 1) and not np.allclose(few, many)
    np.testing.assert_array_equal(api.sample(trained.path, 4, seed=3, steps=0), np.random.default_rng(3).random(
        (4, 28, 28, 1), dtype=np.float32))                                      # 0 steps: the starting noise itself
    with raises_one_line(GenlabError, r"steps must be a whole number from 0 to 10000"):
        api.sample(trained.path, 2, steps=-1)
    with raises_one_line(ConfigError, r"has no option temperature; it takes steps, step_size, noise"):
        api.sample(trained.path, 2, temperature=0.5)
    test = data.load("mnist-5k").x_test[:2]
    completions = density.complete(trained.path, test, keep_rows=12, samples=3, seed=0)
    assert completions.shape == (2, 3, 28, 28, 1)
    np.testing.assert_allclose(completions[:, :, :12], np.repeat(test[:, None, :12] / 255.0, 3, axis=1), atol=1e-6)
    assert not np.allclose(completions[:, 0, 12:], completions[:, 1, 12:])    # different guesses


def test_config_is_checked():
    family = families.get("ebm")
    with raises_one_line(ConfigError, r"buffer_size 8 is smaller than batch_size 16"):
        config.resolve(family, "default", sets={"buffer_size": "8", "batch_size": "16"})
    with raises_one_line(ConfigError, r"fresh_share must be in \[0, 1\]"):
        config.resolve(family, "default", sets={"fresh_share": "1.5"})
    with raises_one_line(ConfigError, r"step_size must be above 0"):
        config.resolve(family, "default", sets={"step_size": "0"})


def test_jem_is_a_classifier_and_an_energy(tmp_path):
    """The jem preset: the chapter's classifier trained on the labels and as an energy. After 60
    short steps on mnist-5k it classifies far above chance (0.1), column 0 of its saved network
    (loaded in safe mode) is -logsumexp of the logits (hand-computed), and it samples like the
    convolutional energy."""
    from scipy.special import logsumexp

    run = tiny_run("ebm", tmp_path / "jem", preset="jem", steps=60, batch_size=32, buffer_size=256, langevin_steps=10,
                   learning_rate=1e-3, log_every=20, sample_every=60, checkpoint_every=60)
    metrics = run.read_metrics()
    assert metrics["status"] == "complete" and metrics["test_accuracy"] > 0.6
    history = run.read_history()
    assert history[-1]["cross_entropy"] < history[0]["cross_entropy"] < np.log(10) + 0.5
    network = keras.saving.load_model(run.path / "model.keras", safe_mode=True)
    images = data.to_float(data.load("mnist-5k").x_test[:8])
    outputs = np.asarray(network(images))                                       # (8, 1 + 10)
    assert outputs.shape == (8, 11)
    np.testing.assert_allclose(outputs[:, 0], -logsumexp(outputs[:, 1:].astype(np.float64), axis=1), rtol=1e-5, atol=1e-5)
    samples = api.sample(run.path, 4, seed=0, steps=5)
    assert samples.shape == (4, 28, 28, 1) and np.isfinite(samples).all()


def test_jem_needs_labels(tmp_path):
    family = families.get("ebm")
    with raises_one_line(ConfigError, r"network 'mlp' is unknown; choose conv or dense"):
        config.resolve(family, "default", sets={"network": "mlp"})
    unlabelled = tmp_path / "blobs.npz"
    np.savez(unlabelled, images=np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8))
    with raises_one_line(ConfigError, r"network=dense \(JEM\) learns the labels"):
        tiny_run("ebm", tmp_path / "run", preset="jem", dataset=str(unlabelled))
