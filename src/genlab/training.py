"""Pieces shared by the families trained with `model.fit`: callbacks and the fit wrapper.
(The step-trained engine is genlab.step_training; backend-specific code is genlab.backend.)

Observers (genlab.engine) hear fit's batches and epochs through `EngineCallback`: a family's
own (`observers=`) and those attached with `engine.observing`."""
from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np

from genlab import engine, interrupts
from genlab.errors import DivergenceError


class StopOnSignal(keras.callbacks.Callback):
    """Ctrl-C / SIGTERM (genlab.interrupts.deferred): stop after the current batch. The unfinished
    epoch is neither logged nor checkpointed, so the last epoch checkpoint resumes exactly."""

    def __init__(self, request):
        super().__init__()
        self.request = request

    def on_train_batch_end(self, batch, logs=None):
        if self.request.pending:
            self.model.stop_training = True


class RunHistory(keras.callbacks.Callback):
    """Writes one history.csv row per epoch: epoch, every logged metric, seconds (of the training
    clock: an attached observer's time is not the epoch's)."""

    def __init__(self, run, clock: engine.Clock, request=None):
        super().__init__()
        self.run, self.clock, self.request = run, clock, request
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self.clock.seconds()

    def on_epoch_end(self, epoch, logs=None):
        if self.request is not None and self.request.pending:
            return   # an epoch cut short by a signal
        seconds = self.clock.seconds() - self._start
        self.epoch_seconds.append(seconds)
        row = {"epoch": epoch + 1}
        row.update({key: float(value) for key, value in (logs or {}).items()})
        row["seconds"] = seconds
        self.run.log(row)


class TimeBudget(keras.callbacks.Callback):
    """Stops fit once the run's training clock (resumed runs count their earlier time) reaches
    `seconds`, after the current call; the epoch it stops in is then partial (logged and
    checkpointed as an epoch)."""

    def __init__(self, clock: engine.Clock, seconds: float):
        super().__init__()
        self.clock, self.seconds, self.stopped = clock, seconds, False

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.seconds() >= self.seconds:
            self.stopped = True
            self.model.stop_training = True


class NanGuard(keras.callbacks.Callback):
    """Stops training at the first NaN/Inf loss; `fit` then raises a clear DivergenceError."""

    def __init__(self):
        super().__init__()
        self.bad_at: tuple[int, int] | None = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_at = (self._epoch + 1, batch + 1)
            self.model.stop_training = True


def tensorboard_callbacks(run) -> list:
    """TensorBoard event files in RUN/logs when the tensorboard package is installed (the cpu extra)."""
    from genlab import backend

    return backend.tensorboard_callbacks(run.logs)


class EpochCheckpoint(keras.callbacks.Callback):
    """After every finished epoch: checkpoints/epoch-NNNN.npz (model and optimizer variables).

    `--resume RUN` restarts from the last one (see `restore`). Skipped after a NaN, so a
    checkpoint always holds finite weights.
    """

    def __init__(self, run, guard: NanGuard, clock: engine.Clock, request=None):
        super().__init__()
        self.run, self.guard, self.clock, self.request = run, guard, clock, request

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.bad_at is not None or (self.request is not None and self.request.pending):
            return
        from genlab import checkpoints

        elapsed = self.clock.seconds()
        checkpoints.write(self.run, f"epoch-{epoch + 1:04d}", checkpoints.state_of(_variable_groups(self.model)),
                          {"epoch": epoch + 1, "elapsed_s": elapsed})


def _variable_groups(model) -> dict[str, list]:
    # `variables`, not `weights`: the former also holds Dropout seed-generator states.
    return {"model": model.variables, "optimizer": model.optimizer.variables}


def build_optimizer(model) -> None:
    """Create the optimizer's slots (and EMA copies) before fit's first step, with the call fit()
    itself makes, so a checkpoint's slots line up. Done up front because a model Keras cannot
    build symbolically (diffusion's trainer: a subclassed Model whose loss needs no targets) would
    otherwise create them inside the first traced step, and TensorFlow then traces the whole train
    step a second time (measured: the default U-Net's train-step tracing took 15.4 s, 5.9 s with
    this; the tiny test run's 10.2 s, 3.6 s)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def restore(run, model) -> tuple[int, float]:
    """Load RUN's last epoch checkpoint into a compiled model whose optimizer is built
    (`build_optimizer`): returns (epochs done, seconds spent)."""
    from genlab import checkpoints
    from genlab.errors import RunError

    meta = checkpoints.latest(run)
    if "epoch" not in meta:
        raise RunError(f"{run.path}'s checkpoint is not an epoch checkpoint; resume it with its own family")
    with checkpoints.arrays(run, meta) as arrays:
        checkpoints.assign(_variable_groups(model), arrays)
    run.truncate_history(lambda row: row["epoch"] <= meta["epoch"])   # rows logged after the checkpoint
    return int(meta["epoch"]), float(meta.get("elapsed_s", 0.0))


class EngineCallback(keras.callbacks.Callback):
    """fit's side of genlab.engine: tells observers what `fit` does.

    train_begin at the first fit call of the session (one per epoch in `fit_epochs`); step_end
    after each compiled call (steps_per_execution batches): `step` is the steps done so far and
    `values` each logged value's mean over the call, recovered from Keras' running means over
    the epoch; epoch_end after each finished epoch (1-based, as history.csv counts), with fit's
    logs. Keras reads every call's logs back anyway (genlab's NaN guard reads the loss), so
    this adds no host sync; train_end comes from the session, once fit is done."""

    def __init__(self, delivery: engine.Delivery, run, clock: engine.Clock, *, total: int, done: int, resumed: bool,
                 request=None):
        super().__init__()
        self.delivery, self.run, self.clock, self.request = delivery, run, clock, request
        self.total, self.done, self.resumed = total, done, resumed
        self.context: engine.Context | None = None
        self.epoch, self.previous = 0, ({}, 0)

    def on_train_begin(self, logs=None):
        if self.context is not None:
            return   # fit_epochs: a new fit call, the same training
        self.steps_per_epoch = int(self.params.get("steps") or 0)
        self.context = engine.Context(run=self.run, unit="epochs", total=self.total, start=self.done,
                                      start_step=self.done * self.steps_per_epoch, resumed=self.resumed, model=self.model,
                                      clock=self.clock)
        self.delivery.train_begin(self.context)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch, self.previous = epoch, ({}, 0)

    def on_train_batch_end(self, batch, logs=None):
        seen = batch + 1                                    # `batch`: the last batch of this call
        if self.steps_per_epoch:
            # Keras numbers an epoch's last, shorter call (steps_per_execution not dividing the
            # epoch) as a full one; the step told is the number of batches really done.
            seen = min(seen, self.steps_per_epoch)
        running = {key: float(value) for key, value in (logs or {}).items()}
        before, before_seen = self.previous
        values = {key: (mean * seen - before.get(key, 0.0) * before_seen) / (seen - before_seen)
                  for key, mean in running.items()}
        self.previous = (running, seen)
        self.delivery.step_end(self.epoch * self.steps_per_epoch + seen, values)

    def on_epoch_end(self, epoch, logs=None):
        if self.request is not None and self.request.pending:
            return   # an epoch cut short by a signal: neither logged nor checkpointed
        self.delivery.epoch_end(epoch + 1, {key: float(value) for key, value in (logs or {}).items()})


class _Session:
    """What `fit` and `fit_epochs` share: resume, genlab's callbacks, the clock, the timing figures."""

    def __init__(self, run, model, resume: bool, request, extra_callbacks=(), verbose: int = 1,
                 observers: Sequence[engine.Observer] = (), time_budget_s: float = 0.0):
        from genlab import progress

        self.run, self.request = run, request
        build_optimizer(model)
        self.done, self.elapsed_before = restore(run, model) if resume else (0, 0.0)
        self.clock = engine.Clock(self.elapsed_before)
        self.history, self.guard = RunHistory(run, self.clock, request), NanGuard()
        self.budget = TimeBudget(self.clock, time_budget_s) if time_budget_s else None
        self.callbacks = ([StopOnSignal(request), self.history, self.guard] + ([self.budget] if self.budget else []) + [
                           EpochCheckpoint(run, self.guard, self.clock, request)]
                          + list(extra_callbacks) + tensorboard_callbacks(run))
        # verbose > 0: one genlab bar over all epochs (Keras' own draws one per epoch and per fit
        # call), so Keras is told verbose=0. The total is the run's configured epochs, which a
        # one-fit-call-per-epoch loop cannot give Keras.
        self.keras_verbose = 0
        if verbose:
            self.callbacks.append(progress.EpochBar(run.family_name, total=self._epochs(), initial=self.done))
        # The family's observers and the attached ones, last: they hear of an epoch once it is
        # logged and checkpointed. None: no callback at all, so an unobserved fit is unchanged.
        self.delivery = engine.Delivery(housekeeping=observers)
        if self.delivery:
            self.callbacks.append(EngineCallback(self.delivery, run, self.clock, total=self._epochs(), done=self.done,
                                                 resumed=resume, request=request))
        progress.quiet_tensorflow()
        self.clock.restart()   # setting up is not training

    def _epochs(self) -> int:
        return int(self.run.read_header().get("config", {}).get("epochs", self.done + 1))

    def finish(self) -> dict:
        wall = self.clock.seconds()
        self.request.raise_if_pending()
        _raise_if_diverged(self.run, self.guard)
        # The first epoch includes graph tracing; leave it out of the per-epoch figure when we can.
        # A resume with no epoch left to train measures nothing: the run's earlier figure stays.
        seconds = self.history.epoch_seconds
        if self.budget is not None and self.budget.stopped:
            seconds = seconds[:-1]      # the epoch the budget cut short is no epoch's time
        steady = seconds[1:] if len(seconds) > 1 else seconds
        timing = {"train_wall_s": wall, **({"seconds_per_epoch": float(np.median(steady))} if steady else {}),
                  **({"stopped_by_time_budget": self.budget.stopped} if self.budget else {})}
        self.delivery.train_end(timing)
        return timing


def fit(model, run, x, y, *, epochs: int, batch_size: int, validation_data=None,
        validation_split: float = 0.0, shuffle: bool = True, verbose: int = 1,
        callbacks: list | None = None, resume: bool = False, observers: Sequence[engine.Observer] = (),
        time_budget_s: float = 0.0) -> dict:
    """model.fit with genlab's callbacks and epoch checkpoints; returns timing figures for metrics.json.
    time_budget_s > 0 stops training once the run has trained that long (TimeBudget).

    resume=True continues from the run's last finished epoch (weights and optimizer state; the
    shuffle order of later epochs is drawn afresh, so it is not bit-identical to an unbroken run).
    """
    with interrupts.deferred() as request:
        session = _Session(run, model, resume, request, callbacks or [], verbose=verbose, observers=observers,
                           time_budget_s=time_budget_s)
        model.fit(x, y, initial_epoch=session.done, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                  validation_split=validation_split, shuffle=shuffle, verbose=session.keras_verbose, callbacks=session.callbacks)
        return session.finish()


def fit_epochs(model, run, make_epoch_data, *, epochs: int, batch_size: int, validation_data=None,
               verbose: int = 1, resume: bool = False, observers: Sequence[engine.Observer] = ()) -> dict:
    """Like `fit`, but with new training data every epoch (e.g. fresh noise for a DAE).

    make_epoch_data(epoch) -> (x, y). One `model.fit` call per epoch; Keras keeps the compiled
    train function between calls, so the extra cost is small.
    """
    with interrupts.deferred() as request:
        session = _Session(run, model, resume, request, verbose=verbose, observers=observers)
        for epoch in range(session.done, epochs):
            x, y = make_epoch_data(epoch)
            model.fit(x, y, initial_epoch=epoch, epochs=epoch + 1, batch_size=batch_size, shuffle=True,
                      validation_data=validation_data, verbose=session.keras_verbose, callbacks=session.callbacks)
            if session.guard.bad_at is not None or request.pending:
                break
        return session.finish()


def _raise_if_diverged(run, guard: NanGuard) -> None:
    if guard.bad_at is None:
        return
    epoch, batch = guard.bad_at
    run.update_metrics({"status": "failed", "failure": f"non-finite loss at epoch {epoch}, batch {batch}"})
    raise DivergenceError(f"training diverged: the loss became NaN/Inf at epoch {epoch}, batch {batch}; "
                          "lower the learning rate (--set learning_rate=...) or check the data for NaNs")
