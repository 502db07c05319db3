"""Other Keras backends: the same commands train on PyTorch (custom GAN step included), so the
backend-specific code really is confined to genlab/steps.py. Each run is a subprocess because
Keras picks its backend once per process."""
import importlib.util
import json
import os
import subprocess
import sys

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
