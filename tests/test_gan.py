"""The chapter's GAN: both networks really train, the discriminator wins first and the generator
then catches up, checkpoints resume exactly, a NaN stops training cleanly, the FLOP count is
right, and sampling is repeatable."""
from __future__ import annotations

import contextlib
import itertools
import json

import keras
import numpy as np
import pytest
from conftest import cli_error, raises_one_line, tiny_run

from genlab import adversarial, api, cli, data, step_training
from genlab.errors import DivergenceError
from genlab.families import gan
from genlab.step_training import DataOrder
from genlab.families.gan import GANConfig, GANTrainer, step_flops

TRAJECTORY_STEPS = 100
WINDOW = 20


@pytest.fixture(scope="module")
def real_images():
    return data.to_float(data.load("mnist-5k").x_train)


def kernels(model) -> list[np.ndarray]:
    """Copies of the Conv/Dense kernels (not BatchNorm statistics, which move without learning)."""
    return [np.array(variable.numpy()) for variable in model.trainable_variables if "kernel" in variable.path]


def run_trajectory(images, steps: int, freeze_generator: bool, seed: int = 0) -> dict:
    keras.utils.set_random_seed(seed)
    config = GANConfig(dataset="mnist-5k", batch_size=16, seed=seed)
    trainer = GANTrainer(config, (28, 28, 1))
    if freeze_generator:
        trainer.g_optimizer.learning_rate.assign(0.0)
    order = DataOrder(len(images), config.batch_size, seed)
    record = {"d_acc_fake": [], "g_loss": [], "d_changed": [], "g_changed": []}
    d_before, g_before = kernels(trainer.discriminator), kernels(trainer.generator)
    for _ in range(steps):
        values = trainer.step(images[order.next_indices()])
        record["d_acc_fake"].append(float(values["d_acc_fake"]))
        record["g_loss"].append(float(values["g_loss"]))
        d_after, g_after = kernels(trainer.discriminator), kernels(trainer.generator)
        # Per kernel: did every single Conv/Dense kernel move on this step?
        record["d_changed"].append([not np.array_equal(a, b) for a, b in zip(d_before, d_after)])
        record["g_changed"].append([not np.array_equal(a, b) for a, b in zip(g_before, g_after)])
        d_before, g_before = d_after, g_after
    return {key: np.array(value) for key, value in record.items()}


@pytest.fixture(scope="module")
def trajectory(real_images):
    return run_trajectory(real_images, TRAJECTORY_STEPS, freeze_generator=False)


@pytest.fixture(scope="module")
def frozen_trajectory(real_images):
    """The control: the same run with the generator's learning rate at 0."""
    return run_trajectory(real_images, TRAJECTORY_STEPS, freeze_generator=True)


# ------------------------------------------------------------------------------------ both networks train


def test_trainer_updates_both_networks_on_every_step(real_images):
    keras.utils.set_random_seed(0)
    trainer = GANTrainer(GANConfig(dataset="mnist-5k", batch_size=16, seed=0), (28, 28, 1))
    order = DataOrder(len(real_images), 16, 0)
    d_weights, g_weights = trainer.discriminator.get_weights(), trainer.generator.get_weights()
    for step in range(1, 5):
        values = trainer.step(real_images[order.next_indices()])
        assert {"d_loss", "g_loss", "d_acc_real", "d_acc_fake"} <= set(values)
        d_now, g_now = trainer.discriminator.get_weights(), trainer.generator.get_weights()
        assert any(not np.array_equal(a, b) for a, b in zip(d_weights, d_now)), f"D did not change at step {step}"
        assert any(not np.array_equal(a, b) for a, b in zip(g_weights, g_now)), f"G did not change at step {step}"
        d_weights, g_weights = d_now, g_now


def test_every_kernel_of_both_networks_moves_every_step(trajectory):
    assert trajectory["d_changed"].shape == (TRAJECTORY_STEPS, 4)   # 3 conv + the dense score
    assert trajectory["g_changed"].shape == (TRAJECTORY_STEPS, 4)   # dense + 2 conv-transpose + conv
    assert trajectory["d_changed"].all()
    assert trajectory["g_changed"].all()


def test_generator_learning_rate_zero_freezes_only_the_generator(frozen_trajectory):
    assert not frozen_trajectory["g_changed"].any()
    assert frozen_trajectory["d_changed"].all()


def test_discriminator_wins_first_then_the_generator_catches_up(trajectory, frozen_trajectory):
    acc = trajectory["d_acc_fake"]
    frozen_acc = frozen_trajectory["d_acc_fake"]
    # D-favourable start: from a fresh trainer, D quickly spots the untrained G's fakes.
    assert acc[:WINDOW].mean() > 0.9
    # Against a frozen generator D stays perfect; against a learning one it is fooled more often.
    assert frozen_acc[-WINDOW:].mean() > 0.98
    assert acc[-WINDOW:].mean() < acc[:WINDOW].mean()
    assert acc[-WINDOW:].mean() < frozen_acc[-WINDOW:].mean() - 0.02
    # The generator's loss falls well below what it would be without learning.
    g_late, frozen_g_late = trajectory["g_loss"][-WINDOW:].mean(), frozen_trajectory["g_loss"][-WINDOW:].mean()
    assert g_late < 0.5 * frozen_g_late
    # ...and below its own peak after the discriminator's early lead.
    peak = max(trajectory["g_loss"][i:i + WINDOW].mean() for i in range(0, TRAJECTORY_STEPS - WINDOW + 1, WINDOW))
    assert g_late < 0.75 * peak


# ------------------------------------------------------------------------------------ checkpoint / resume


@contextlib.contextmanager
def step_hook(monkeypatch, hook):
    """Wrap every new GANTrainer's compiled step: hook(call_number, real_batch) -> the batch to use."""
    original = GANTrainer.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        compiled = self.step
        calls = itertools.count(1)
        self.step = lambda real, *labels: compiled(hook(next(calls), real), *labels)

    monkeypatch.setattr(GANTrainer, "__init__", init)
    try:
        yield
    finally:
        monkeypatch.setattr(GANTrainer, "__init__", original)


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """The uninterrupted reference: 6 steps, checkpoints at 3 and 6."""
    return tiny_run("gan", tmp_path_factory.mktemp("gan") / "full", preset="chapter", seed=5)


def generator_weights(run):
    return run.load_model("generator.keras").get_weights()


def assert_same_weights(first, second, what):
    assert len(first) == len(second)
    for index, (a, b) in enumerate(zip(first, second)):
        assert np.allclose(a, b, atol=1e-5), f"{what}: weight {index} differs by {np.abs(a - b).max()}"


def test_resume_after_a_crash(gan_run, tmp_path, monkeypatch):
    def interrupt_at_5(call, real):
        if call == 5:
            raise KeyboardInterrupt
        return real

    with step_hook(monkeypatch, interrupt_at_5):
        with pytest.raises(KeyboardInterrupt):
            tiny_run("gan", tmp_path / "crashed", preset="chapter", seed=5)
    crashed = tmp_path / "crashed"
    assert json.loads((crashed / "metrics.json").read_text())["status"] == "interrupted"
    assert json.loads((crashed / "checkpoints" / "latest.json").read_text())["step"] == 3
    assert not (crashed / "generator.keras").exists()

    resumed = api.train("gan", resume=crashed, verbose=0, print_summary=False)
    # Rows after the checkpoint were dropped and re-made: exactly the uninterrupted run's steps.
    assert [row["step"] for row in resumed.read_history()] == [row["step"] for row in gan_run.read_history()] == [2, 4, 6]
    assert resumed.read_metrics()["status"] == "complete"
    # The last window (steps 5-6) saw the same batches and weights, so it logged the same losses.
    last, reference = resumed.read_history()[-1], gan_run.read_history()[-1]
    assert last["d_loss"] == pytest.approx(reference["d_loss"], rel=1e-4)
    assert last["g_loss"] == pytest.approx(reference["g_loss"], rel=1e-4)


def test_checkpoints_keep_the_last_two(gan_run):
    files = sorted(path.name for path in (gan_run.path / "checkpoints").glob("step-*.npz"))
    assert files == ["step-000003.npz", "step-000006.npz"]
    meta = json.loads((gan_run.path / "checkpoints" / "latest.json").read_text())
    assert meta["file"] == "step-000006.npz" and meta["step"] == 6


def test_housekeeping_time_is_measured_apart_from_the_steps(gan_run, tmp_path, monkeypatch):
    """metrics.json says what logging, grids and checkpoints cost: a grid made 0.3 s slower
    (two grids inside the loop, at steps 3 and 6) adds at least 0.6 s to housekeeping_s."""
    import time

    plain = gan_run.read_metrics()
    assert 0 < plain["housekeeping_s"] < plain["train_wall_s"]
    real_grid = adversarial.save_fixed_grid

    def slow_grid(*args, **kwargs):
        time.sleep(0.3)
        return real_grid(*args, **kwargs)

    monkeypatch.setattr(adversarial, "save_fixed_grid", slow_grid)
    slowed = tiny_run("gan", tmp_path / "slow", preset="chapter", seed=5).read_metrics()
    assert slowed["housekeeping_s"] >= 0.6 + 0.5 * plain["housekeeping_s"]
    assert slowed["housekeeping_share"] == pytest.approx(slowed["housekeeping_s"] / slowed["train_wall_s"])


# ------------------------------------------------------------------------------------ several steps per call


@contextlib.contextmanager
def chunk_recorder(monkeypatch, poison_step: int | None = None):
    """Record how many steps each call of a new GANTrainer runs (1: `step`, n: `steps`), and
    give step `poison_step` (counted over the run) a NaN batch."""
    original_init, original_batch = GANTrainer.__init__, GANTrainer.batch
    calls, batches = [], itertools.count(1)

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        one, many = self.step, self.steps

        def step(*arguments):
            calls.append(1)
            return one(*arguments)

        def steps(*stacked):
            calls.append(len(stacked[0]))
            return many(*stacked)

        self.step, self.steps = step, steps

    def batch(self, *arguments):
        real, *labels = original_batch(self, *arguments)
        return (real * np.float32("nan") if next(batches) == poison_step else real, *labels)

    monkeypatch.setattr(GANTrainer, "__init__", init)
    monkeypatch.setattr(GANTrainer, "batch", batch)
    yield calls


def test_several_steps_per_call_make_the_same_run(gan_run, tmp_path, monkeypatch):
    """steps_per_execution=3 runs the steps between the log/grid/checkpoint steps (2, 3, 4, 6)
    in one compiled call each, and the run is the one-step-per-call run: the same history and
    the same checkpoint, array for array."""
    with chunk_recorder(monkeypatch) as calls:
        chunked = tiny_run("gan", tmp_path / "chunked", preset="chapter", seed=5, steps_per_execution=3)
    assert calls == [2, 1, 1, 2]

    def losses(run):
        return [{key: value for key, value in row.items() if key != "seconds"} for row in run.read_history()]

    assert [row["step"] for row in losses(chunked)] == [2, 4, 6]
    assert losses(chunked) == [pytest.approx(row, rel=1e-5) for row in losses(gan_run)]
    with np.load(chunked.path / "checkpoints" / "step-000006.npz") as mine, \
            np.load(gan_run.path / "checkpoints" / "step-000006.npz") as reference:
        assert sorted(mine.files) == sorted(reference.files)
        for key in reference.files:
            assert np.allclose(mine[key], reference[key], rtol=1e-5, atol=1e-6), key


def test_a_nan_inside_a_call_of_several_steps_names_its_own_step(tmp_path, monkeypatch):
    """Steps 5 and 6 run in one call; a NaN batch at step 6 is reported as step 6, and the run
    keeps the checkpoint of step 3."""
    with chunk_recorder(monkeypatch, poison_step=6) as calls:
        with raises_one_line(DivergenceError, r"gan diverged at step 6: .*nan.*; the last good checkpoint \(step 3\) is kept"):
            tiny_run("gan", tmp_path / "nan", preset="chapter", steps_per_execution=3)
    assert calls == [2, 1, 1, 2]


# ------------------------------------------------------------------------------------ NaN guard


def test_nan_batch_stops_training_with_a_clear_error(tmp_path, monkeypatch):
    def poison_at_5(call, real):
        return real * np.float32("nan") if call == 5 else real

    out = tmp_path / "nan"
    with step_hook(monkeypatch, poison_at_5):
        with raises_one_line(DivergenceError, r"gan diverged at step 5: .*nan.*; the last good checkpoint \(step 3\) is kept"):
            tiny_run("gan", out, preset="chapter")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert metrics["last_good_checkpoint"] == 3
    assert "gan diverged at step 5" in metrics["error"]

    # The last checkpoint is intact and loads into a fresh trainer with finite weights.
    from genlab.runs import Run

    run = Run.open(out)
    config = api.open_run(out)[2]
    trainer = GANTrainer(config, (28, 28, 1))
    order = DataOrder(4000, config.batch_size, config.seed)
    meta = step_training.load_checkpoint(run, trainer, order)
    assert meta["step"] == 3
    assert all(np.isfinite(weight).all() for weight in trainer.generator.get_weights())
    assert all(np.isfinite(weight).all() for weight in trainer.discriminator.get_weights())


def test_nan_through_the_cli_is_one_line(tmp_path, monkeypatch, capsys):
    with step_hook(monkeypatch, lambda call, real: real * np.float32("nan")):
        code = cli.main(["train", "gan", "--preset", "chapter", "--set", "dataset=mnist-5k", "--set", "steps=4",
                         "--set", "batch_size=16", "--set", "checkpoint_every=2", "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    assert "gan diverged at step 1" in cli_error(capsys)


# ------------------------------------------------------------------------------------ FLOPs


def conv_flops(layer) -> float:
    """2 x (output positions) x (kernel volume) x (output channels): from the built layer's shapes."""
    _, out_h, out_w, _ = layer.output.shape
    return 2.0 * out_h * out_w * float(np.prod(layer.kernel.shape))


def forward_flops(model) -> float:
    total = 0.0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            total += conv_flops(layer)
        elif isinstance(layer, keras.layers.Dense):
            total += 2.0 * float(np.prod(layer.kernel.shape))
    return total


def test_step_flops_by_hand():
    # The discriminator's first conv: 28x28x1 -> 14x14x64 with 5x5 kernels, stride 2.
    first_conv = 2 * 14 * 14 * (5 * 5 * 1) * 64
    assert first_conv == 627_200
    discriminator = gan.build_discriminator((28, 28, 1))
    convs = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Conv2D)]
    assert conv_flops(convs[0]) == first_conv
    # One more input channel adds exactly that conv's cost again (D: 2 fwd + 4 bwd passes per
    # image over 2*batch images, +2 passes in the G step) plus G's last conv per extra channel.
    g_last_conv = 2 * 28 * 28 * (5 * 5 * 16) * 1
    batch = 3
    extra = step_flops(32, batch, (28, 28, 2)) - step_flops(32, batch, (28, 28, 1))
    assert extra == pytest.approx(batch * (8 * first_conv + 4 * g_last_conv))


@pytest.mark.parametrize("latent_dim, batch", [(32, 1), (32, 128), (100, 64)])
def test_step_flops_match_the_built_networks(latent_dim, batch):
    d_forward = forward_flops(gan.build_discriminator((28, 28, 1)))
    g_forward = forward_flops(gan.build_generator(latent_dim, (28, 28, 1)))
    # D step: D forward + backward (3x forward) on 2*batch images, G forward on batch.
    # G step: G forward + backward (3x) and D forward + input gradients (2x) on batch.
    expected = 2 * batch * 3 * d_forward + batch * g_forward + batch * 3 * g_forward + batch * 2 * d_forward
    assert step_flops(latent_dim, batch) == pytest.approx(expected, rel=1e-12)


# ------------------------------------------------------------------------------------ sampling


def test_cli_sample_is_repeatable(gan_run, tmp_path, capsys):
    def sample(name, seed):
        npz = tmp_path / f"{name}.npz"
        code = cli.main(["sample", str(gan_run.path), "-n", "16", "--out", str(tmp_path / f"{name}.png"),
                         "--npz", str(npz), "--seed", str(seed)])
        assert code == 0
        assert (tmp_path / f"{name}.png").is_file()
        with np.load(npz) as saved:
            return saved["images"]

    first, second, other = sample("a", 3), sample("b", 3), sample("c", 4)
    assert first.shape == (16, 28, 28, 1) and first.dtype == np.float32
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert first.min() >= 0 and first.max() <= 1
    assert "16 images" in capsys.readouterr().out


def test_cli_interpolate_gan(gan_run, tmp_path):
    out = tmp_path / "lerp.png"
    assert cli.main(["interpolate", str(gan_run.path), "--steps", "6", "--seed", "1", "--out", str(out)]) == 0
    assert out.is_file()
