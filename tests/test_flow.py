"""The normalizing flow: every layer and the whole flow invertible, log-determinants equal to
brute-force Jacobians, the change of variables against a closed-form density, dequantization's
accounting, and a tiny run's latent exact both ways."""
from __future__ import annotations

import math
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import raises_one_line

from genlab import api, config, data, density, families
from genlab.errors import ConfigError, GenlabError
from genlab.flow import dequantization, layers, network


@pytest.fixture
def float64():
    """Layers built inside use float64, so finite differences resolve the Jacobian to ~1e-8."""
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_floatx("float64")                  # keras.Input's dtype
    keras.config.set_dtype_policy("float64")            # the layers'
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)


def _scrambled(layer, rng, spread: float = 0.5):
    """The layer's weights replaced by random ones, so a zero-initialized coupling is no
    identity; the fixed LU parts keep their structure (P a permutation, signs +-1)."""
    for variable in layer.weights:
        name = variable.path.rsplit("/", 1)[-1]
        if name in ("permutation", "sign"):
            continue
        variable.assign(rng.normal(0.0, spread, variable.shape).astype(variable.dtype))


def _numeric_log_det(function, x: np.ndarray, epsilon: float = 1e-6) -> float:
    """log |det J| of `function` (one image in, one out) by central differences, from its flat
    Jacobian (D x D)."""
    flat = x.reshape(-1)
    columns = []
    for index in range(flat.size):
        step = np.zeros_like(flat)
        step[index] = epsilon
        plus = function((flat + step).reshape(x.shape)).reshape(-1)
        minus = function((flat - step).reshape(x.shape)).reshape(-1)
        columns.append((plus - minus) / (2 * epsilon))
    sign, log_det = np.linalg.slogdet(np.stack(columns, axis=1))
    assert sign != 0
    return float(log_det)


LAYERS = {
    "logit": lambda: layers.LogitTransform(0.05),
    "squeeze": lambda: layers.Squeeze(),
    "actnorm": lambda: layers.ActivationNormalization(),
    "invertible_1x1": lambda: layers.InvertibleConvolution(seed=3),
    "coupling": lambda: layers.AffineCoupling(hidden=6),
}


def _input_for(name: str, rng, shape=(2, 4, 4, 4)) -> np.ndarray:
    # The logit takes pixels in (0, 1); the rest anything.
    return rng.uniform(0.02, 0.98, shape) if name == "logit" else rng.normal(0.0, 1.0, shape)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_is_inverted_by_its_inverse(name):
    rng = np.random.default_rng(0)
    layer = LAYERS[name]()
    x = _input_for(name, rng).astype("float32")
    layer(x)
    _scrambled(layer, rng)
    y, log_det = (np.asarray(value) for value in layer(x))
    assert log_det.shape == (2,) and np.isfinite(log_det).all()
    assert not np.allclose(y.reshape(-1)[:32], x.reshape(-1)[:32]) or name == "squeeze"
    back = np.asarray(layer(y, inverse=True))
    assert np.abs(back - x).max() < 1e-4


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_s_log_determinant_is_its_jacobian_s(name, float64):
    """Each image's log_det equals log |det dy/dx| of that image's map, found by finite
    differences on the layer itself (D = 4 x 4 x 4 = 64)."""
    rng = np.random.default_rng(1)
    layer = LAYERS[name]()
    x = _input_for(name, rng)
    layer(x)
    _scrambled(layer, rng)
    _, log_det = layer(x)
    for image in range(2):
        expected = _numeric_log_det(lambda one: np.asarray(layer(one[None])[0])[0], x[image])
        assert float(np.asarray(log_det)[image]) == pytest.approx(expected, abs=1e-6)


def _tiny_flow(seed: int = 0, spread: float = 0.5):
    """A whole flow over 4 x 4 x 1 images (two scales, a split between them: D = 16), scrambled."""
    flow = network.build(network.Architecture(4, 4, 1, scales=2, depth=2, hidden=4, seed=seed))
    rng = np.random.default_rng(seed)
    for kind, layer in flow.program:
        if layer.weights:
            _scrambled(layer, rng, spread)
    return flow


def test_the_whole_flow_is_inverted_by_its_decoder_and_its_log_det_is_its_jacobian_s(float64):
    flow = _tiny_flow()
    rng = np.random.default_rng(2)
    y = rng.uniform(0.01, 0.99, (3, 4, 4, 1))
    z, log_det = (np.asarray(value) for value in flow.encoder(y))
    assert z.shape == (3, 16) and log_det.shape == (3,)
    # The decoder returns grey levels, (256 y - 1/2) / 255, kept in [0, 1].
    restored = np.asarray(flow.decoder(z)) * 255.0 / 256.0 + 0.5 / 256.0
    assert np.abs(restored - y).max() < 1e-6
    for image in range(3):
        expected = _numeric_log_det(lambda one: np.asarray(flow.encoder(one[None])[0])[0], y[image])
        assert log_det[image] == pytest.approx(expected, abs=1e-6)


def test_the_whole_flow_inverts_to_float32_precision():
    # Weights of a trained flow's size (the float64 test's larger ones stretch float32's rounding).
    flow = _tiny_flow(seed=4, spread=0.2)
    y = np.random.default_rng(5).uniform(0.01, 0.99, (8, 4, 4, 1)).astype("float32")
    z, _ = flow.encoder(y)
    restored = np.asarray(flow.decoder(z)) * 255.0 / 256.0 + 0.5 / 256.0
    assert np.abs(restored - y).max() < 1e-4


def test_change_of_variables_gives_the_closed_form_gaussian_density():
    """actnorm then a 1x1 convolution on 2-D points, z = W diag(e^s) (x + b), with z ~ N(0, I):
    x is N(-b, M M^T), M = diag(e^-s) W^-1, whose log-density scipy knows in closed form."""
    from scipy.stats import multivariate_normal

    actnorm, mixing = layers.ActivationNormalization(), layers.InvertibleConvolution(seed=7)
    points = np.random.default_rng(3).normal(0.0, 2.0, (50, 2)).astype("float32")
    actnorm(points)
    mixing(points)
    actnorm.bias.assign(np.array([0.5, -1.5], "float32"))
    actnorm.log_scale.assign(np.array([0.3, -0.7], "float32"))
    mixing.lower.assign(np.array([[0.0, 0.0], [0.8, 0.0]], "float32"))
    mixing.upper.assign(np.array([[0.0, -0.4], [0.0, 0.0]], "float32"))
    mixing.log_abs_diagonal.assign(np.array([0.2, 0.5], "float32"))
    u, log_det_actnorm = actnorm(points)
    z, log_det_mixing = mixing(u)
    log_density = dequantization.negative_log_density_nats(np.asarray(z), np.asarray(log_det_actnorm) + np.asarray(log_det_mixing))
    matrix = np.asarray(mixing.matrix(), np.float64)
    spread = np.diag(np.exp(-np.array([0.3, -0.7]))) @ np.linalg.inv(matrix)
    expected = multivariate_normal(mean=[-0.5, 1.5], cov=spread @ spread.T).logpdf(points.astype(np.float64))
    np.testing.assert_allclose(-log_density, expected, atol=1e-4)


def test_the_variational_dequantizer_s_log_q_is_its_jacobian_s(float64):
    """q(u | x): u = sigmoid(h(noise; x)) with noise ~ N(0, I), so log q(u) = log N(noise) -
    log |det du/dnoise|, the Jacobian found by finite differences through the whole dequantizer."""
    from genlab.flow.variational import build_dequantizer

    dequantizer = build_dequantizer((4, 4, 1), depth=2, hidden=4, seed=0)
    rng = np.random.default_rng(8)
    for layer in dequantizer.layers:
        _scrambled(layer, rng, 0.3)
    levels = rng.integers(0, 256, (2, 4, 4, 1)).astype("float64")
    noise = rng.normal(0.0, 1.0, (2, 4, 4, 1))
    y, log_q = (np.asarray(value) for value in dequantizer([levels, noise]))
    u = 256.0 * y - levels
    assert (u > 0).all() and (u < 1).all()
    for image in range(2):
        def noise_to_u(one, image=image):
            return 256.0 * np.asarray(dequantizer([levels[image:image + 1], one[None]])[0])[0] - levels[image]

        log_normal = float(np.sum(-0.5 * noise[image] ** 2 - 0.5 * math.log(2 * math.pi)))
        assert log_q[image] == pytest.approx(log_normal - _numeric_log_det(noise_to_u, noise[image]), abs=1e-6)


def test_a_density_uniform_on_the_pixels_range_costs_eight_bits_per_dim():
    """The uniform density on [0, 256)^D is y = (x + u) / 256 uniform on [0, 1)^D: as a flow, z =
    Phi^-1(y) per pixel (standard normal under the model), log |det| = -log phi(z) per pixel. Through
    the change of variables and the dequantization's accounting it must cost exactly 8 bits/dim."""
    from scipy.stats import norm

    rng = np.random.default_rng(4)
    levels = rng.integers(0, 256, (5, 7, 7, 1))
    y = dequantization.dequantized(levels, rng).astype(np.float64).reshape(5, -1)
    z = norm.ppf(y)
    log_det = -norm.logpdf(z).sum(axis=1)
    nats = dequantization.negative_log_density_nats(z, log_det)
    np.testing.assert_allclose(nats, 0.0, atol=1e-8)
    bits = dequantization.image_bits(np.stack([nats, nats + 0.0], axis=1), dimensions=49)
    np.testing.assert_allclose(bits / 49, 8.0, atol=1e-9)


def test_more_dequantization_draws_give_a_bound_no_looser():
    # -log of the mean density over k draws is at most the mean of -log (Jensen), draw by draw.
    nats = np.random.default_rng(5).normal(500.0, 3.0, (6, 4))
    many = dequantization.image_bits(nats, dimensions=784)
    one_at_a_time = np.mean([dequantization.image_bits(nats[:, [k]], 784) for k in range(4)], axis=0)
    assert (many <= one_at_a_time + 1e-9).all() and (many < one_at_a_time).any()


def test_bin_centres_are_the_middle_of_each_level_s_bin():
    grey = np.array([0.0, 1.0, 128 / 255.0])
    np.testing.assert_allclose(dequantization.bin_centres(grey) * 256.0, [0.5, 255.5, 128.5], atol=1e-4)


# ---------------------------------------------------------------------------- a tiny trained run
@pytest.fixture(scope="module")
def tiny(shared_tiny_run):
    return shared_tiny_run("flow")


@pytest.fixture(scope="module")
def mnist5k():
    return data.load("mnist-5k")


def test_a_few_updates_beat_the_uniform_model_and_the_untrained_flow(tiny, mnist5k):
    """Eight updates of the tiny run: its test bits/dim is below a uniform model's 8 and below the
    same flow's before training (activation normalization's start only), and the figure in
    metrics.json is what the saved encoder gives."""
    from genlab.families.flow import FlowConfig, architecture, image_bits

    cfg = config.load_run_config(tiny.path / "config.toml", families.get("flow"))
    metrics = tiny.read_metrics()
    assert metrics["likelihood_bound"] == "upper" and metrics["steps"] == 8
    recomputed = image_bits(tiny.load_model("model.keras"), mnist5k.x_test, seed=cfg.seed + 1).mean() / 784
    assert recomputed == pytest.approx(metrics["test_bits_per_dim"], rel=1e-5)
    untrained = network.build(architecture(FlowConfig(**{key: getattr(cfg, key) for key in ("depth", "hidden", "scales")}),
                                           mnist5k.image_shape))
    rng = np.random.default_rng(0)
    network.initialize(untrained, dequantization.dequantized(mnist5k.x_train[:512], rng))
    before = image_bits(untrained.encoder, mnist5k.x_test[:200], seed=1).mean() / 784
    after = image_bits(tiny.load_model("model.keras"), mnist5k.x_test[:200], seed=1).mean() / 784
    assert metrics["test_bits_per_dim"] < 8.0
    assert after < before - 0.3, (after, before)


def test_decode_of_encode_is_the_image_to_float_precision(tiny, mnist5k):
    codec = families.get("flow").codec(tiny, config.load_run_config(tiny.path / "config.toml", families.get("flow")))
    digits = data.to_float(mnist5k.x_test[:16])
    codes = codec.encode(digits)
    assert codes.shape == (16, 784) and codes.dtype == np.float64 and codec.size == 784
    assert np.abs(codec.reconstruct(digits) - digits).max() < 1e-4
    # Any grey level, not only the 8-bit ones: the codec is exact on [0, 1].
    noise = np.random.default_rng(6).uniform(0.0, 1.0, (4, 28, 28, 1)).astype("float32")
    assert np.abs(codec.reconstruct(noise) - noise).max() < 1e-4
    # genlab.reconstruct takes the same route (input_images reads decoder.keras's shape).
    assert np.abs(api.reconstruct(tiny.path, digits[:4]) - digits[:4]).max() < 1e-4
    # The latent space decodes the codes to the images too (its temperature is 1 unless asked).
    space = api.latent_space(tiny.path)
    assert np.abs(space.decode(codes[:4].astype("float32")) - digits[:4]).max() < 1e-4


def test_cold_samples_spread_less_than_warm_ones(tiny):
    """T = 0.7 scales z by 0.7: the samples sit closer together (mean distance to their mean image)
    than at T = 1, from the very same seeds."""
    warm = api.sample(tiny.path, 64, seed=3)
    cold = api.sample(tiny.path, 64, seed=3, temperature=0.7)
    spread = lambda images: float(np.mean(np.abs(images - images.mean(axis=0))))   # noqa: E731
    assert spread(cold) < 0.9 * spread(warm)
    np.testing.assert_allclose(api.sample(tiny.path, 4, seed=3, temperature=1.0), warm[:4], atol=1e-6)
    with raises_one_line(GenlabError, "temperature must be a finite number above 0"):
        api.sample(tiny.path, 2, seed=3, temperature=0.0)


def test_likelihood_names_its_bound_and_takes_more_draws(tiny, mnist5k):
    result = density.likelihood(tiny.path, mnist5k.x_test[:64])
    assert result.bound == "upper" and result.method == "flow, uniform dequantization (1 sample)"
    assert result.bits_per_dim == pytest.approx(tiny.read_metrics()["test_bits_per_dim"], abs=0.2)
    from genlab.families.flow import image_bits

    encoder = tiny.load_model("model.keras")
    one = image_bits(encoder, mnist5k.x_test[:64], seed=0, samples=1) / 784
    eight = image_bits(encoder, mnist5k.x_test[:64], seed=0, samples=8) / 784
    # A flow's density changes little within a pixel's bin: the k-draw bound is a little below.
    assert np.isfinite(eight).all() and abs(eight.mean() - one.mean()) < 0.05


def test_a_variational_run_scores_its_own_bound(shared_tiny_run, mnist5k):
    run = shared_tiny_run("flow", dequantization="variational")
    assert (run.path / "dequantizer.keras").is_file()
    result = density.likelihood(run.path, mnist5k.x_test[:64])
    assert result.bound == "upper" and result.method == "flow, variational dequantization (1 sample)"
    assert 0.0 < result.bits_per_dim < 8.0
    digits = data.to_float(mnist5k.x_test[:4])
    assert np.abs(api.reconstruct(run.path, digits) - digits).max() < 1e-4


def test_the_model_files_load_in_a_fresh_python_through_genlab_and_plain_keras(tiny):
    """genlab.models finds the flow's layers itself (the file names their module); plain Keras
    needs genlab.flow.layers imported first, and safe mode then loads them."""
    code = ("import sys, numpy as np\n"
            "from genlab.models import load_model\n"
            "decoder = load_model(sys.argv[1] + '/decoder.keras')\n"
            "import keras\n"
            "plain = keras.saving.load_model(sys.argv[1] + '/model.keras', safe_mode=True)\n"
            "z = np.zeros((2, 784), 'float32')\n"
            "print(decoder.predict(z, verbose=0).shape, plain.predict(decoder.predict(z, verbose=0), verbose=0)[0].shape)\n")
    result = subprocess.run([sys.executable, "-c", code, str(tiny.path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(2, 28, 28, 1) (2, 784)" in result.stdout


def test_a_diverging_training_stops_at_the_nan_guard_and_writes_no_model(tmp_path):
    from genlab.errors import DivergenceError

    with raises_one_line(DivergenceError, "the loss became NaN/Inf at epoch 1"):
        api.train("flow", overrides={"dataset": "mnist-5k", **families.get("flow").tiny, "learning_rate": 1e4, "warmup_steps": 0},
                  out=tmp_path / "run", verbose=0, print_summary=False)
    assert not (tmp_path / "run" / "model.keras").exists()
    assert '"status": "failed"' in (tmp_path / "run" / "metrics.json").read_text()


def test_image_sides_the_squeezes_cannot_halve_are_one_line(tmp_path):
    images = np.zeros((70, 12, 12, 1), np.uint8)
    path = tmp_path / "twelve.npz"
    np.savez(path, x_train=images, y_train=np.zeros(70, np.int64), x_test=images[:10], y_test=np.zeros(10, np.int64))
    with raises_one_line(ConfigError, "multiples of 8; lower scales"):
        api.train("flow", overrides={"dataset": str(path), "scales": 3, "epochs": 1, "batch_size": 8}, out=tmp_path / "run",
                  verbose=0, print_summary=False)


def test_config_refuses_nonsense():
    with raises_one_line(ConfigError, "logit_alpha must be in"):
        config.resolve(families.get("flow"), "default", sets={"logit_alpha": "0.5"})
    with raises_one_line(ConfigError, "temperature must be above 0"):
        config.resolve(families.get("flow"), "default", sets={"temperature": "0"})
    assert math.isclose(config.resolve(families.get("flow"), "default").temperature, 1.0)
