"""Ctrl-C and SIGTERM during training: stop at the next step boundary, keep what can be kept.

A signal that lands in the middle of a step (between the device's update and the loop's own step
counter) would leave the run's state and its step number out of step. So while a training loop
runs inside `deferred()`, the first SIGINT or SIGTERM only sets a flag; the loop looks at it after
each step (or each compiled call), writes a checkpoint there, and raises `Interrupted`. A second
signal interrupts at once, as usual. Outside training (and in other threads, where Python cannot
install handlers) signals keep their default behaviour, except SIGTERM, which the CLI turns into
`Interrupted` too (`install_terminate_handler`), so `kill PID` leaves the same trace as Ctrl-C.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}   # 128 + the signal's number, as shells report it


class Interrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C or SIGTERM. `signal_name` is "SIGINT" or "SIGTERM"; the message
    (set by genlab.api.train) says what was kept and how to go on."""

    def __init__(self, signal_name: str = "SIGINT", message: str = ""):
        super().__init__(message)
        self.signal_name = signal_name
        self.message = message

    def __str__(self) -> str:
        return self.message or f"interrupted ({self.signal_name})"


class Request:
    """What the deferred handler saw: the first signal's name, or None."""

    def __init__(self):
        self.signal_name: str | None = None

    @property
    def pending(self) -> bool:
        return self.signal_name is not None

    def raise_if_pending(self) -> None:
        if self.signal_name is not None:
            raise Interrupted(self.signal_name)


def _name(number: int) -> str:
    return signal.Signals(number).name


@contextlib.contextmanager
def deferred() -> Iterator[Request]:
    """While inside, the first SIGINT/SIGTERM sets `request.signal_name` instead of interrupting;
    a second one raises Interrupted at once. Outside the main thread: a request that never fires."""
    request = Request()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(number, frame):
        if request.signal_name is not None:
            raise Interrupted(_name(number))
        request.signal_name = _name(number)

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, handler)
    try:
        yield request
    finally:
        for number, old in previous.items():
            signal.signal(number, old if old is not None else signal.SIG_DFL)


def install_terminate_handler() -> None:
    """SIGTERM raises Interrupted("SIGTERM") (the default would end the process with no message
    and leave a run saying "status: running"). Main thread only; call once at start-up."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(number, frame):
        raise Interrupted(_name(number))

    signal.signal(signal.SIGTERM, handler)
