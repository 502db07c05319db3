"""Backend parity: every family trains on JAX and PyTorch as on TensorFlow, the three compute the
same first GAN update, and checkpoints move between backends. Keras picks its backend once per
process, so each other backend runs as ONE subprocess doing all its checks (starting Python with
TensorFlow and JAX or torch costs seconds); the jax and torch processes run side by side."""
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

INSTALLED = {name: importlib.util.find_spec(name) is not None for name in ("jax", "torch")}
OTHERS = [name for name, present in INSTALLED.items() if present]
REASONS = {"jax": "jax is not installed (CI installs jax[cpu]; pip install -e \".[jax]\")",
           "torch": "torch is not installed (CI installs torch==2.13.0, the CPU wheel)"}
BACKENDS = [pytest.param(name, marks=pytest.mark.skipif(not INSTALLED[name], reason=REASONS[name])) for name in ("jax", "torch")]
pytestmark = pytest.mark.skipif(not OTHERS, reason="neither jax nor torch is installed: no other backend to compare")

# The chapter's GAN made deterministic on every backend: no dropout (its masks come from each
# backend's own random stream), one fixed z for both noise draws, plain SGD (Adam's first step is
# about sign(gradient), which would hide a wrong gradient's size).
PARITY = '''
import numpy as np
import keras
from genlab.families import gan, networks

class ParityTrainer(gan.GANTrainer):
    def build_generator(self):
        generator = super().build_generator()
        for layer in generator.layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0   # read at call time: the layer becomes the identity
        return generator

    def build_discriminator(self):
        images = keras.Input(shape=self.image_shape)
        return keras.Model(images, keras.layers.Dense(1, activation="sigmoid")(networks.conv_trunk(images, dropout=0.0)))

    def make_optimizer(self):
        return keras.optimizers.SGD(learning_rate=0.05)

    def noise(self, batch):
        return keras.ops.convert_to_tensor(np.random.default_rng(1).uniform(-1, 1, (8, 32)).astype("float32"))

def first_update(initial=None):
    """(state before, state after one step, the step's outputs) from the `initial` state."""
    trainer = ParityTrainer(gan.GANConfig(batch_size=8, **gan.CHAPTER), (28, 28, 1))
    if initial is not None:
        trainer.load_state(initial)
    before = trainer.state()
    outputs = trainer.step(np.random.default_rng(2).random((8, 28, 28, 1)).astype("float32"))
    return before, trainer.state(), {key: float(value) for key, value in outputs.items()}
'''

# Run by each other backend: argv = out folder, parity start state, a TensorFlow-written gan run
# to resume, the small dataset, and (torch) the jax process' out folder: torch resumes the gan run
# that TensorFlow wrote and jax continued.
SCRIPT = PARITY + '''
import json, shutil, sys, time, traceback
from pathlib import Path
from genlab import api, checkpoints, config, families, step_training
from genlab.runs import Run

out, initial, tf_run, dataset = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
jax_out = sys.argv[5] if len(sys.argv) > 5 else None
results = {"backend": keras.backend.backend()}

def part(name, function):
    started = time.perf_counter()
    try:
        results[name] = function()
    except Exception:
        results[name] = {"error": traceback.format_exc()[-1500:]}
    results[name + "_s"] = round(time.perf_counter() - started, 1)
    # Whole or not at all: the torch process reads the jax process' results while it runs.
    (out / "results.tmp").write_text(json.dumps(results))
    (out / "results.tmp").replace(out / "results.json")

def penalty():
    # A linear critic's input gradient is its weight vector everywhere: every norm is ||w||.
    from genlab.families import wgan_gp
    w = np.array([[0.5], [-1.0], [2.0], [0.25]], dtype="float32")
    x = keras.Input((2, 2, 1))
    critic = keras.Model(x, keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(w))(keras.layers.Flatten()(x)))
    rng = np.random.default_rng(0)
    real, fake = rng.random((3, 2, 2, 1)).astype("float32"), rng.random((3, 2, 2, 1)).astype("float32")
    alpha = np.array([0.1, 0.5, 0.9], dtype="float32").reshape(3, 1, 1, 1)
    value, norms = wgan_gp.gradient_penalty(critic, real, fake, alpha, weight=10.0)
    return {"penalty": float(keras.ops.convert_to_numpy(value)), "norms": keras.ops.convert_to_numpy(norms).tolist()}

def parity():
    with np.load(initial) as arrays:
        _, after, outputs = first_update(dict(arrays))
    np.savez(out / "parity.npz", **after)
    return outputs

def resume(path, steps=8):
    """Load the run's checkpoint into a fresh trainer (it must hold exactly the saved arrays),
    then let genlab continue the run to `steps`."""
    run = Run.open(path)
    family = families.get(run.family_name)
    conf = config.load_run_config(run.path / "config.toml", family)
    trainer = gan.GANTrainer(conf, (28, 28, 1))
    order = step_training.DataOrder(4000, trainer.images_per_step, conf.seed)
    meta = step_training.load_checkpoint(run, trainer, order)
    with checkpoints.arrays(run, meta) as saved:
        state = trainer.state()
        differing = [key for key in state if not np.array_equal(state[key], saved[key])]
    api.train(family.name, resume=path, overrides={"steps": steps}, verbose=0)
    return {"from_step": meta["step"], "differing": differing, "metrics": Run.open(path).read_metrics(),
            "steps": [row["step"] for row in Run.open(path).read_history()]}

def train(name):
    api.train(name, overrides={**families.get(name).tiny, "dataset": dataset}, out=out / name, verbose=0)
    return {}

def unlisted():
    """A jax step that writes a variable it was not given would lose the write: refused."""
    from genlab import backend
    from genlab.errors import GenlabError
    listed, other = keras.Variable(0.0), keras.Variable(0.0)

    def step():
        listed.assign(listed + 1.0)
        other.assign(other + 1.0)
        return {}
    try:
        backend.compile_step(step, [listed])()
    except GenlabError as error:
        return {"message": str(error)}
    return {"message": None}

part("penalty", penalty)
part("parity", parity)
if results["backend"] == "jax":
    part("unlisted", unlisted)

def resume_tf():
    resumed = resume(tf_run)
    if results["backend"] == "jax":   # the torch process continues this run once more
        shutil.copytree(tf_run, out / "gan-resumed")
    return resumed

part("resume_tf", resume_tf)
for name in families.names():
    part("train/" + name, lambda: train(name))

def resume_jax():
    """The run TensorFlow started and jax continued, resumed once more on torch."""
    deadline, done = time.time() + 500, {}
    while "resume_tf" not in done:
        if time.time() > deadline:
            raise TimeoutError("the jax process did not finish resuming its gan run")
        time.sleep(1)
        try:
            done = json.loads((Path(jax_out) / "results.json").read_text())
        except (OSError, ValueError):   # not written yet
            pass
    if "error" in done["resume_tf"]:
        raise RuntimeError("the jax process could not resume the tensorflow checkpoint")
    return resume(Path(jax_out) / "gan-resumed", steps=10)

if jax_out:
    part("resume_jax", resume_jax)
'''


def _environment(backend, root):
    environment = dict(os.environ, KERAS_BACKEND=backend)
    if backend == "jax":
        # Resuming the TensorFlow gan run and training the gan family compile the same step: a
        # compilation cache (fresh for this session) lets XLA do it once (about 20 s on 2 cores).
        environment.update(JAX_COMPILATION_CACHE_DIR=str(root / "jax-cache"), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="1")
    return environment


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    """Start the jax and torch processes (after the TensorFlow side of their checks) and return
    a function that waits for one backend's results."""
    from conftest import tiny_run

    from genlab import data

    root = tmp_path_factory.mktemp("backends")
    # The families' tiny settings on a slice of mnist-5k: on JAX every new shape is a compilation,
    # and a tiny epoch over 4000 images made the two processes take minutes on 2 cores.
    mnist = data.load("mnist-5k")
    dataset = root / "mnist-512.npz"
    np.savez(dataset, x_train=mnist.x_train[:512], y_train=mnist.y_train[:512], x_test=mnist.x_test[:128], y_test=mnist.y_test[:128])
    namespace = {}
    exec(PARITY, namespace)
    before, after, outputs = namespace["first_update"]()
    np.savez(root / "initial.npz", **before)
    tf_gan = tiny_run("gan", root / "tf-gan").path
    processes = {}
    for name in OTHERS:
        out = root / name
        out.mkdir()
        tf_copy = shutil.copytree(tf_gan, root / f"tf-gan-for-{name}")
        extra = [str(root / "jax")] if name == "torch" and "jax" in OTHERS else []
        processes[name] = (subprocess.Popen([sys.executable, "-c", SCRIPT, str(out), str(root / "initial.npz"), str(tf_copy), str(dataset), *extra],
                                            env=_environment(name, root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), out)

    finished = {}

    def results(name):
        if name not in finished:
            process, out = processes[name]
            output, _ = process.communicate(timeout=600)
            assert process.returncode == 0, output[-1500:]
            finished[name] = json.loads((out / "results.json").read_text()), out
        return finished[name]

    yield {"results": results, "tensorflow": (before, after, outputs), "tf_gan": tf_gan}
    for process, _ in processes.values():
        if process.poll() is None:
            process.kill()


def _part(results, key):
    value = results[key]
    assert "error" not in value, value.get("error") if isinstance(value, dict) else value
    return value


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_family_trains_tiny(backends, backend):
    from genlab import families
    from genlab.runs import Run

    results, out = backends["results"](backend)
    assert results["backend"] == backend
    for name in families.names():
        _part(results, "train/" + name)
        run = Run.open(out / name)
        metrics = run.read_metrics()
        assert metrics["status"] == "complete" and metrics["backend"] == backend, (name, metrics)
        for file_name in families.get(name).files:
            assert (run.path / file_name).exists(), (name, file_name)
        for figure in families.get(name).figures:
            if figure == "fid_steps.png":
                continue   # needs the shipped evaluator, which this test's .npz dataset has none of
            path = run.figures / figure
            assert (path.is_file() if path.suffix else any(path.glob("*.png"))), (name, figure)
    # TensorBoard event files come from tf.summary, which needs TensorFlow, not its backend.
    if backend == "jax":
        assert list((out / "gan" / "logs").rglob("events.out.tfevents.*")), "no TensorBoard scalars for the jax gan"
        assert list((out / "ae" / "logs").rglob("events.out.tfevents.*")), "no TensorBoard logs for the jax ae"


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradient_penalty_matches_the_hand_computed_norm(backends, backend):
    """backend.input_gradients stays differentiable (create_graph on torch, nested grad on jax)."""
    results, _ = backends["results"](backend)
    penalty = _part(results, "penalty")
    expected = float(np.linalg.norm([0.5, -1.0, 2.0, 0.25]))
    np.testing.assert_allclose(penalty["norms"], [expected] * 3, rtol=1e-5)
    assert penalty["penalty"] == pytest.approx(10.0 * (expected - 1.0) ** 2, rel=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_first_gan_update_matches_tensorflow(backends, backend):
    """Same weights, batch and z: one D update then one G update (BatchNorm statistics included)
    give the same variables on every backend, to float tolerance."""
    before, tf_after, tf_outputs = backends["tensorflow"]
    results, out = backends["results"](backend)
    outputs = _part(results, "parity")
    for key, value in tf_outputs.items():
        assert outputs[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    with np.load(out / "parity.npz") as arrays:
        after = dict(arrays)
    assert set(after) == set(tf_after)
    moved = 0
    for key in tf_after:
        if key.startswith(("generator/", "discriminator/")):
            np.testing.assert_allclose(after[key], tf_after[key], rtol=1e-4, atol=1e-6, err_msg=key)
            step, tf_step = after[key] - before[key], tf_after[key] - before[key]
            # The updates themselves (far smaller than the weights) agree too.
            assert np.linalg.norm(step - tf_step) <= 1e-3 * np.linalg.norm(tf_step) + 1e-7, key
            moved += bool(np.any(tf_step))
    # Every trainable variable and the BatchNorm statistics moved: the comparison has teeth.
    assert moved >= 20
    assert int(after["d_optimizer/0000"]) == int(after["g_optimizer/0000"]) == 1


@pytest.mark.skipif(not INSTALLED["jax"], reason=REASONS["jax"])
def test_jax_step_that_writes_an_unlisted_variable_is_refused(backends):
    results, _ = backends["results"]("jax")
    message = _part(results, "unlisted")["message"]
    assert message is not None and "state_variables()" in message and "\n" not in message


def _check_resumed(resumed, backend, steps):
    assert resumed["differing"] == [], "the checkpoint did not load exactly"
    assert resumed["from_step"] == steps[-2]
    assert resumed["steps"] == steps
    assert resumed["metrics"]["status"] == "complete" and resumed["metrics"]["backend"] == backend


@pytest.mark.parametrize("backend", BACKENDS)
def test_tensorflow_checkpoint_resumes(backends, backend):
    """Checkpoints are numpy arrays in variable order: they load exactly on another backend."""
    results, _ = backends["results"](backend)
    _check_resumed(_part(results, "resume_tf"), backend, [2, 4, 6, 8])


@pytest.mark.skipif(not (INSTALLED["jax"] and INSTALLED["torch"]), reason="needs both jax and torch installed")
def test_run_continued_on_jax_resumes_on_torch(backends):
    results, _ = backends["results"]("torch")
    _check_resumed(_part(results, "resume_jax"), "torch", [2, 4, 6, 8, 10])


@pytest.mark.skipif(not INSTALLED["torch"], reason=REASONS["torch"])
def test_autoencoder_trains_on_torch_and_beats_the_mean_image(tmp_path):
    out = tmp_path / "ae"
    command = [sys.executable, "-m", "genlab", "train", "ae", "--preset", "chapter", "--set", "dataset=mnist-5k",
               "--set", "epochs=3", "--set", "batch_size=64", "--out", str(out), "--quiet"]
    completed = subprocess.run(command, env=dict(os.environ, KERAS_BACKEND="torch"), capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-500:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backend"] == "torch"
    assert metrics["test_mse"] < metrics["baseline_mean_mse"]
