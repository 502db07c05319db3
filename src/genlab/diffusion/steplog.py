"""RUN/steps.csv, the diffusion family's loss curve: one row per `log_every` training steps
(step, the window's mean noise MSE, seconds since training began). The training callback writes
it (`StepLog`); the loss figure and train()'s seconds-per-step read it back (`read_steps`).
Kept apart from the trainer, which imports Keras, so that reading it needs no backend.
"""
from __future__ import annotations


def read_steps(run) -> list[dict]:
    """The rows of RUN/steps.csv as dicts (step, loss, seconds); none when the file is absent; a line without three fields is skipped."""
    path = run.path / "steps.csv"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [{"step": int(step), "loss": float(loss), "seconds": float(seconds)}
            for step, loss, seconds in (line.split(",") for line in lines if line.count(",") == 2)]


class StepLog:
    """The loss curve per `log_every` training steps (fit's own history is one row per epoch):
    RUN/steps.csv with step, the window's mean loss and seconds."""

    def __init__(self, run):
        self.path = run.path / "steps.csv"
        self.rows = read_steps(run)

    def truncate(self, step: int):
        self.rows = [row for row in self.rows if row["step"] <= step]

    def add(self, step: int, loss: float, seconds: float):
        from genlab import io

        self.rows.append({"step": step, "loss": loss, "seconds": seconds})
        io.write_text(self.path, "step,loss,seconds\n" + "".join(f"{row['step']},{row['loss']:.6g},{row['seconds']:.3f}\n"
                                                                 for row in self.rows))
