"""Several processes (hosts) training together: `initialize_processes` joins a multi-process
JAX job (jax.distributed, every wait bounded); `process_count`, `process_index`."""
from __future__ import annotations

import os

from genlab.backend.choice import name
from genlab.errors import GenlabError


def initialize_processes(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
                         timeout_s: int | None = None) -> int:
    """Join a multi-process JAX job (several hosts, or several processes on one); returns the
    number of processes (1 when none was asked for).

    Reads the environment variables keras.distribution.initialize reads
    (KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES,
    KERAS_DISTRIBUTION_PROCESS_ID) where an argument is None. It calls jax.distributed.initialize
    itself, as Keras does, because Keras passes no timeout: an unreachable coordinator would
    wait 300 s; here every wait is bounded by `timeout_s` (GENLAB_INIT_TIMEOUT, default 60)."""
    coordinator = coordinator or os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES") or None
    if coordinator and "," in coordinator:
        coordinator = coordinator.split(",")[0]   # Keras' form: every job's address, the first coordinates
    num_processes = num_processes if num_processes is not None else int(os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES") or 1)
    if num_processes <= 1:
        return 1
    if _PROCESSES.joined:   # once per process (jax.distributed refuses a second initialize)
        return num_processes
    if name() != "jax":
        raise GenlabError(f"several processes ({num_processes}) need --backend jax (keras.distribution); "
                          f"the {name()} backend trains on the devices of one host")
    process_id = process_id if process_id is not None else os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID")
    if coordinator is None or process_id is None:
        raise GenlabError("a multi-process run needs the coordinator's HOST:PORT and this process' id; "
                          "pass --coordinator HOST:PORT --num-processes N --process-id K (K = 0 on the coordinator)")
    process_id = int(process_id)
    if not 0 <= process_id < num_processes:
        raise GenlabError(f"--process-id {process_id} is out of range for {num_processes} processes; use 0..{num_processes - 1}")
    timeout_s = timeout_s or int(os.environ.get("GENLAB_INIT_TIMEOUT") or 60)
    failure = (f"process {process_id} of {num_processes} could not join the coordinator at {coordinator} within {timeout_s} s"
               "{detail}; start process 0 (--process-id 0) on that host:port with the same --num-processes, check that "
               "the port is open between the hosts, or raise GENLAB_INIT_TIMEOUT")
    if process_id > 0 and not _reachable(coordinator, timeout_s):
        # jax's client aborts the whole process (a C++ check failure, no Python exception) when
        # the coordinator never answers: look first, so the user gets one line instead.
        raise GenlabError(failure.format(detail=" (nothing listens there)"))
    import logging

    import jax

    if process_id == 0:
        # jax ends this process (a C++ fatal error, nothing Python can catch) when the others do
        # not arrive in time: say beforehand what is awaited and what to do.
        logging.getLogger("genlab.train").info(
            f"coordinator at {coordinator}: waiting up to {timeout_s} s for {num_processes - 1} more process(es); "
            "if they do not come, jax stops this process: start them with --coordinator "
            f"{coordinator} --num-processes {num_processes} --process-id 1..{num_processes - 1}")
    # CPU devices of several processes talk through gloo (the default transport is none on CPU).
    try:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except (AttributeError, ValueError):   # a jax without the option: GPUs/TPUs need none
        pass
    try:
        jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes, process_id=process_id,
                                   initialization_timeout=timeout_s, heartbeat_timeout_seconds=max(timeout_s, 10))
    except Exception as error:   # jax raises XlaRuntimeError/RuntimeError with a multi-line status
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise GenlabError(failure.format(detail=f" ({detail[:160]})")) from None
    _PROCESSES.joined = True
    return num_processes


class _PROCESSES:
    joined = False


def _reachable(address: str, timeout_s: float) -> bool:
    """Whether something accepts TCP connections at HOST:PORT within timeout_s (retried: the
    coordinator may start a moment after its workers)."""
    import socket
    import time

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise GenlabError(f"coordinator address '{address}' is not HOST:PORT; e.g. --coordinator 10.0.0.1:1234")
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=min(2.0, timeout_s)):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def process_count() -> int:
    """How many processes train together (1 unless `initialize_processes` joined a job)."""
    if not _PROCESSES.joined:
        return 1
    import jax

    return jax.process_count()


def process_index() -> int:
    """This process' index in a multi-process run (0: the one that writes the run folder)."""
    if not _PROCESSES.joined:
        return 0
    import jax

    return jax.process_index()
