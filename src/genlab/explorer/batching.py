"""One network call for many students: the explorer's requests to a model, gathered.

Drawing one 28 x 28 image is microseconds of arithmetic; what a request costs is the call around
it. When a class asks at once, each request would pay that call for itself, one after another.
A `Batcher` stands in front of a latent space's `decode`: a request puts its points in a queue
and waits (in its thread, or awaited on an event loop: `call_async`); one worker thread per model
takes the first waiting request, gathers whatever else arrives within `window_s` (2 ms) up to
`max_rows` points, concatenates their points (and labels), decodes them in one call and hands each
request its own rows back. Requests that arrive while a call runs wait for the next one, so under
load the calls grow by themselves; a lone request waits the window and no more.

- Results do not change: a row of a batched call is the image the point gets on its own (the
  networks are per-image: inference-mode batch normalization, no batch statistics), which
  tests/test_explorer.py checks through the running app.
- Requests are batched only with requests alike: the same decode options (a diffusion run's
  steps and guidance) and labels given or not; others wait for the next call.
- One request's bad input fails that request alone: when a batched call raises, each of its
  requests is decoded on its own, so each gets its own result or its own error.
- Memory stays flat: no cache, nothing kept after a call (the rows of a batch are at most
  `max_rows` images); the worker thread is a daemon that sleeps on its queue when idle.
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

WINDOW_S = 0.002            # how long the first request of a call waits for others to join it
MAX_ROWS = 64               # points in one call at most (a bigger request is a call of its own)


@dataclass(eq=False)             # compared by identity (its arrays have no single truth value)
class _Request:
    points: np.ndarray
    labels: np.ndarray | None
    options: dict
    key: tuple
    future: Future = field(default_factory=Future)


@dataclass
class BatchStats:
    """What the batcher did (tests, and a look at how it behaves under load)."""
    calls: int = 0                 # network calls made
    requests: int = 0              # requests answered
    largest: int = 0               # most requests in one call


class Batcher:
    """Callable like the decode it wraps: `batcher(points, labels=None, **options)`; concurrent
    callers are answered from shared calls of `decode`."""

    def __init__(self, decode: Callable[..., np.ndarray], *, window_s: float = WINDOW_S, max_rows: int = MAX_ROWS,
                 name: str = "decode"):
        self.decode, self.window_s, self.max_rows, self.name = decode, float(window_s), int(max_rows), name
        self.stats = BatchStats()
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._held: list[_Request] = []         # taken from the queue but left for the next call
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def __call__(self, points, labels=None, **options) -> np.ndarray:
        return self._submit(points, labels, options).result()

    async def call_async(self, points, labels=None, **options) -> np.ndarray:
        """The same, awaited: the caller waits on its event loop, not in a thread of its own."""
        import asyncio

        return await asyncio.wrap_future(self._submit(points, labels, options))

    def _submit(self, points, labels, options: dict) -> Future:
        points = np.asarray(points, np.float32)
        labels = None if labels is None else np.asarray(labels).reshape(-1)
        key = (labels is None, tuple(sorted((name, _hashable(value)) for name, value in options.items())))
        request = _Request(points, labels, options, key)
        self._start()
        self._queue.put(request)
        return request.future

    # ------------------------------------------------------------------ the worker
    def _start(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, name=f"genlab-batcher-{self.name}", daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        while True:
            batch: list[_Request] = []
            try:
                self._gather(batch)
                self._run(batch)
            except BaseException as error:  # noqa: BLE001 - the worker lives on; its callers hear of it
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)

    def _gather(self, batch: list[_Request]) -> None:
        """The next call's requests, into `batch`: the first waiting one and those alike that
        arrive within the window, up to max_rows points."""
        first = self._held.pop(0) if self._held else self._queue.get()
        batch.append(first)
        rows = len(first.points)
        deadline = time.monotonic() + self.window_s
        # Requests alike that were held back from the last call join first, then new arrivals.
        for waiting in [request for request in self._held if request.key == first.key]:
            if rows + len(waiting.points) > self.max_rows:
                break
            self._held.remove(waiting)
            batch.append(waiting)
            rows += len(waiting.points)
        while rows < self.max_rows:
            remaining = deadline - time.monotonic()
            try:
                request = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if request.key != first.key or rows + len(request.points) > self.max_rows:
                self._held.append(request)       # the next call's
                continue
            batch.append(request)
            rows += len(request.points)

    def _run(self, batch: list[_Request]) -> None:
        first = batch[0]
        try:
            if len(batch) == 1:
                outputs = [self.decode(first.points, first.labels, **first.options)]
            else:
                points = np.concatenate([request.points for request in batch])
                labels = None if first.labels is None else np.concatenate([request.labels for request in batch])
                images = np.asarray(self.decode(points, labels, **first.options))
                if len(images) != len(points):
                    raise ValueError(f"decode gave {len(images)} images for {len(points)} points")
                bounds = np.cumsum([0] + [len(request.points) for request in batch])
                outputs = [images[start:end] for start, end in zip(bounds[:-1], bounds[1:])]
        except BaseException as error:  # noqa: BLE001 - each request then gets its own answer
            if len(batch) == 1:
                first.future.set_exception(error)
                self._count(1)
                return
            for request in batch:
                self._run([request])
            return
        for request, output in zip(batch, outputs):
            request.future.set_result(output)
        self._count(len(batch))

    def _count(self, requests: int) -> None:
        self.stats.calls += 1
        self.stats.requests += requests
        self.stats.largest = max(self.stats.largest, requests)


def _hashable(value: Any):
    if isinstance(value, np.ndarray):
        return (value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    return value
