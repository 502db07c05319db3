"""One observer protocol for genlab's two training engines.

genlab trains in one of two ways: a loop over a trainer's compiled step (genlab.step_training:
the adversarial families, and any family that steps by hand) or Keras' `model.fit`
(genlab.training: classifier, autoencoders, diffusion). Both tell the same `Observer`s what
happens, so a watcher is written once and sees either engine:

    train_begin(context)          once, before the first step (context: run, config, unit, clock, model)
    step_end(step, values)        after a step whose results the engine read back
    epoch_end(epoch, values)      after a finished epoch (fit only)
    rewound(step)                 training went back to `step` (a divergence rollback)
    train_end(metrics)            after the last step, with the engine's figures for metrics.json

`values` are the step's logged values as floats, read where the engine reads its results back
anyway: observing adds no host sync. The step loop reads back at every log, grid or checkpoint
step and at every multiple of an observer's `every`; fit after every compiled call (genlab's
NaN guard reads each call's loss).

Observers reach a training in two ways. An engine's own (the step loop's history log,
checkpoints, progress grids and divergence guard; a family's step log) are given to it by the
code that trains. Anyone else attaches observers to every training started inside
`with engine.observing(*observers):` (a benchmark timing steps or scoring samples); their time
is taken off the training clock. Nothing here imports Keras.
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Mapping, Sequence

from genlab.errors import ConfigError

Unit = Literal["steps", "epochs"]


class StopTraining(Exception):
    """Raised by an observer to end the training at once: nothing after the current step runs
    (no final models, figures or metrics; the run folder is left as it is). The code that
    started the training catches it (e.g. a benchmark that has all the timings it needs)."""


class Clock:
    """A run's training seconds: those of earlier invocations (a resume) plus this one's, less
    the time spent inside `paused()` (observers that are not part of the training)."""

    def __init__(self, before: float = 0.0):
        self.before = before
        self._started = time.perf_counter()
        self._paused_at: float | None = None

    def restart(self) -> None:
        """Count from now: what came before (setting up) was not training."""
        self._started = time.perf_counter()

    def seconds(self) -> float:
        """Training seconds so far; while paused, the reading at the pause."""
        now = self._paused_at if self._paused_at is not None else time.perf_counter()
        return self.before + now - self._started

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        if self._paused_at is not None:   # already paused by an enclosing call
            yield
            return
        self._paused_at = time.perf_counter()
        try:
            yield
        finally:
            self._started += time.perf_counter() - self._paused_at
            self._paused_at = None


@dataclass
class Context:
    """What an observer may know about the training it watches."""
    run: Any                            # genlab.runs.Run being trained into
    unit: Unit                          # what the run's length counts
    total: int                          # the run's length: steps or epochs
    start: int                          # units already done before this invocation (a resume)
    start_step: int                     # steps already done before this invocation
    resumed: bool                       # this invocation continues from a checkpoint
    model: Any                          # what trains: the step loop's trainer, or the Keras model fit trains
    clock: Clock
    given_config: Any = field(default=None, repr=False)

    @property
    def config(self) -> Any:
        """The family's config dataclass: the one the engine was given, else the run's config.toml."""
        if self.given_config is None:
            from genlab import config as _config
            from genlab import families

            self.given_config = _config.load_run_config(self.run.path / "config.toml", families.get(self.run.family_name))
        return self.given_config


class Observer:
    """The hooks an engine calls; each does nothing unless overridden.

    `every`: a positive value asks the step loop to read results back (and call `step_end`) at
    least at every multiple of it, a host sync there; 0 takes only the engine's own read-backs.
    fit reads back every call whatever it is."""
    every: int = 0

    def train_begin(self, context: Context) -> None:
        pass

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        pass

    def epoch_end(self, epoch: int, values: Mapping[str, float]) -> None:
        pass

    def rewound(self, step: int) -> None:
        pass

    def train_end(self, metrics: Mapping[str, Any]) -> None:
        pass


# ---------------------------------------------------------------------------- attaching watchers
# A context variable, not a module list: observers attached in one thread (or asyncio task) are
# not seen by a training running in another, and leaving the `with` block always detaches them.
_ATTACHED: contextvars.ContextVar[tuple[Observer, ...]] = contextvars.ContextVar("genlab_engine_observers", default=())


@contextlib.contextmanager
def observing(*observers: Observer) -> Iterator[None]:
    """Every training started inside the block also tells these observers; their time is not
    training time (the run's clock, its history "seconds" and train_wall_s, leave it out)."""
    for observer in observers:
        if not isinstance(observer.every, int) or observer.every < 0:
            raise ConfigError(f"{type(observer).__name__}.every must be a whole number of steps, 0 or more, not {observer.every!r}")
    token = _ATTACHED.set(_ATTACHED.get() + tuple(observers))
    try:
        yield
    finally:
        _ATTACHED.reset(token)


def attached() -> tuple[Observer, ...]:
    """The observers attached by the enclosing `observing` blocks, outermost first."""
    return _ATTACHED.get()


# ---------------------------------------------------------------------------- delivery
class Delivery:
    """Tells a training's observers what happened, always in this order: the training's checks
    (the divergence guard: a check that raises stops the others hearing of the step), its
    housekeeping (history, grids, checkpoints: their time is summed in `housekeeping_s`), then
    the watchers attached with `observing` (their time is taken off the clock)."""

    def __init__(self, checks: Sequence[Observer] = (), housekeeping: Sequence[Observer] = (),
                 watchers: Sequence[Observer] | None = None):
        self.checks, self.housekeeping = list(checks), list(housekeeping)
        self.watchers = list(attached() if watchers is None else watchers)
        self.housekeeping_s = 0.0
        self.clock: Clock | None = None

    def __bool__(self) -> bool:
        return bool(self.checks or self.housekeeping or self.watchers)

    def intervals(self) -> list[int]:
        """Every positive `every`: the steps where the step loop must read results back."""
        return [observer.every for observer in (*self.checks, *self.housekeeping, *self.watchers) if observer.every > 0]

    def train_begin(self, context: Context) -> None:
        # Before the first step, and not training time (a first progress grid, say).
        self.clock = context.clock
        with context.clock.paused():
            for observer in (*self.checks, *self.housekeeping, *self.watchers):
                observer.train_begin(context)

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        self._tell("step_end", step, values)

    def epoch_end(self, epoch: int, values: Mapping[str, float]) -> None:
        self._tell("epoch_end", epoch, values)

    def rewound(self, step: int) -> None:
        self._tell("rewound", step)

    def train_end(self, metrics: Mapping[str, Any]) -> None:
        self._tell("train_end", metrics)

    def _tell(self, hook: str, *arguments: Any) -> None:
        for observer in self.checks:
            getattr(observer, hook)(*arguments)
        if self.housekeeping:
            started = time.perf_counter()
            for observer in self.housekeeping:
                getattr(observer, hook)(*arguments)
            self.housekeeping_s += time.perf_counter() - started
        if self.watchers:
            with self.clock.paused() if self.clock is not None else contextlib.nullcontext():
                for observer in self.watchers:
                    getattr(observer, hook)(*arguments)
