"""genlab.engine: one observer protocol for the step loop and fit (the step loop's side is also
tested through bench quality's observer in test_bench_quality.py and bench backends' timer in
test_bench_backends.py)."""
from __future__ import annotations

import math
import threading

import pytest

from genlab import engine
from genlab.errors import ConfigError


class Recorder(engine.Observer):
    """Everything an engine tells it, in order."""

    def __init__(self):
        self.events = []

    def train_begin(self, context):
        self.context = context
        self.events.append(("train_begin", context.unit, context.start))

    def step_end(self, step, values):
        self.events.append(("step_end", step, dict(values)))

    def epoch_end(self, epoch, values):
        self.events.append(("epoch_end", epoch, dict(values)))

    def train_end(self, metrics):
        self.events.append(("train_end", dict(metrics)))


def test_observing_attaches_for_the_block_only_and_not_to_other_threads():
    first, second = engine.Observer(), engine.Observer()
    seen_elsewhere = []
    with engine.observing(first):
        with engine.observing(second):
            assert engine.attached() == (first, second)
            thread = threading.Thread(target=lambda: seen_elsewhere.append(engine.attached()))
            thread.start()
            thread.join()
        assert engine.attached() == (first,)
    assert engine.attached() == () and seen_elsewhere == [()]
    odd = engine.Observer()
    odd.every = -1
    with pytest.raises(ConfigError, match="every must be a whole number"):
        with engine.observing(odd):
            pass


def test_a_paused_clock_leaves_the_pause_out():
    clock = engine.Clock(10.0)
    with clock.paused():
        inside = clock.seconds()
        with clock.paused():            # nested: still the first pause
            assert clock.seconds() == inside
    assert 10.0 <= inside <= clock.seconds()


def test_fit_tells_observers_every_call_and_epoch(tmp_path):
    """A dense classifier, 2 epochs of 16 batches (4000 mnist-5k images, batch 256, one batch per
    call): 32 step_end calls counting steps across epochs, each epoch's mean of the calls' values
    is fit's epoch figure (the last batch has 160 images, so up to that weighting), and the run's
    history is that of an unobserved run."""
    from conftest import tiny_run

    settings = dict(architecture="dense", epochs=2, batch_size=256, validation_split=0.0)
    plain = tiny_run("classifier", tmp_path / "plain", **settings)
    recorder = Recorder()
    with engine.observing(recorder):
        observed = tiny_run("classifier", tmp_path / "observed", **settings)
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["train_begin"] + ["step_end"] * 16 + ["epoch_end"] + ["step_end"] * 16 + ["epoch_end", "train_end"]
    assert recorder.events[0] == ("train_begin", "epochs", 0)
    assert recorder.context.config.epochs == 2 and recorder.context.total == 2 and recorder.context.model is not None
    steps = [event[1] for event in recorder.events if event[0] == "step_end"]
    assert steps == list(range(1, 33))
    history = observed.read_history()
    for epoch, row in zip((1, 2), history):
        calls = [event[2]["loss"] for event in recorder.events if event[0] == "step_end" and (event[1] - 1) // 16 == epoch - 1]
        assert math.fsum(calls) / 16 == pytest.approx(row["loss"], rel=0.02)
    assert [event[1] for event in recorder.events if event[0] == "epoch_end"] == [1, 2]
    assert "train_wall_s" in recorder.events[-1][1]
    assert [row["loss"] for row in history] == [row["loss"] for row in plain.read_history()]


def test_an_observer_can_end_a_training_at_once(tmp_path):
    from conftest import tiny_run

    class StopAtThree(engine.Observer):
        def step_end(self, step, values):
            if step == 3:
                raise engine.StopTraining("enough")

    with engine.observing(StopAtThree()), pytest.raises(engine.StopTraining):
        tiny_run("classifier", tmp_path / "run", architecture="dense", epochs=1, batch_size=256)
    assert not (tmp_path / "run" / "model.keras").exists()    # nothing after the step ran


def test_diffusion_step_log_rows_are_window_means_of_the_calls_it_is_told(tmp_path):
    """The diffusion loss curve as an observer, fed by hand: calls of 2 steps (values: the call's
    mean), log_every 4, epochs of 5 steps. A window is the steps since the previous row of the same
    epoch (step 5, after the row at 4, is in no row); the end writes the steps after the last row."""
    from types import SimpleNamespace

    from genlab.diffusion.steplog import StepLog, read_steps

    run = SimpleNamespace(path=tmp_path)
    log = StepLog(run, log_every=4)
    clock = engine.Clock()
    log.train_begin(engine.Context(run=run, unit="epochs", total=2, start=0, start_step=0, resumed=False, model=None,
                                   clock=clock))
    for step, loss in ((2, 1.0), (4, 3.0), (5, 10.0)):
        log.step_end(step, {"loss": loss})
    log.epoch_end(1, {"loss": 0.0})
    for step, loss in ((7, 4.0), (9, 6.0)):
        log.step_end(step, {"loss": loss})
    log.epoch_end(2, {"loss": 0.0})
    log.train_end({})
    assert [(row["step"], row["loss"]) for row in read_steps(run)] == [(4, 2.0), (9, 5.0)]
    # A resume from step 4 keeps the rows up to it and writes on after them.
    resumed = StepLog(run, log_every=4)
    resumed.train_begin(engine.Context(run=run, unit="epochs", total=3, start=1, start_step=4, resumed=True, model=None,
                                       clock=clock))
    resumed.step_end(8, {"loss": 7.0})
    assert [(row["step"], row["loss"]) for row in read_steps(run)] == [(4, 2.0), (8, 7.0)]
