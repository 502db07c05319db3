"""Data-parallel training (issue 14): N replicas with batch B/N compute the update one device
computes with batch B, on JAX (keras.distribution) and TensorFlow (MirroredStrategy), and two
JAX processes on 127.0.0.1 end with identical weights equal to a single-process run. Several
steps in one compiled call (steps_per_execution, issue 17) make the same updates, on one device
and on two.

Everything runs in subprocesses: the number of devices must be fixed before jax or TensorFlow
starts, and the main pytest process keeps its own backend. The networks are tiny dense ones
(4x4 images) with a BatchNorm layer, no dropout, and SGD, so each check takes seconds; the step
functions, compilation and distribution code are the families' own (GANTrainer, WGANGPTrainer).
The noise is drawn inside the step from the same seed state for the global batch (the
trainers' `noise`), so both sides see the same latent inputs.
"""
from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")
TIMEOUT = 120   # seconds for any one subprocess: a hang fails the test instead of blocking CI

SCRIPT = r'''
import json, os, sys
import numpy as np
mode = sys.argv[1]
if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from genlab import backend
backend.configure(os.environ["KERAS_BACKEND"])
if mode == "process":
    backend.initialize_processes(f"127.0.0.1:{sys.argv[3]}", 2, int(sys.argv[2]), timeout_s=int(sys.argv[4]))
import keras
from keras import layers
from genlab import step_training
from genlab.families.gan import GANConfig, GANTrainer
from genlab.families.wgan_gp import WGANGPConfig, WGANGPTrainer


class Tiny:
    """Dense networks on 4x4 images: a BatchNorm layer (synchronized statistics), no dropout, SGD."""
    def build_generator(self):
        z = keras.Input((self.config.latent_dim,))
        x = layers.LeakyReLU()(layers.BatchNormalization()(layers.Dense(16)(z)))
        return keras.Model(z, layers.Reshape((4, 4, 1))(layers.Dense(16, activation="sigmoid")(x)))

    def build_discriminator(self):
        images = keras.Input((4, 4, 1))
        return keras.Model(images, layers.Dense(1)(layers.Dense(8, activation="tanh")(layers.Flatten()(images))))

    def make_optimizer(self):
        return keras.optimizers.SGD(learning_rate=self.config.learning_rate)


class TinyGAN(Tiny, GANTrainer):
    pass


class TinyWGAN(Tiny, WGANGPTrainer):
    pass


FAMILIES = {"gan": (TinyGAN, GANConfig(batch_size=8, latent_dim=4, ema=0.9, label_smoothing=0.1, learning_rate=0.5)),
            "wgan-gp": (TinyWGAN, WGANGPConfig(batch_size=8, latent_dim=4, n_critic=2, ema=0.0, learning_rate=0.02))}
STEPS = 3


def trained(family, devices, initial=None, chunked=False):
    """STEPS steps, one call each, or (chunked) all in one call of the trainer's compiled loop."""
    trainer_class, config = FAMILIES[family]
    config.devices = devices
    keras.utils.set_random_seed(0)
    trainer = trainer_class(config, (4, 4, 1))
    if initial is not None:
        trainer.load_state(initial)
    start = trainer.state()
    images = np.random.default_rng(1).uniform(0, 1, (64, 4, 4, 1)).astype("float32")
    order = step_training.DataOrder(len(images), trainer.images_per_step, 0)
    batches = [trainer.batch(images, np.zeros(64), order.next_indices()) for _ in range(STEPS)]
    if chunked:
        stacked = trainer.steps(*(np.stack(parts) for parts in zip(*batches)))     # (STEPS,) per output
        outputs = {key: np.asarray(backend.to_numpy(value), np.float64).reshape(STEPS).tolist() for key, value in stacked.items()}
    else:
        outputs = [trainer.step(*batch) for batch in batches]
        outputs = {key: [float(backend.to_numpy(step[key])) for step in outputs] for key in outputs[0]}
    spread = None
    if backend.name() == "jax" and devices > 1:   # the state really lives on every device
        spread = min(len(variable.value.sharding.device_set) for variable in trainer.generator.trainable_variables)
    return trainer, start, outputs, spread


def biggest(a, b):
    return max(float(np.max(np.abs(np.asarray(a[key], np.float64) - np.asarray(b[key], np.float64)))) for key in a)


if mode == "equivalence":
    report = {}
    for family in FAMILIES:
        one, start, one_outputs, _ = trained(family, 1)
        two, start_two, two_outputs, spread = trained(family, 2, start)
        # The same steps in one compiled call (steps_per_execution), on one device and on two.
        chunk_one, _, chunk_one_outputs, _ = trained(family, 1, start, chunked=True)
        chunk_two, _, chunk_two_outputs, _ = trained(family, 2, start, chunked=True)
        report[family] = {"start": biggest(start, start_two), "state": biggest(one.state(), two.state()),
                          "moved": biggest(start, one.state()), "outputs": biggest(one_outputs, two_outputs),
                          "chunked_state": max(biggest(one.state(), chunk.state()) for chunk in (chunk_one, chunk_two)),
                          "chunked_outputs": max(biggest(one_outputs, chunk) for chunk in (chunk_one_outputs, chunk_two_outputs)),
                          "spread": spread, "d_loss": one_outputs["d_loss"]}
    print("RESULT " + json.dumps(report))
else:   # reference (one process, one device) or process (one of two, one CPU device each)
    trainer, _, outputs, spread = trained("gan", 2 if mode == "process" else 1)
    state = trainer.state()
    if backend.process_index() == 0:
        np.savez(sys.argv[-1], **state)
    print("RESULT " + json.dumps({"digest": step_training.state_digest(trainer), "outputs": outputs,
                                  "process": backend.process_index(), "processes": backend.process_count()}))
'''

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e \".[jax]\")")


def _environment(backend: str, cpu_devices: int) -> dict:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TF_CPP_MIN_LOG_LEVEL": "3", "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(cpu_devices)}
    # Both spellings, for jax versions before JAX_NUM_CPU_DEVICES existed.
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={cpu_devices}").strip()
    return env


def _start(backend: str, cpu_devices: int, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *map(str, args)], env=_environment(backend, cpu_devices),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process: subprocess.Popen, what: str) -> dict:
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{what} did not finish within {TIMEOUT} s: {err[-2000:]}")
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert process.returncode == 0 and lines, f"{what} failed (exit {process.returncode}): {err[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def _check_equivalence(report: dict) -> None:
    print(json.dumps(report))   # the measured differences, shown by pytest -s
    for family, numbers in report.items():
        assert numbers["start"] == 0.0, family                      # both sides start from the same weights
        assert numbers["moved"] > 1e-3, family                      # the steps did change them
        # float32 sums in another order: the same update to ~1e-7; a loss scaled twice (or not at
        # all) or per-replica BatchNorm statistics would differ by ~1e-2 or more.
        assert numbers["state"] < 1e-5, (family, numbers)
        assert numbers["outputs"] < 1e-5, (family, numbers)
        # Several steps per compiled call (a loop in the graph) make the same updates.
        assert numbers["chunked_state"] < 1e-5, (family, numbers)
        assert numbers["chunked_outputs"] < 1e-5, (family, numbers)


@needs_jax
def test_jax_two_devices_equal_one_device():
    report = _result(_start("jax", 2, "equivalence"), "the jax equivalence check")
    _check_equivalence(report)
    assert all(numbers["spread"] == 2 for numbers in report.values()), report   # replicated over both devices


def test_tensorflow_two_replicas_equal_one_device():
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    _check_equivalence(_result(_start("tensorflow", 2, "equivalence"), "the tensorflow equivalence check"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@needs_jax
def test_two_jax_processes_match_one(tmp_path):
    port = _free_port()
    reference = _start("jax", 1, "reference", tmp_path / "reference.npz")
    workers = [_start("jax", 1, "process", rank, port, 60, tmp_path / "process0.npz") for rank in (0, 1)]
    results = [_result(worker, f"process {rank}") for rank, worker in enumerate(workers)]
    single = _result(reference, "the single-process run")
    assert [result["processes"] for result in results] == [2, 2]
    assert results[0]["digest"] == results[1]["digest"]              # bitwise identical weights in both processes
    with np.load(tmp_path / "process0.npz") as two, np.load(tmp_path / "reference.npz") as one:
        assert sorted(two.files) == sorted(one.files)
        difference = max(float(np.max(np.abs(two[key].astype(np.float64) - one[key].astype(np.float64)))) for key in one.files)
    assert difference < 1e-5, difference
    assert np.allclose(results[0]["outputs"]["d_loss"], single["outputs"]["d_loss"], atol=1e-5)


@needs_jax
def test_unreachable_coordinator_is_one_line_error():
    """A worker whose coordinator never comes up stops within the bound, naming the address and the fix."""
    port = _free_port()
    worker = _start("jax", 1, "process", 1, port, 3, "unused.npz")
    try:
        _, err = worker.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.kill()
        pytest.fail("a worker without a coordinator hung")
    assert worker.returncode != 0
    message = [line for line in err.splitlines() if "GenlabError" in line]
    assert message and f"127.0.0.1:{port}" in message[-1] and "process 0" in message[-1], err[-2000:]


def test_bad_device_counts_are_one_line_errors(tmp_path, monkeypatch):
    from genlab import api, backend
    from genlab.errors import GenlabError

    present, _ = backend.device_count()
    with pytest.raises(GenlabError, match=rf"--devices {present + 1} asks for more devices than the {present} .* use --devices {present} or fewer"):
        api.train("gan", devices=present + 1, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()                           # refused before a run folder exists
    with pytest.raises(GenlabError, match="not ae; train ae with --devices 1"):
        api.train("ae", devices=2, out=tmp_path / "ae")
    with pytest.raises(GenlabError, match="batch_size 9 does not split evenly over 2 devices"):
        api.train("gan", overrides={"batch_size": 9, "devices": 2}, out=tmp_path / "odd")
    monkeypatch.setattr(backend.parallel, "name", lambda: "torch")   # where check_devices looks it up
    with pytest.raises(GenlabError, match="not supported on the torch backend; use --backend jax"):
        backend.check_devices(2)


@needs_jax
def test_cli_two_jax_processes_then_resume_on_one_device_and_another_backend(tmp_path):
    """The documented several-hosts command, on loopback: two `genlab train gan --devices 2
    --coordinator ... --process-id K` processes (one CPU device each) end with the same state
    digest and process 0 writes the run; that run then resumes on one device of another backend
    (tensorflow), because checkpoints depend on neither. 8 x 8 images keep it to seconds."""
    port, run = _free_port(), tmp_path / "gan-2processes"
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "eights.npz", x_train=rng.integers(0, 256, (64, 8, 8), dtype=np.uint8), y_train=np.arange(64) % 10,
             x_test=rng.integers(0, 256, (16, 8, 8), dtype=np.uint8), y_test=np.arange(16) % 10)
    tiny = ["--set", "steps=4", "--set", "batch_size=16", "--set", "sample_every=2", "--set", "checkpoint_every=2",
            "--set", "log_every=2", "--set", "sample_grid=16", "--set", f"dataset={tmp_path / 'eights.npz'}"]

    def cli(backend: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "genlab", "train", *args], env=_environment(backend, 1), cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finished(process: subprocess.Popen, what: str) -> str:
        try:
            out, _ = process.communicate(timeout=2 * TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"{what} did not finish within {2 * TIMEOUT} s: {process.communicate()[0][-2000:]}")
        assert process.returncode == 0, f"{what} failed (exit {process.returncode}): {out[-3000:]}"
        return out

    workers = [cli("jax", "gan", "--backend", "jax", "--devices", "2", "--coordinator", f"127.0.0.1:{port}",
                   "--num-processes", "2", "--process-id", str(rank), "--out", str(run), *tiny) for rank in (0, 1)]
    outputs = [finished(worker, f"process {rank}") for rank, worker in enumerate(workers)]
    digests = [line.rsplit("sha256 ", 1)[1].strip() for out in outputs for line in out.splitlines() if "final state sha256" in line]
    assert len(digests) == 2 and digests[0] == digests[1], outputs   # both processes hold the same weights
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 4 and (run / "generator.keras").is_file()

    finished(cli("tensorflow", "gan", "--resume", str(run), "--backend", "tensorflow", "--devices", "1", "--set", "steps=6",
                 "--quiet"), "the tensorflow resume")
    assert json.loads((run / "metrics.json").read_text())["steps"] == 6
    history = (run / "history.csv").read_text().splitlines()
    assert [int(line.split(",")[0]) for line in history[1:]] == [2, 4, 6]   # the resume continued, no step twice
