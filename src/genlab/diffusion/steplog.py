"""RUN/steps.csv, the diffusion family's loss curve: one row per `log_every` training steps
(step, the window's mean noise MSE, training seconds). An observer of fit (genlab.engine) writes
it (`StepLog`); the loss figure and train()'s seconds-per-step read it back (`read_steps`).
Kept apart from the trainer, which imports Keras, so that reading it needs no backend.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from genlab import engine


def read_steps(run) -> list[dict]:
    """The rows of RUN/steps.csv as dicts (step, loss, seconds); none when the file is absent; a line without three fields is skipped."""
    path = run.path / "steps.csv"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [{"step": int(step), "loss": float(loss), "seconds": float(seconds)}
            for step, loss, seconds in (line.split(",") for line in lines if line.count(",") == 2)]


class StepLog(engine.Observer):
    """The loss curve per `log_every` training steps (fit's own history is one row per epoch):
    RUN/steps.csv with step, the window's mean loss and the training seconds.

    A window holds the steps since the previous row of the same epoch (an epoch's steps after
    its last row are in no row, as before this was an observer); when the training ends, the
    steps after the last row get a row of their own, so a short run still has a loss curve."""

    def __init__(self, run, log_every: int):
        self.path, self.log_every = run.path / "steps.csv", log_every
        self.rows = read_steps(run)
        self.last_step, self.window, self.new_epoch = 0, (0.0, 0), False

    def train_begin(self, context: engine.Context) -> None:
        self.clock = context.clock
        self.last_step = context.start_step
        self.truncate(context.start_step)       # rows logged after the checkpoint being resumed from

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        if self.new_epoch:
            self.window, self.new_epoch = (0.0, 0), False
        # fit tells a compiled call's mean: it weighs as many steps as the call ran.
        count, (total, steps) = step - self.last_step, self.window
        self.window, self.last_step = (total + values.get("loss", math.nan) * count, steps + count), step
        if step % self.log_every == 0:
            self._close_window(step)

    def epoch_end(self, epoch: int, values: Mapping[str, float]) -> None:
        self.new_epoch = True   # the next step starts a new window (the last one may still end the training)

    def train_end(self, metrics: Mapping[str, Any]) -> None:
        total, steps = self.window
        if steps and math.isfinite(total):
            self._close_window(self.last_step)

    def _close_window(self, step: int) -> None:
        total, steps = self.window
        self.add(step, total / steps, self.clock.seconds())
        self.window = (0.0, 0)

    def truncate(self, step: int):
        self.rows = [row for row in self.rows if row["step"] <= step]

    def add(self, step: int, loss: float, seconds: float):
        from genlab import io

        self.rows.append({"step": step, "loss": loss, "seconds": seconds})
        io.write_text(self.path, "step,loss,seconds\n" + "".join(f"{row['step']},{row['loss']:.6g},{row['seconds']:.3f}\n"
                                                                 for row in self.rows))
