"""`genlab bench backends`: seconds per training step of every family on every installed backend.

Keras reads its backend once per process, so each backend is measured in its own subprocess
(`python -m genlab.bench.worker`), which writes JSON; this process collects the records, prints
one table with each backend's ratio to the fastest for the family, and writes `--json`.

What is timed is each family's own training: `genlab.api.train` (the family's `train`, its
default network at its batch size, into a temporary folder) with a `StepTimer` observer
attached (genlab.engine), which reads the clock at each of the engine's read-backs:
- fit-trained families: after each compiled call (steps_per_execution batches: it is part of
  what a backend costs per step);
- step-trained families: after every step (the timer's `every` = 1 has the loop read each step
  back before the next).
The first call (tracing and compilation) is reported apart; then `warmup` - 1 more calls are
left out, and the median seconds per step of the timed calls is the figure compared. The timer
ends the training once it has them (nothing after the steps runs: no test-set figures).
"""
from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from genlab import engine
from genlab.errors import GenlabError

log = logging.getLogger("genlab.bench")

DEFAULT_TIMEOUT_S = 3600


# ---------------------------------------------------------------------------- pure: the comparison
def compare(records: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Each record ({"family", "backend", "seconds_per_step" or "skipped"/"error", ...}) with
    "ratio": its seconds per step over the family's fastest (1.0 for the fastest, None where not
    measured) and "fastest": whether it is that one. Ordered by family (first appearance), then
    backend (tensorflow, jax, torch)."""
    from genlab import backend

    best: dict[str, float] = {}
    for record in records:
        seconds = record.get("seconds_per_step")
        if seconds is not None and seconds > 0:
            best[record["family"]] = min(best.get(record["family"], math.inf), seconds)
    families = list(dict.fromkeys(record["family"] for record in records))
    order = {name: index for index, name in enumerate(backend.BACKENDS)}
    out = []
    for record in sorted(records, key=lambda r: (families.index(r["family"]), order.get(r["backend"], len(order)))):
        seconds = record.get("seconds_per_step")
        ratio = seconds / best[record["family"]] if seconds is not None and record["family"] in best else None
        out.append({**record, "ratio": ratio, "fastest": ratio == 1.0})
    return out


def winners(compared: Sequence[Mapping[str, Any]], by_architecture: bool = False) -> dict[str, dict[str, str]]:
    """{device kind: {family: fastest backend}}: what `--backend auto` ships (assets/backend_choice.json).
    by_architecture (a run with --set architecture=...): keys "family:architecture" where the
    family has one (the table's entries for a non-default network)."""
    out: dict[str, dict[str, str]] = {}
    for record in compared:
        if record.get("fastest"):
            key = f"{record['family']}:{record['architecture']}" if by_architecture and record.get("architecture") else record["family"]
            out.setdefault(record.get("device", "cpu"), {})[key] = record["backend"]
    return out


def table_rows(compared: Sequence[Mapping[str, Any]]) -> list[list]:
    """The printed table's rows: family, backend, device, batch, s/step, first call s, x fastest, note."""
    rows = []
    for record in compared:
        measured = record.get("seconds_per_step") is not None
        note = record.get("skipped") or record.get("error") or ("fastest" if record.get("fastest") else "")
        family = record["family"] + (f" ({record['architecture']})" if record.get("architecture") else "")
        rows.append([family, record["backend"], record.get("device", "-"), record.get("batch_size", "-"),
                     record["seconds_per_step"] if measured else "-",
                     record["first_call_s"] if record.get("first_call_s") is not None else "-",
                     f"{record['ratio']:.2f}x" if record.get("ratio") is not None else "-", note])
    return rows


HEADERS = ["family", "backend", "device", "batch", "s/step (median)", "first call s (compile)", "vs fastest", "note"]


# ---------------------------------------------------------------------------- the parent
def run_backends(families: Sequence[str], *, steps: int, warmup: int = 3, backends: Sequence[str] | None = None,
                 data_dir: str | None = None, overrides: Mapping[str, str] | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> list[dict]:
    """One subprocess per backend (installed ones; the others get a "skipped" record), each
    timing `families`; returns every (family, backend) record. A worker that fails or runs past
    `timeout_s` is reported in one line naming the backend; the families it finished are kept."""
    from genlab import backend

    installed = backend.installed_backends()
    records: list[dict] = []
    for name in backends or backend.BACKENDS:
        if name not in installed:
            records += [{"family": family, "backend": name, "skipped": f"not installed (pip install -e \".[{backend._EXTRAS[name]}]\")"}
                        for family in families]
            continue
        log.info(f"bench backends: {name}: {len(families)} families in a subprocess ({', '.join(families)})")
        found = _run_worker(name, families, steps=steps, warmup=warmup, data_dir=data_dir, overrides=overrides or {},
                            timeout_s=timeout_s)
        for family in families:
            record = found.get("families", {}).get(family)
            if record is None:
                record = {"family": family, "backend": name, "error": found.get("failure", "not measured")}
            records.append(record)
    return records


def _run_worker(name: str, families: Sequence[str], *, steps: int, warmup: int, data_dir, overrides, timeout_s) -> dict:
    import threading

    from genlab import backend

    with tempfile.TemporaryDirectory(prefix=f"genlab-bench-{name}-") as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "genlab.bench.worker", "--backend", name, "--families", ",".join(families),
                   "--steps", str(steps), "--warmup", str(warmup), "--json", str(out)]
        if data_dir:
            command += ["--data-dir", str(data_dir)]
        for key, value in overrides.items():
            command += ["--set", f"{key}={value}"]
        env = backend.subprocess_environment(name)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")]))
        lines: list[str] = []

        def relay(stream) -> None:
            # The worker's own progress lines reach the user as they come (a backend can take
            # minutes); everything else (library chatter) is kept only for a failure's last line.
            for line in stream:
                line = line.rstrip()
                if line:
                    lines.append(line)
                if line.startswith("genlab: bench backends: "):
                    log.info(line.removeprefix("genlab: "))

        failure = None
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                                   errors="replace")
        reader = threading.Thread(target=relay, args=(process.stdout,), daemon=True)
        reader.start()
        try:
            status = process.wait(timeout=timeout_s)
            if status != 0:
                reader.join(timeout=5)
                failure = f"exited with status {status}: {(lines or ['no output'])[-1][:200]}"
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            failure = f"did not finish within {timeout_s:.0f} s (raise --timeout)"
        reader.join(timeout=5)
        process.stdout.close()
        found = json.loads(out.read_text()) if out.is_file() else {}
        if failure:
            log.warning(f"bench backends: the {name} worker {failure}")
            found["failure"] = f"{name} worker {failure}"
        return found


def bench_backends(args) -> dict:
    """`genlab bench backends`: the CLI's arguments in, the table out, the results returned."""
    from genlab import config as _config
    from genlab import families as _families
    from genlab.console import table

    chosen = [name.strip() for name in (args.families or ",".join(_families.names())).split(",") if name.strip()]
    for name in chosen:
        _families.get(name)   # an unknown name: one line with the closest one
    from genlab import backend

    backends = [name.strip() for name in (getattr(args, "backends", None) or ",".join(backend.BACKENDS)).split(",") if name.strip()]
    for name in backends:
        if name not in backend.BACKENDS:
            raise GenlabError(f"unknown backend '{name}' in --backends; choose among {', '.join(backend.BACKENDS)}")
    steps = 20 if args.steps is None else args.steps   # (0 is an error, not the default)
    warmup = 3 if args.warmup is None else args.warmup
    if steps < 1 or warmup < 1:
        raise GenlabError(f"--steps and --warmup must be at least 1 (the first call compiles), not {steps} and {warmup}")
    timeout_s = DEFAULT_TIMEOUT_S if args.timeout is None else args.timeout
    if timeout_s <= 0:
        raise GenlabError(f"--timeout must be positive seconds, not {timeout_s}")
    overrides = _config.parse_sets(getattr(args, "sets", None) or [])
    known = {key for name in chosen for key in _config.field_names(_families.get(name).config_class)}
    for key in overrides:
        if key not in known:   # a typo would otherwise be silently left out of every family
            raise GenlabError(f"--set {key}: no config key '{key}' in {', '.join(chosen)}; keys: genlab config FAMILY")
    started = time.perf_counter()
    records = run_backends(chosen, steps=steps, warmup=warmup, backends=backends, data_dir=args.data_dir,
                           overrides=overrides, timeout_s=timeout_s)
    compared = compare(records)
    if not any(record.get("seconds_per_step") is not None for record in compared):
        raise GenlabError("bench backends measured nothing: " + "; ".join(
            sorted({f"{r['backend']}: {r.get('error') or r.get('skipped')}" for r in compared})))
    print(table(HEADERS, table_rows(compared),
                title=f"genlab bench backends: median of {steps} timed steps per family and backend, after "
                      f"{warmup} untimed call(s) (the first, with compilation, shown apart)"))
    return {"steps": steps, "warmup": warmup, "overrides": overrides, "results": compared,
            "fastest": winners(compared, by_architecture="architecture" in overrides), "wall_s": time.perf_counter() - started}


# ---------------------------------------------------------------------------- the worker (one backend)
class StepTimer(engine.Observer):
    """The clock read at each of the engine's read-backs: (seconds, steps) per compiled call.

    every = 1: the step loop reads every step back before the next (fit reads every call back
    anyway). The span across an epoch's end (validation, checkpoint) is not a call: the clock is
    read again after it. Once `warmup` calls and then calls holding `steps` steps are in, the
    training is ended (engine.StopTraining)."""
    every = 1

    def __init__(self, *, warmup: int, steps: int):
        self.warmup, self.steps = warmup, steps
        self.calls: list[tuple[float, int]] = []
        self.context: engine.Context | None = None

    def train_begin(self, context: engine.Context) -> None:
        self.context = context
        self.mark = (context.start_step, time.perf_counter())

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        now = time.perf_counter()
        last_step, last_time = self.mark
        self.calls.append((now - last_time, step - last_step))
        self.mark = (step, now)
        timed = self.calls[self.warmup:]
        if timed and sum(count for _, count in timed) >= self.steps:
            raise engine.StopTraining(f"{len(self.calls)} calls timed")

    def epoch_end(self, epoch: int, values: Mapping[str, float]) -> None:
        self.mark = (self.mark[0], time.perf_counter())

    def figures(self) -> tuple[float, list[tuple[float, int]]]:
        """(the first call's seconds, [(seconds per step, steps)] of each timed call)."""
        if not self.calls:
            raise GenlabError("the training ended before its first step was timed")
        timed = self.calls[self.warmup:] or self.calls[-1:]
        return self.calls[0][0], [(seconds / count, count) for seconds, count in timed]


def measure(family_name: str, *, steps: int, warmup: int = 3, data_dir=None, overrides: Mapping[str, str] | None = None) -> dict:
    """Seconds per training step of one family on the backend this process was started with.

    The family's own training (genlab.api.train, default preset, into a temporary folder) with
    a StepTimer attached. `overrides` (config keys -> values) apply where the family has the key
    (e.g. dataset, batch_size); its length (steps or epochs, Family.unit) is set long enough for
    every timed call, and the timer ends the training sooner."""
    from genlab import api, backend, families
    from genlab import config as _config

    family = families.get(family_name)
    known = set(_config.field_names(family.config_class))
    settings = {key: value for key, value in (overrides or {}).items() if key in known}
    warmup = max(int(warmup), 1)
    settings[family.unit] = warmup + steps   # every call is at least one step (or epoch): enough of them
    timer = StepTimer(warmup=warmup, steps=steps)
    with tempfile.TemporaryDirectory(prefix=f"genlab-bench-{family.name}-") as folder:
        with engine.observing(timer):
            try:
                api.train(family.name, overrides=settings, out=Path(folder) / "run", data_dir=data_dir, verbose=0)
            except engine.StopTraining:
                pass   # the timer has what it needs
        config = timer.context.config if timer.context is not None else None
    first, timings = timer.figures()
    return {"family": family.name, "backend": backend.name(), "device": backend.device_kind(),
            "batch_size": int(config.batch_size), "architecture": getattr(config, "architecture", None),
            "seconds_per_step": float(np.median([seconds for seconds, _ in timings])),
            "first_call_s": first, "timed_steps": int(sum(count for _, count in timings))}
