"""Diffusion: the schedules, the forward process and the samplers against hand-computed values;
a short training that must beat 'predict zero'; sampler options through the API and the CLI;
classifier-free guidance. (The family-generic tests in test_families.py cover files, figures,
safe loading, sampling and resume.)"""
from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import cli_error, raises_one_line, tiny_run

from genlab import api, cli, data, families, training
from genlab.errors import ConfigError, DivergenceError, GenlabError
from genlab.families import diffusion
from genlab.families.diffusion import (DiffusionConfig, cosine_alpha_bar, ddim_sigma, ddim_step, ddpm_mean, ddpm_step,
                                       linear_alpha_bar, noised, posterior_variance, predicted_start, reverse_process,
                                       time_features, timestep_sequence)

# betas 0.1, 0.2, 0.3, 0.4: alpha_bar = 1, 0.9, 0.9*0.8, 0.72*0.7, 0.504*0.6
HAND = np.array([1.0, 0.9, 0.72, 0.504, 0.3024])


def _numpy(value):
    from keras import ops

    return np.asarray(ops.convert_to_numpy(value))


# ------------------------------------------------------------------------------------ schedules
def test_linear_schedule_cumulative_products_by_hand():
    np.testing.assert_allclose(linear_alpha_bar(4, 0.1, 0.4), HAND, rtol=1e-12)
    np.testing.assert_allclose(diffusion.betas_of(HAND), [0.1, 0.2, 0.3, 0.4], rtol=1e-12)
    # DDPM's own schedule (T = 1000, 1e-4 .. 0.02): alpha_bar_T = prod(1 - beta_t) = 4.04e-5.
    ddpm = linear_alpha_bar(1000)
    assert ddpm[1] == pytest.approx(1 - 1e-4) and ddpm[2] == pytest.approx((1 - 1e-4) * (1 - 1e-4 - 0.0199 / 999))
    assert ddpm[-1] == pytest.approx(4.0358e-5, rel=1e-3)
    assert np.all(np.diff(ddpm) < 0)


def test_cosine_schedule_by_hand_with_the_last_beta_clipped():
    f = [math.cos((t / 2 + 0.008) / 1.008 * math.pi / 2) ** 2 for t in (0, 1, 2)]
    alpha_bar = cosine_alpha_bar(2)
    assert alpha_bar[0] == 1.0
    assert alpha_bar[1] == pytest.approx(f[1] / f[0], rel=1e-12)           # cos^2(0.79163) / cos^2(0.012467)
    assert alpha_bar[1] == pytest.approx(0.49384, abs=1e-5)
    # f(2) = cos^2(pi/2) = 0, so beta_2 = 1 would make x_T pure noise and 1/sqrt(alpha_bar_T) infinite: clipped to 0.999.
    assert alpha_bar[2] == pytest.approx(f[1] / f[0] * (1 - 0.999), rel=1e-9)
    long = cosine_alpha_bar(1000)
    assert long[500] == pytest.approx(math.cos((0.5 + 0.008) / 1.008 * math.pi / 2) ** 2 / math.cos(0.008 / 1.008 * math.pi / 2) ** 2,
                                      rel=1e-9)


# ------------------------------------------------------------------------------------ forward process
def test_noising_at_t0_returns_the_image_and_at_T_is_standard_normal():
    rng = np.random.default_rng(0)
    image = rng.random((1, 28, 28, 1)).astype("float32") * 2 - 1
    noise = rng.standard_normal((1, 28, 28, 1)).astype("float32")
    alpha_bar = linear_alpha_bar(1000)
    np.testing.assert_array_equal(_numpy(noised(image, np.array([0]), noise, alpha_bar)), image)
    # At t = T the image's weight is sqrt(4.04e-5) = 0.0064: x_T of one image under many noises is N(0, 1).
    images = np.repeat(image, 400, axis=0)
    many = rng.standard_normal(images.shape).astype("float32")
    x_T = _numpy(noised(images, np.full(400, 1000), many, alpha_bar))
    assert abs(float(x_T.mean())) < 0.01 and float(x_T.std()) == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(x_T, math.sqrt(alpha_bar[-1]) * images + math.sqrt(1 - alpha_bar[-1]) * many, atol=1e-5)
    # In between, by hand: t = 2 of the 4-step schedule mixes 0.72 and 0.28 of the variances.
    mixed = _numpy(noised(image, np.array([2]), noise, HAND))
    np.testing.assert_allclose(mixed, math.sqrt(0.72) * image + math.sqrt(0.28) * noise, atol=1e-6)


def test_time_features_by_hand():
    # dim 4: frequencies 1 and 10000^(-1/2) = 0.01; features [sin(t), sin(0.01 t), cos(t), cos(0.01 t)].
    features = _numpy(time_features(np.array([0, 2]), 4))
    np.testing.assert_allclose(features, [[0, 0, 1, 1], [math.sin(2), math.sin(0.02), math.cos(2), math.cos(0.02)]], atol=1e-6)


# ------------------------------------------------------------------------------------ samplers
def test_timestep_sequences():
    assert timestep_sequence(10, 3).tolist() == [10, 7, 3, 0]
    assert timestep_sequence(1000, 50).tolist() == list(range(1000, -1, -20))
    assert timestep_sequence(4, 4).tolist() == [4, 3, 2, 1, 0]
    with raises_one_line(GenlabError, r"sampling steps must be between 1 and the model's 4 timesteps, got 5"):
        timestep_sequence(4, 5)


def test_ddim_with_eta_one_is_ddpm_posterior_by_hand():
    # t = 2 -> s = 1 of the 4-step schedule: beta_2 = 0.2, posterior variance 0.2 * 0.1 / 0.28.
    assert posterior_variance(0.72, 0.9) == pytest.approx(0.2 * 0.1 / 0.28, rel=1e-12)
    assert ddim_sigma(0.72, 0.9, 1.0) ** 2 == pytest.approx(0.2 * 0.1 / 0.28, rel=1e-12)
    assert ddim_sigma(0.72, 0.9, 0.5) ** 2 == pytest.approx(0.25 * 0.2 * 0.1 / 0.28, rel=1e-12)
    assert ddim_sigma(0.72, 0.9, 0.0) == 0.0
    # Its mean: the same x0 and eps (consistent with x_t) give DDPM's posterior mean, for a one-step
    # and a skipping (t = 4 -> s = 1) transition alike.
    rng = np.random.default_rng(1)
    x0, eps = rng.uniform(-1, 1, (3, 4, 4, 1)), rng.standard_normal((3, 4, 4, 1))
    for t, s in ((2, 1), (4, 1), (3, 0)):
        x_t = math.sqrt(HAND[t]) * x0 + math.sqrt(1 - HAND[t]) * eps
        np.testing.assert_allclose(ddim_step(x_t, x0, eps, HAND[t], HAND[s], 1.0, 0.0), ddpm_mean(x_t, x0, HAND[t], HAND[s]),
                                   atol=1e-12)
        # ... and the same noise draw moves both by the same sigma.
        z = rng.standard_normal(x0.shape)
        np.testing.assert_allclose(ddim_step(x_t, x0, eps, HAND[t], HAND[s], 1.0, z), ddpm_step(x_t, x0, HAND[t], HAND[s], z),
                                   atol=1e-12)
    # Over the whole DDPM schedule as well.
    schedule = linear_alpha_bar(1000)
    for t in (1000, 500, 2):
        assert ddim_sigma(schedule[t], schedule[t - 1], 1.0) ** 2 == pytest.approx(posterior_variance(schedule[t], schedule[t - 1]))


def _oracle(x0, alpha_bar):
    """A 'network' that knows the clean images: it returns exactly the noise that x_t holds."""
    def predict(x, t):
        return (x - math.sqrt(alpha_bar[t]) * x0) / math.sqrt(1 - alpha_bar[t])
    return predict


@pytest.mark.parametrize("sampler, eta, steps", [("ddim", 0.0, 1), ("ddim", 0.0, 10), ("ddim", 0.5, 7), ("ddim", 1.0, 50),
                                                 ("ddpm", 0.0, 50), ("ddpm", 0.0, 1000)])
def test_a_model_predicting_the_true_noise_returns_the_clean_image(sampler, eta, steps):
    rng = np.random.default_rng(2)
    x0 = rng.uniform(-1, 1, (4, 6, 6, 1)).astype("float32")
    alpha_bar = linear_alpha_bar(1000)
    x_T = rng.standard_normal(x0.shape).astype("float32")
    result, _ = reverse_process(_oracle(x0, alpha_bar), x_T, alpha_bar, steps, sampler=sampler, eta=eta, rng=rng)
    np.testing.assert_allclose(result, x0, atol=2e-4)


def test_ddim_eta_zero_is_deterministic_and_eta_one_is_not():
    alpha_bar = linear_alpha_bar(100)
    x_T = np.random.default_rng(3).standard_normal((2, 5, 5, 1)).astype("float32")

    def shrink(x, t):           # any fixed function of (x, t) plays the network
        return 0.5 * x + 0.001 * t

    runs = {eta: [reverse_process(shrink, x_T, alpha_bar, 10, eta=eta, rng=np.random.default_rng(seed))[0] for seed in (0, 1)]
            for eta in (0.0, 1.0)}
    np.testing.assert_array_equal(*runs[0.0])
    assert not np.allclose(*runs[1.0])
    # Recorded states: x_T first, x_0 last.
    final, states = reverse_process(shrink, x_T, alpha_bar, 10, record={0, 10})
    np.testing.assert_array_equal(states[0], x_T)
    np.testing.assert_array_equal(states[10], final)


def test_predicted_start_inverts_the_forward_process():
    rng = np.random.default_rng(4)
    x0, eps = rng.uniform(-1, 1, (8,)), rng.standard_normal(8)
    x_t = math.sqrt(0.3024) * x0 + math.sqrt(1 - 0.3024) * eps
    np.testing.assert_allclose(predicted_start(x_t, eps, 0.3024), x0, atol=1e-12)


# ------------------------------------------------------------------------------------ the network
def test_network_pads_odd_sides_and_counts_its_flops():
    import keras

    config = DiffusionConfig(channels=(8, 16, 16), groups=4, time_dim=8)
    assert diffusion.padded_shape((28, 28, 1), 3) == (28, 28)
    assert diffusion.padded_shape((28, 28, 1), 4) == (32, 32)
    assert diffusion.padded_shape((30, 30, 3), 3) == (32, 32)
    network = diffusion.build_network(config, (30, 30, 3))
    out = network.predict([np.zeros((2, 30, 30, 3), "float32"), np.zeros((2, 8), "float32")], verbose=0)
    assert out.shape == (2, 30, 30, 3)
    np.testing.assert_array_equal(out, 0.0)     # zero-initialised output layer: an untrained network predicts eps = 0
    # FLOPs by hand: a 3x3 convolution 2 -> 4 channels on 5x5 ('same'): 2 * 25 * 9 * 2 * 4; a dense 4 -> 3 on 6 positions.
    images = keras.Input((5, 5, 2))
    small = keras.Model(images, keras.layers.Dense(3)(keras.layers.Reshape((25, 4))(keras.layers.Conv2D(4, 3, padding="same")(images))))
    assert diffusion.forward_flops(small) == 2 * 25 * 9 * 2 * 4 + 2 * 25 * 4 * 3


def test_config_refuses_nonsense_in_one_line():
    family = families.get("diffusion")
    from genlab import config

    for sets, message in [({"schedule": "quadratic"}, "schedule 'quadratic' is unknown; choose linear or cosine"),
                          ({"channels": "16,30"}, r"channels \(16, 30\) must be positive multiples of groups=8"),
                          ({"sample_steps": "2000"}, "sampling steps must be between 1 and timesteps=1000, got 2000"),
                          ({"eta": "1.5"}, r"eta must be in \[0, 1\]"), ({"time_dim": "33"}, "time_dim must be even")]:
        with raises_one_line(ConfigError, message):
            config.resolve(family, sets=sets)


# ------------------------------------------------------------------------------------ training
def test_a_few_training_steps_beat_predicting_zero(tmp_path):
    """60 updates on 256 digits with a tiny U-Net: the noise MSE on held-out digits falls from the
    'predict zero' level (E[eps^2] = 1; the zero-initialised network scores exactly that) to well below it."""
    import keras

    dataset = data.load("mnist-5k")
    config = DiffusionConfig(channels=(8, 16), groups=4, time_dim=16, timesteps=100, ema=0.0, learning_rate=3e-3)
    network = diffusion.build_network(config, dataset.image_shape)
    before = diffusion.noise_prediction_metrics(network, config, dataset, count=500)
    assert before["test_noise_mse"] == pytest.approx(before["test_zero_mse"])     # predicts zero
    from genlab.diffusion.trainer import DiffusionTrainer

    trainer = DiffusionTrainer(network, diffusion.alpha_bar_of(config), config, 10)
    trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate))
    training.build_optimizer(trainer)   # what genlab's fit does: one trace of the train step, not two
    images = data.to_float(dataset.x_train[:256])
    inputs = {"images": images, "labels": dataset.y_train[:256].astype("int32").reshape(-1, 1)}
    history = trainer.fit(inputs, None, batch_size=32, epochs=8, verbose=0).history["loss"]
    after = diffusion.noise_prediction_metrics(network, config, dataset, count=500)
    assert after["test_zero_mse"] == pytest.approx(1.0, abs=0.02)
    assert after["test_noise_mse"] < 0.4 * after["test_zero_mse"], (history, after)
    assert history[-1] < 0.5 * history[0]


def test_a_nan_batch_stops_training_with_a_one_line_error(tmp_path, monkeypatch):
    real_to_float = data.to_float
    monkeypatch.setattr(data, "to_float", lambda images: np.full_like(real_to_float(images), np.nan))
    with pytest.raises(DivergenceError, match="the loss became NaN/Inf at epoch 1, batch 1") as caught:
        tiny_run("diffusion", tmp_path / "run")
    assert "\n" not in str(caught.value)
    metrics = api.open_run(tmp_path / "run")[0].read_metrics()
    assert metrics["status"] == "failed"
    assert not (tmp_path / "run" / "checkpoints" / "latest.json").exists()   # no checkpoint of NaN weights


# ------------------------------------------------------------------------------------ sampling options, guidance
@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory):
    # Sampling tests need a trained network, not a good one: a time budget stops it after its first step.
    return tiny_run("diffusion", tmp_path_factory.mktemp("cdiffusion") / "run", conditional=True, fid_samples=0,
                    time_budget_s=0.01, epochs=50)


def test_time_budget_stops_training_early(conditional_run):
    metrics = conditional_run.read_metrics()
    assert metrics["stopped_by_time_budget"] is True and metrics["steps"] == 1       # of 50 epochs x 62 steps
    assert [row["epoch"] for row in conditional_run.read_history()] == [1]


def test_sampler_options_through_the_api(conditional_run):
    path = conditional_run.path
    default = api.sample(path, 4, seed=3)
    np.testing.assert_array_equal(default, api.sample(path, 4, seed=3, steps=5, eta=1.0, guidance=2.0, sampler="ddim"))
    assert not np.array_equal(default, api.sample(path, 4, seed=3, steps=3))
    assert not np.array_equal(default, api.sample(path, 4, seed=3, eta=0.0))
    # DDPM draws fresh noise at every step: a different seed, different images; the same seed, the same ones.
    ddpm = api.sample(path, 4, seed=3, sampler="ddpm", steps=50)
    np.testing.assert_array_equal(ddpm, api.sample(path, 4, seed=3, sampler="ddpm", steps=50))
    for options, message in [({"steps": 0}, "steps must be a whole number between 1 and the model's 50 timesteps, got 0"),
                             ({"steps": 51}, "got 51"), ({"eta": 1.5}, r"eta must be between 0 .* got 1.5"),
                             ({"sampler": "ddpm", "eta": 0.5}, "eta is a DDIM setting"),
                             ({"guidance": -1.0}, "guidance must be >= 0"),
                             ({"temperature": 1.0}, "a diffusion run's sampler has no option temperature; it takes steps, eta, guidance, sampler")]:
        with raises_one_line(GenlabError, message):
            api.sample(path, 2, **options)
    with raises_one_line(GenlabError, r"class 10 is out of range; this model knows classes 0..9"):
        api.sample(path, 2, label=10)


def test_classifier_free_guidance(conditional_run):
    path = conditional_run.path
    sevens = api.sample(path, 4, seed=5, label=7, guidance=3.0)
    threes = api.sample(path, 4, seed=5, label=3, guidance=3.0)
    assert not np.allclose(sevens, threes)
    # guidance 0 is the unconditional prediction eps_u: the requested class no longer matters.
    np.testing.assert_allclose(api.sample(path, 4, seed=5, label=7, guidance=0.0), api.sample(path, 4, seed=5, label=3, guidance=0.0),
                               atol=1e-6)
    assert not np.allclose(sevens, api.sample(path, 4, seed=5, label=7, guidance=1.0))
    assert "conditional_accuracy" in conditional_run.read_metrics()


def test_unconditional_runs_refuse_a_class_and_guidance(trained_diffusion, tmp_path):
    path = trained_diffusion.path
    with raises_one_line(GenlabError, r"is an unconditional diffusion run; a class needs a conditional one"):
        api.sample(path, 2, label=3)
    with raises_one_line(GenlabError, r"guidance needs a class-conditional diffusion run"):
        api.sample(path, 2, guidance=2.0)
    with raises_one_line(ConfigError, r"sampler options \(eta, guidance, sampler, steps\) need a run folder"):
        api.evaluate(np.zeros((20, 28, 28, 1)), dataset="mnist-5k", steps=5, eta=None, guidance=None, sampler=None)


@pytest.fixture(scope="module")
def trained_diffusion(shared_tiny_run):
    return shared_tiny_run("diffusion")      # the very run test_families.py trains and checks


def test_cli_sample_with_steps_eta_class_and_guidance(conditional_run, tmp_path, capsys):
    out = tmp_path / "sevens.png"
    npz = tmp_path / "sevens.npz"
    assert cli.main(["sample", str(conditional_run.path), "-n", "6", "--steps", "4", "--eta", "0", "--class", "7",
                     "--guidance", "3", "--out", str(out), "--npz", str(npz)]) == 0
    assert out.is_file()
    with np.load(npz) as archive:
        np.testing.assert_array_equal(archive["images"], api.sample(conditional_run.path, 6, label=7, steps=4, eta=0.0, guidance=3.0))
    capsys.readouterr()                     # the progress bars and timing lines of the calls above
    assert cli.main(["sample", str(conditional_run.path), "-n", "2", "--steps", "0"]) == 2
    assert "steps must be a whole number between 1" in cli_error(capsys)


def test_cli_refuses_sampler_options_for_a_gan(tmp_path, capsys):
    run = tiny_run("gan", tmp_path / "gan")
    assert cli.main(["sample", str(run.path), "-n", "2", "--steps", "10"]) == 2
    assert "a gan run's sampler has no option steps; sampler options apply to diffusion" in cli_error(capsys)


def test_reverse_process_figure_and_fid_against_steps(trained_diffusion, tmp_path):
    """The reverse-process figure holds 8 samples x up to 10 time points, from noise to image."""
    from PIL import Image

    _, _, config = api.open_run(trained_diffusion.path)
    network = trained_diffusion.load_model("model.keras")
    diffusion.reverse_figure(tmp_path / "reverse.png", network, config, seed=0)
    with Image.open(tmp_path / "reverse.png") as picture:
        assert picture.height > picture.width          # 8 rows of 6 columns (5 sampling steps + x_T)
    rows = diffusion.fid_against_steps(network, config, "mnist-5k", (1, 3), 20, path=tmp_path / "fid.png")
    assert [row["steps"] for row in rows] == [1, 3] and all(row["seconds_per_image"] > 0 for row in rows)
    assert (tmp_path / "fid.png").is_file()


def test_bench_diffusion_reports_steps_samples_and_flops(monkeypatch, capsys):
    """`genlab bench diffusion` with a tiny network: every figure is there and GFLOP/s = FLOPs / time."""
    import argparse
    import functools

    from genlab import bench
    from genlab.diffusion import benchmark

    monkeypatch.setattr(diffusion, "DiffusionConfig", functools.partial(DiffusionConfig, channels=(8, 16), groups=4, time_dim=16,
                                                                         timesteps=50, batch_size=16))
    # Fewer images and steps than the real bench (64 images at 10, 50, 250 steps): the same code, seconds not minutes.
    monkeypatch.setattr(benchmark, "SAMPLE_COUNT", 16)
    monkeypatch.setattr(benchmark, "SAMPLING_STEPS", (2, 20))
    tiny = data.load("mnist-5k")
    monkeypatch.setattr(data, "load", lambda *args, **kwargs: tiny)
    results = bench.main(argparse.Namespace(what="diffusion", steps=4, data_dir=None, json=None))
    forward = results["forward_gflop_per_image"]
    assert forward > 0 and results["train_gflop_per_step"] == pytest.approx(3 * 16 * forward)
    assert results["train_gflops_per_s"] == pytest.approx(results["train_gflop_per_step"] / results["train_seconds_per_step"])
    for steps in (2, 20):
        assert results[f"sample_gflops_per_s_{steps}_steps"] == pytest.approx(steps * forward * results[f"samples_per_s_{steps}_steps"])
    assert results["samples_per_s_2_steps"] > results["samples_per_s_20_steps"]
    assert "sample 16 images, 20 steps" in capsys.readouterr().out
