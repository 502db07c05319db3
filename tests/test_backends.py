"""Other Keras backends: the same commands train on PyTorch (custom GAN step included), so the
backend-specific code really is confined to genlab/backend.py. Each run is a subprocess because
Keras picks its backend once per process."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                reason="torch is not installed (CI installs torch==2.13.0, the CPU wheel)")


def _train_on_torch(tmp_path, family, *sets):
    out = tmp_path / family
    env = dict(os.environ, KERAS_BACKEND="torch")
    command = [sys.executable, "-m", "genlab", "train", family, "--preset", "chapter", "--set", "dataset=mnist-5k",
               *[part for key_value in sets for part in ("--set", key_value)], "--out", str(out), "--quiet"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-500:]
    return json.loads((out / "metrics.json").read_text()), out


def test_gan_trains_on_torch(tmp_path):
    metrics, out = _train_on_torch(tmp_path, "gan", "steps=6", "batch_size=16", "log_every=2", "sample_every=3",
                                   "checkpoint_every=3", "sample_grid=4")
    assert metrics["status"] == "complete" and metrics["backend"] == "torch"
    assert (out / "generator.keras").is_file()


def test_autoencoder_trains_on_torch_and_beats_the_mean_image(tmp_path):
    metrics, _ = _train_on_torch(tmp_path, "ae", "epochs=3", "batch_size=64")
    assert metrics["backend"] == "torch"
    assert metrics["test_mse"] < metrics["baseline_mean_mse"]


def test_gradient_penalty_on_torch_matches_the_hand_computed_norm():
    """The torch branch of backend.input_gradients (create_graph=True): a linear critic's input
    gradient is its weight vector everywhere, so every norm is ||w|| and the penalty follows."""
    code = (
        "import numpy as np, keras\n"
        "from genlab.families import wgan_gp\n"
        "w = np.array([[0.5], [-1.0], [2.0], [0.25]], dtype='float32')\n"
        "x = keras.Input((2, 2, 1))\n"
        "critic = keras.Model(x, keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w))(keras.layers.Flatten()(x)))\n"
        "rng = np.random.default_rng(0)\n"
        "real, fake = rng.random((3, 2, 2, 1)).astype('float32'), rng.random((3, 2, 2, 1)).astype('float32')\n"
        "alpha = np.array([0.1, 0.5, 0.9], dtype='float32').reshape(3, 1, 1, 1)\n"
        "penalty, norms = wgan_gp.gradient_penalty(critic, real, fake, alpha, weight=10.0)\n"
        "print(keras.backend.backend(), float(keras.ops.convert_to_numpy(penalty)), *keras.ops.convert_to_numpy(norms).tolist())\n")
    completed = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, KERAS_BACKEND="torch"),
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-500:]
    backend, penalty, *norms = completed.stdout.split()[-5:]
    expected = float(np.linalg.norm([0.5, -1.0, 2.0, 0.25]))
    assert backend == "torch"
    np.testing.assert_allclose([float(norm) for norm in norms], [expected] * 3, rtol=1e-5)
    assert float(penalty) == pytest.approx(10.0 * (expected - 1.0) ** 2, rel=1e-5)
