"""RUN/steps.csv for the flow: genlab.diffusion.steplog's StepLog (a row per `log_every`
updates: the window's mean bits/dim and the training seconds), with a row whenever `log_every`
updates have passed since the last one rather than at multiples of it: an epoch of N images
ends with a shorter compiled call, after which the update count is seldom a multiple again."""
from __future__ import annotations

import math
from typing import Mapping

from genlab.diffusion.steplog import StepLog


class FlowStepLog(StepLog):
    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        if self.new_epoch:
            self.window, self.new_epoch = (0.0, 0), False
        count, (total, steps) = step - self.last_step, self.window
        self.window, self.last_step = (total + values.get("loss", math.nan) * count, steps + count), step
        last_row = self.rows[-1]["step"] if self.rows else 0
        if step - last_row >= self.log_every:
            self._close_window(step)
