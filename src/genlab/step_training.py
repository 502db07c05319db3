"""The step-trained engine: a trainer's compiled step in a loop (the adversarial families; any
family that steps by hand, an energy-based model with its Langevin sampler say, uses it as is).

The loop only runs steps and tells observers (genlab.engine) what happened; everything around
the steps is an observer: the divergence guard (a check), then the history log, the family's
own observers (the adversarial families' progress grids) and the checkpoints (housekeeping).

    for step in 1..steps:
        outputs = trainer.step(*trainer.batch(images, labels, order.next_indices()))
        at a read-back step: step_end(step, values) for every step since the last read-back
            guard: NaN/Inf or exploding weights -> stop, or roll back to the last checkpoint
            history row every log_every, the family's grids, checkpoint every checkpoint_every

Results are read back only where some observer acts (a log, grid or checkpoint step, a multiple
of a watcher's `every`, the last step): in between the device runs ahead. With
steps_per_execution = k > 1, up to k consecutive steps run in one compiled call
(`trainer.steps`, a loop inside the graph), never across a read-back step; the updates are the
same, step for step.
"""
from __future__ import annotations

import contextlib
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np

from genlab import engine, interrupts
from genlab.errors import DivergenceError, RunError

log = logging.getLogger("genlab.train")

MAX_ROLLBACKS = 3
WEIGHT_LIMIT = 1e4   # any |weight| above this means the networks are exploding


class SteppedTrainer(Protocol):
    """What the loop needs of a trainer (genlab.adversarial.AdversarialTrainer is one)."""
    config: Any                         # steps, log_every, checkpoint_every, on_nan, seed, steps_per_execution
    seed_generator: Any                 # the step's randomness; a rollback moves it to a stream of its own
    step: Any                           # step(*batch) -> {name: scalar}: one compiled step
    steps: Any                          # steps(*stacked batches) -> {name: (k,)}: k steps in one call; None: one only

    @property
    def images_per_step(self) -> int: ...
    def batch(self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> tuple: ...
    def state(self) -> dict[str, np.ndarray]: ...
    def load_state(self, arrays: Mapping[str, np.ndarray]) -> None: ...
    def networks(self) -> tuple: ...                  # whose weights the guard checks
    def optimizers(self) -> tuple: ...                # whose learning rates a rollback halves
    def learning_rates(self) -> tuple[float, ...]: ...
    def flops_per_step(self) -> float | None: ...


# ---------------------------------------------------------------------------- data order
class DataOrder:
    """In-memory shuffled batches, reshuffled each pass; its state is part of a checkpoint."""

    def __init__(self, size: int, batch: int, seed: int):
        self.size, self.batch = size, batch
        self.rng = np.random.default_rng(seed)
        self.permutation = self.rng.permutation(size)
        self.position, self.epoch = 0, 0

    def next_indices(self) -> np.ndarray:
        if self.position + self.batch > self.size:
            self.permutation = self.rng.permutation(self.size)
            self.position, self.epoch = 0, self.epoch + 1
        indices = self.permutation[self.position:self.position + self.batch]
        self.position += self.batch
        return np.sort(indices)  # sorted gathers are cache-friendlier; the batch is the same set


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(run, trainer: SteppedTrainer, step: int, data_order: DataOrder, elapsed: float) -> Path:
    """checkpoints/step-NNNNNN.npz, then checkpoints/latest.json names it: complete or not at all."""
    from genlab import checkpoints

    arrays = trainer.state()
    arrays["data/permutation"] = data_order.permutation
    meta = {"step": step, "elapsed_s": elapsed, "data_position": data_order.position,
            "data_epoch": data_order.epoch, "rng_state": data_order.rng.bit_generator.state}
    return checkpoints.write(run, f"step-{step:06d}", arrays, meta)


def load_checkpoint(run, trainer: SteppedTrainer, data_order: DataOrder) -> dict:
    from genlab import checkpoints

    meta = checkpoints.latest(run)
    if "step" not in meta:
        raise RunError(f"{run.path}'s checkpoint is not a {run.family_name} step checkpoint; resume it with its own family")
    with checkpoints.arrays(run, meta) as arrays:
        trainer.load_state(arrays)
        data_order.permutation = arrays["data/permutation"]
    data_order.position, data_order.epoch = meta["data_position"], meta["data_epoch"]
    data_order.rng.bit_generator.state = meta["rng_state"]
    return meta


def state_digest(trainer: SteppedTrainer) -> str:
    """SHA-256 over every state array (sorted by name): equal digests, bitwise equal states."""
    import hashlib

    digest = hashlib.sha256()
    for key, value in sorted(trainer.state().items()):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


class Checkpoints(engine.Observer):
    """A checkpoint every `every` steps and at the last one; `last_good` is the newest written."""

    def __init__(self, run, trainer: SteppedTrainer, order: DataOrder, every: int, start_step: int):
        self.run, self.trainer, self.order, self.every = run, trainer, order, every
        self.last_good = start_step
        self.clock: engine.Clock | None = None
        self.total = 0

    def train_begin(self, context: engine.Context) -> None:
        self.clock, self.total = context.clock, context.total

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        if step % self.every == 0 or step == self.total:
            self.save(step, self.clock.seconds())

    def save(self, step: int, elapsed: float) -> None:
        save_checkpoint(self.run, self.trainer, step, self.order, elapsed)
        self.last_good = step

    def written(self) -> bool:
        return (self.run.checkpoints / "latest.json").is_file()


# ---------------------------------------------------------------------------- divergence guard
def divergence(values: Mapping[str, float], trainer: SteppedTrainer, check_weights: bool) -> str | None:
    """A description of what went wrong at this step, or None if all is well."""
    bad = [f"{key}={value}" for key, value in values.items() if not math.isfinite(value)]
    if bad:
        return "non-finite " + ", ".join(bad)
    if check_weights:
        from genlab import backend

        largest = max(float(np.max(np.abs(backend.to_numpy(variable)))) for model in trainer.networks()
                      for variable in model.trainable_variables)
        if not math.isfinite(largest) or largest > WEIGHT_LIMIT:
            return f"exploding weights (largest |w| = {largest:.3g})"
    return None


class Diverged(Exception):
    """The guard's finding at a step: the loop stops telling observers about it and recovers."""

    def __init__(self, problem: str, step: int):
        super().__init__(problem)
        self.problem, self.step = problem, step


class DivergenceGuard(engine.Observer):
    """Every step's values must be finite, and at each log step every weight below WEIGHT_LIMIT;
    otherwise the training stops (on_nan=stop) or rolls back to the last checkpoint with half
    the learning rate, up to MAX_ROLLBACKS times (on_nan=rollback)."""

    def __init__(self, run, trainer: SteppedTrainer, order: DataOrder, checkpoints: Checkpoints):
        self.run, self.trainer, self.order, self.checkpoints = run, trainer, order, checkpoints
        self.rollbacks = 0

    def train_begin(self, context: engine.Context) -> None:
        if self.trainer.config.on_nan == "rollback" and not self.checkpoints.written():
            self.checkpoints.save(context.start_step, context.clock.before)   # something to roll back to

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        problem = divergence(values, self.trainer, check_weights=False)
        if problem is None and step % self.trainer.config.log_every == 0:
            problem = divergence({}, self.trainer, check_weights=True)
        if problem is not None:
            raise Diverged(problem, step)

    def recover(self, diverged: Diverged) -> int:
        """The step to go on from after a rollback; a DivergenceError when none is allowed."""
        if self.trainer.config.on_nan != "rollback" or self.rollbacks >= MAX_ROLLBACKS:
            kept = (f"the last good checkpoint (step {self.checkpoints.last_good}) is kept; lower learning_rate and --resume"
                    if self.checkpoints.written() else
                    "no checkpoint had been written yet; start again with a lower learning_rate")
            raise DivergenceError(f"{self.run.family_name} diverged at step {diverged.step}: {diverged.problem}; {kept}, "
                                  "or use --set on_nan=rollback")
        self.rollbacks += 1
        return rollback(self.run, self.trainer, self.order, diverged.problem, self.rollbacks)


def rollback(run, trainer: SteppedTrainer, order: DataOrder, problem: str, count: int) -> int:
    """--on-nan=rollback: restore the last checkpoint, halve the learning rates once more per
    rollback, and continue on other noise and another data order.

    The checkpoint restores the optimizers' learning rates too, so the rate is set from the
    restored one times 0.5 ** count (1/2, 1/4, 1/8), not halved from the original each time;
    and since it also restores the noise and data-order states, those move to a stream of their
    own for each rollback, or every retry would replay the first one exactly."""
    from genlab.backend import to_numpy

    meta = load_checkpoint(run, trainer, order)
    restored = [float(to_numpy(optimizer.learning_rate)) for optimizer in trainer.optimizers()]
    if not all(math.isfinite(rate) and rate > 0 for rate in restored):
        # Halving cannot make an infinite or NaN rate finite: say so instead of retrying three times.
        raise DivergenceError(f"{problem}; the checkpoint's learning rates {restored} are not positive finite numbers, so a "
                              "rollback cannot help; start again with --set learning_rate=... (e.g. 0.0002)")
    factor = 0.5 ** count
    for optimizer in trainer.optimizers():
        optimizer.learning_rate.assign(float(to_numpy(optimizer.learning_rate)) * factor)
    seed = trainer.config.seed
    state = np.asarray(to_numpy(trainer.seed_generator.state))
    trainer.seed_generator.state.assign(np.array([seed, 1000 + count], dtype=state.dtype).reshape(state.shape))
    order.rng = np.random.default_rng([seed, 1000 + count])
    order.permutation, order.position = order.rng.permutation(order.size), 0
    run.truncate_history(lambda row: row["step"] <= meta["step"])
    rate = trainer.learning_rates()[-1]   # the last optimizer's (a GAN's generator)
    log.warning(f"{problem}; rolled back to step {meta['step']} with learning rate {rate:.3g} "
                f"(rollback {count}/{MAX_ROLLBACKS})")
    run.update_metrics({"rollbacks": count})
    return meta["step"]


# ---------------------------------------------------------------------------- history
class HistoryLog(engine.Observer):
    """history.csv and TensorBoard scalars: a row every `every` steps and at the last one, with
    each value's mean over the steps since the previous row and the training seconds; the
    progress bar's postfix shows the row's `postfix` values ((label, key) pairs)."""

    def __init__(self, every: int, progress, postfix: Sequence[tuple[str, str]] = ()):
        self.every, self.progress, self.postfix = every, progress, tuple(postfix)
        self.window: dict[str, list[float]] = {}

    def train_begin(self, context: engine.Context) -> None:
        from genlab import backend

        self.run, self.clock, self.total = context.run, context.clock, context.total
        self.scalars = backend.ScalarLog(context.run.logs / "train")

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        for key, value in values.items():
            self.window.setdefault(key, []).append(value)
        if step % self.every == 0 or step == self.total:
            row = {"step": step, **{key: float(np.mean(window)) for key, window in self.window.items()},
                   "seconds": self.clock.seconds()}
            self.run.log(row)
            self.scalars.write(step, {key: value for key, value in row.items() if key != "step"})
            if self.postfix:
                # refresh=False: in a log (CI, pipes) the bar's own interval decides when a line is written.
                self.progress.set_postfix(refresh=False, **{label: f"{row[key]:.3f}" for label, key in self.postfix})
            self.window = {}

    def rewound(self, step: int) -> None:
        self.window = {}   # the steps since the checkpoint are trained again


# ---------------------------------------------------------------------------- the loop
@dataclass
class Outcome:
    """What a finished loop leaves for the family: the figures metrics.json gets from it."""
    run: Any
    trainer: Any
    config: Any
    step: int
    start_step: int
    elapsed_before: float
    train_wall: float
    delivery: engine.Delivery
    digest: str | None

    def finish(self, dataset) -> dict:
        """metrics.json's figures, once the family has saved its models and figures (the history's
        last row is read here); tells the observers the training ended."""
        from genlab import backend

        config, trainer = self.config, self.trainer
        history = self.run.read_history()
        last = history[-1] if history else {}
        metrics = {"dataset": dataset.name, "data_source": dataset.source, "steps": config.steps, "train_wall_s": self.train_wall,
                   **{f"{key}_last": value for key, value in last.items() if key not in ("step", "seconds")}}
        if self.train_wall > self.elapsed_before:
            # What the loop's logging, progress grids, chapter strips and checkpoints cost this
            # invocation, as a share of its training time (the rest is the steps and their read-back).
            metrics["housekeeping_s"] = self.delivery.housekeeping_s
            metrics["housekeeping_share"] = self.delivery.housekeeping_s / (self.train_wall - self.elapsed_before)
        timed = [row for row in history if row["step"] > min(20, config.steps // 2)]
        if len(timed) > 1:
            metrics["seconds_per_step"] = (timed[-1]["seconds"] - timed[0]["seconds"]) / max(timed[-1]["step"] - timed[0]["step"], 1)
        elif self.step > self.start_step:
            metrics["seconds_per_step"] = (self.train_wall - self.elapsed_before) / (self.step - self.start_step)
        # (A resume that had nothing left to do measures no time: the run's earlier figure stays.)
        if backend.process_count() > 1:
            metrics.update({"processes": backend.process_count(), "state_sha256": self.digest})
        if getattr(config, "devices", 1) > 1:
            metrics["devices"] = config.devices
        flops = trainer.flops_per_step()
        if flops and "seconds_per_step" in metrics:
            metrics["gflops_per_s"] = flops / metrics["seconds_per_step"] / 1e9
        self.delivery.train_end(metrics)
        return metrics


def train(trainer: SteppedTrainer, config, run, images: np.ndarray, labels: np.ndarray, *, verbose: int = 1,
          resume: bool = False, observers: Sequence[engine.Observer] = (),
          postfix: Sequence[tuple[str, str]] = ()) -> Outcome:
    """Train `trainer` for config.steps steps into `run` (from its last checkpoint when `resume`).
    `observers` are the family's own housekeeping (told after the history log, before the
    checkpoint of the same step); watchers attached with engine.observing are told last."""
    from tqdm import tqdm

    from genlab import backend

    order = DataOrder(len(images), trainer.images_per_step, config.seed)
    start_step, elapsed_before = 0, 0.0
    if resume:
        meta = load_checkpoint(run, trainer, order)
        start_step, elapsed_before = meta["step"], meta["elapsed_s"]
        run.truncate_history(lambda row: row["step"] <= start_step)
    clock = engine.Clock(elapsed_before)
    # In a terminal the bar refreshes twice a second; in logs (CI, pipes) one line every 30 s.
    progress = tqdm(total=config.steps, initial=start_step, desc=run.family_name, unit="step", disable=verbose == 0,
                    dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30.0)
    checkpoints = Checkpoints(run, trainer, order, config.checkpoint_every, start_step)
    guard = DivergenceGuard(run, trainer, order, checkpoints)
    delivery = engine.Delivery(checks=[guard],
                               housekeeping=[HistoryLog(config.log_every, progress, postfix), *observers, checkpoints])
    context = engine.Context(run=run, unit="steps", total=config.steps, start=start_step, start_step=start_step,
                             resumed=resume, model=trainer, clock=clock, given_config=config)
    step = start_step
    pending: list[tuple[int, int, dict]] = []   # (last step, steps, outputs), not yet read back from the device
    boundaries = delivery.intervals()
    per_call = config.steps_per_execution if trainer.steps is not None else 1   # None: torch runs one step per call
    signals = contextlib.ExitStack()
    try:
        delivery.train_begin(context)
        request = signals.enter_context(interrupts.deferred())   # Ctrl-C / SIGTERM: stop at a step boundary
        while step < config.steps:
            # Up to per_call steps in one call, ending at the next step where anything happens.
            count = min(per_call, config.steps - step, *(every - step % every for every in boundaries))
            batches = [trainer.batch(images, labels, order.next_indices()) for _ in range(count)]
            if count == 1:
                outputs = trainer.step(*batches[0])
            else:
                outputs = trainer.steps(*(np.stack(parts) for parts in zip(*batches)))   # (count, batch, ...) each
            step += count
            pending.append((step, count, outputs))
            if step < config.steps and all(step % every for every in boundaries) and not request.pending:
                continue   # no host sync: the device runs ahead while Python prepares the next batch
            progress.update(sum(length for _, length, _ in pending))
            chunks, pending = pending, []
            diverged = None
            try:
                # The chunks' results are read back once; every step is told in order, the guard
                # first, so nothing is logged, drawn or checkpointed past a bad step.
                for last_step, length, outputs in chunks:
                    arrays = {key: np.asarray(backend.to_numpy(value), dtype=np.float64).reshape(length)   # detached on torch
                              for key, value in outputs.items()}
                    for index in range(length):
                        delivery.step_end(last_step - length + 1 + index, {key: float(array[index]) for key, array in arrays.items()})
            except Diverged as found:
                diverged = found
            if diverged is not None:
                step = guard.recover(diverged)   # or a DivergenceError
                progress.n = step
                delivery.rewound(step)
                continue
            if request.pending:
                # A step boundary: the state and `step` agree, so this checkpoint resumes exactly.
                if checkpoints.last_good != step or not checkpoints.written():
                    checkpoints.save(step, clock.seconds())
                request.raise_if_pending()
    except DivergenceError as error:
        run.update_metrics({"status": "failed", "failure": str(error), "last_good_checkpoint": checkpoints.last_good})
        raise
    finally:
        progress.close()
        signals.close()
    train_wall = clock.seconds()
    digest = None
    if backend.process_count() > 1:
        # Every process holds the same replicated state; the digest lets anyone check that.
        digest = state_digest(trainer)
        log.info(f"process {backend.process_index()} of {backend.process_count()}: final state sha256 {digest}")
    return Outcome(run=run, trainer=trainer, config=config, step=step, start_step=start_step, elapsed_before=elapsed_before,
                   train_wall=train_wall, delivery=delivery, digest=digest)
