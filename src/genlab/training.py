"""Pieces shared by the families trained with `model.fit`: callbacks and the fit wrapper.
(The adversarial families' loop is genlab.adversarial; backend-specific code is genlab.backend.)"""
from __future__ import annotations

import math
import time

import keras
import numpy as np

from genlab import interrupts
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
    """Writes one history.csv row per epoch: epoch, every logged metric, seconds."""

    def __init__(self, run, request=None):
        super().__init__()
        self.run, self.request = run, request
        self.epoch_seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.request is not None and self.request.pending:
            return   # an epoch cut short by a signal
        seconds = time.perf_counter() - self._start
        self.epoch_seconds.append(seconds)
        row = {"epoch": epoch + 1}
        row.update({key: float(value) for key, value in (logs or {}).items()})
        row["seconds"] = seconds
        self.run.log(row)


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

    def __init__(self, run, guard: NanGuard, elapsed_before: float = 0.0, request=None):
        super().__init__()
        self.run, self.guard, self.elapsed_before, self.request = run, guard, elapsed_before, request
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.guard.bad_at is not None or (self.request is not None and self.request.pending):
            return
        from genlab import checkpoints

        elapsed = self.elapsed_before + time.perf_counter() - self._started
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


class _Session:
    """What `fit` and `fit_epochs` share: resume, genlab's callbacks, the clock, the timing figures."""

    def __init__(self, run, model, resume: bool, request, extra_callbacks=(), verbose: int = 1):
        from genlab import progress

        self.run, self.request = run, request
        build_optimizer(model)
        self.done, self.elapsed_before = restore(run, model) if resume else (0, 0.0)
        self.history, self.guard = RunHistory(run, request), NanGuard()
        self.callbacks = ([StopOnSignal(request), self.history, self.guard,
                           EpochCheckpoint(run, self.guard, self.elapsed_before, request)]
                          + list(extra_callbacks) + tensorboard_callbacks(run))
        # verbose > 0: one genlab bar over all epochs (Keras' own draws one per epoch and per fit
        # call), so Keras is told verbose=0. The total is the run's configured epochs, which a
        # one-fit-call-per-epoch loop cannot give Keras.
        self.keras_verbose = 0
        if verbose:
            epochs = int(run.read_header().get("config", {}).get("epochs", self.done + 1))
            self.callbacks.append(progress.EpochBar(run.family_name, total=epochs, initial=self.done))
        progress.quiet_tensorflow()
        self.started = time.perf_counter()

    def finish(self) -> dict:
        wall = self.elapsed_before + time.perf_counter() - self.started
        self.request.raise_if_pending()
        _raise_if_diverged(self.run, self.guard)
        # The first epoch includes graph tracing; leave it out of the per-epoch figure when we can.
        # A resume with no epoch left to train measures nothing: the run's earlier figure stays.
        seconds = self.history.epoch_seconds
        steady = seconds[1:] if len(seconds) > 1 else seconds
        return {"train_wall_s": wall, **({"seconds_per_epoch": float(np.median(steady))} if steady else {})}


def fit(model, run, x, y, *, epochs: int, batch_size: int, validation_data=None,
        validation_split: float = 0.0, shuffle: bool = True, verbose: int = 1,
        callbacks: list | None = None, resume: bool = False) -> dict:
    """model.fit with genlab's callbacks and epoch checkpoints; returns timing figures for metrics.json.

    resume=True continues from the run's last finished epoch (weights and optimizer state; the
    shuffle order of later epochs is drawn afresh, so it is not bit-identical to an unbroken run).
    """
    with interrupts.deferred() as request:
        session = _Session(run, model, resume, request, callbacks or [], verbose=verbose)
        model.fit(x, y, initial_epoch=session.done, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                  validation_split=validation_split, shuffle=shuffle, verbose=session.keras_verbose, callbacks=session.callbacks)
        return session.finish()


def fit_epochs(model, run, make_epoch_data, *, epochs: int, batch_size: int, validation_data=None,
               verbose: int = 1, resume: bool = False) -> dict:
    """Like `fit`, but with new training data every epoch (e.g. fresh noise for a DAE).

    make_epoch_data(epoch) -> (x, y). One `model.fit` call per epoch; Keras keeps the compiled
    train function between calls, so the extra cost is small.
    """
    with interrupts.deferred() as request:
        session = _Session(run, model, resume, request, verbose=verbose)
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
