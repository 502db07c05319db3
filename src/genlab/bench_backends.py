"""`genlab bench backends`: seconds per training step of every family on every installed backend.

Keras reads its backend once per process, so each backend is measured in its own subprocess
(`python -m genlab.bench_worker`), which writes JSON; this process collects the records, prints
one table with each backend's ratio to the fastest for the family, and writes `--json`.

What is timed is each family's real default network at its real batch size, trained the way
`genlab train` trains it:
- fit-trained families (classifier, ae, dae, vae, diffusion): `model.fit` over in-memory
  batches with the family's own compile settings (steps_per_execution included: it is part of
  what a backend costs per step); a callback reads the clock after each compiled call.
- adversarial families (gan, cgan, wgan-gp): the trainer's compiled step
  (`backend.compile_step`), each step read back before the next.
The first call (tracing and compilation) is reported apart; then `warmup` - 1 more calls are
left out, and the median seconds per step of the timed calls is the figure compared.
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

from genlab.errors import GenlabError

log = logging.getLogger("genlab.bench")

# The adversarial families' trainers (their own step, compiled by backend.compile_step).
_TRAINERS = {"gan": ("genlab.families.gan", "GANTrainer"), "cgan": ("genlab.families.cgan", "CGANTrainer"),
             "wgan-gp": ("genlab.families.wgan_gp", "WGANGPTrainer")}
DEFAULT_TIMEOUT_S = 3600


# ---------------------------------------------------------------------------- pure: the comparison
def compare(records: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Each record ({"family", "backend", "seconds_per_step" or "skipped"/"error", ...}) with
    "ratio": its seconds per step over the family's fastest (1.0 for the fastest, None where not
    measured) and "fastest": whether it is that one. Ordered by family (first appearance), then
    backend (tensorflow, jax, torch)."""
    from genlab.backend import BACKENDS

    best: dict[str, float] = {}
    for record in records:
        seconds = record.get("seconds_per_step")
        if seconds is not None and seconds > 0:
            best[record["family"]] = min(best.get(record["family"], math.inf), seconds)
    families = list(dict.fromkeys(record["family"] for record in records))
    order = {name: index for index, name in enumerate(BACKENDS)}
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
    from genlab.backend import BACKENDS, _EXTRAS, installed_backends

    installed = installed_backends()
    records: list[dict] = []
    for name in backends or BACKENDS:
        if name not in installed:
            records += [{"family": family, "backend": name, "skipped": f"not installed (pip install -e \".[{_EXTRAS[name]}]\")"}
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

    with tempfile.TemporaryDirectory(prefix=f"genlab-bench-{name}-") as folder:
        out = Path(folder) / "result.json"
        command = [sys.executable, "-m", "genlab.bench_worker", "--backend", name, "--families", ",".join(families),
                   "--steps", str(steps), "--warmup", str(warmup), "--json", str(out)]
        if data_dir:
            command += ["--data-dir", str(data_dir)]
        for key, value in overrides.items():
            command += ["--set", f"{key}={value}"]
        env = dict(os.environ, KERAS_BACKEND=name, TF_CPP_MIN_LOG_LEVEL="3")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")]))
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
    from genlab.backend import BACKENDS

    backends = [name.strip() for name in (getattr(args, "backends", None) or ",".join(BACKENDS)).split(",") if name.strip()]
    for name in backends:
        if name not in BACKENDS:
            raise GenlabError(f"unknown backend '{name}' in --backends; choose among {', '.join(BACKENDS)}")
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
def measure(family_name: str, *, steps: int, warmup: int = 3, data_dir=None, overrides: Mapping[str, str] | None = None) -> dict:
    """Seconds per training step of one family on the backend this process was started with.

    `overrides` (config keys -> values) apply where the family has the key (e.g. dataset,
    batch_size); the rest is the family's default preset."""
    from genlab import backend, data, families
    from genlab import config as _config

    family = families.get(family_name)
    known = set(_config.field_names(family.config_class))
    config = _config.resolve(family, None, None, {key: value for key, value in (overrides or {}).items() if key in known})
    backend.seed_everything(getattr(config, "seed", 0))
    dataset = data.load(config.dataset, data_dir)
    warmup = max(int(warmup), 1)
    if family.name in _TRAINERS:
        first, timings = _time_adversarial(family.name, config, dataset, steps, warmup)
    else:
        first, timings = _time_fit(family.name, config, dataset, steps, warmup)
    return {"family": family.name, "backend": backend.name(), "device": backend.device_kind(),
            "batch_size": int(config.batch_size), "architecture": getattr(config, "architecture", None),
            "seconds_per_step": float(np.median([seconds for seconds, _ in timings])),
            "first_call_s": first, "timed_steps": int(sum(count for _, count in timings))}


def _time_adversarial(name: str, config, dataset, steps: int, warmup: int) -> tuple[float, list[tuple[float, int]]]:
    import importlib

    from genlab import adversarial, backend, data

    module, class_name = _TRAINERS[name]
    trainer = getattr(importlib.import_module(module), class_name)(config, dataset.image_shape, dataset.num_classes)
    images = data.to_float(dataset.x_train)
    if len(images) < trainer.images_per_step:
        raise GenlabError(f"one {name} step needs {trainer.images_per_step} images, more than the training set ({len(images)})")
    order = adversarial.DataOrder(len(images), trainer.images_per_step, config.seed)

    def one_step() -> float:
        start = time.perf_counter()
        outputs = trainer.step(*trainer.batch(images, dataset.y_train, order.next_indices()))
        float(backend.to_numpy(outputs["d_loss"]))   # wait for the step (devices run ahead otherwise)
        return time.perf_counter() - start

    first = one_step()
    for _ in range(warmup - 1):
        one_step()
    return first, [(one_step(), 1) for _ in range(steps)]


def _fit_model(name: str, config, dataset):
    """(compiled model, x, y) as the family's own `train` builds and compiles them (same
    networks, losses, optimizers, steps_per_execution); x and y are the whole training set."""
    import keras

    from genlab import backend, data

    images = data.to_float(dataset.x_train)
    if name == "classifier":
        from genlab.families import classifier

        x = classifier.inputs_for(config, dataset.x_train)
        model = (classifier.build_dense(x.shape[1], dataset.num_classes, config.hidden_units) if config.architecture == "dense"
                 else classifier.build_cnn(dataset.image_shape, dataset.num_classes))
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=classifier.make_optimizer(config.optimizer, config.learning_rate), metrics=["accuracy"])
        return model, x, dataset.y_train
    if name in ("ae", "dae"):
        from genlab.families import autoencoder

        model, _, _ = autoencoder.build(config, dataset.image_shape)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse",
                      steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
        # The dae's noise is drawn on the host before fit (per epoch at most): not part of a step.
        noisy = autoencoder.corrupt(images, config.noise, config.noise_factor, config.clip_noisy, np.random.default_rng(0))
        return model, autoencoder.model_inputs(config, noisy), autoencoder.model_inputs(config, images)
    if name == "vae":
        from genlab.families import autoencoder, vae

        model = vae.build(config, dataset.image_shape)[0]
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=vae.reconstruction_loss,
                      steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
        x = autoencoder.model_inputs(config, images)
        return model, x, x
    if name == "diffusion":
        from genlab.families import diffusion

        network = diffusion.build_network(config, dataset.image_shape, dataset.num_classes)
        model = diffusion._trainer_class()(network, diffusion.alpha_bar_of(config), config, dataset.num_classes)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate, global_clipnorm=config.clip_norm or None,
                                                      use_ema=config.ema > 0, ema_momentum=config.ema or 0.99),
                      steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
        return model, {"images": images, "labels": dataset.y_train.astype("int32").reshape(-1, 1)}, None
    raise GenlabError(f"genlab bench backends does not know how to time the '{name}' family's step yet")


def _time_fit(name: str, config, dataset, steps: int, warmup: int) -> tuple[float, list[tuple[float, int]]]:
    """One `fit` epoch over (warmup + timed) compiled calls of the family's batches; the clock is
    read after each call (a call is steps_per_execution batches)."""
    import keras

    from genlab import backend

    model, x, y = _fit_model(name, config, dataset)
    per_call = max(int(getattr(model, "steps_per_execution", 1) or 1), 1)
    batch = int(config.batch_size)
    calls = warmup + math.ceil(steps / per_call)
    size = len(dataset.x_train)
    # Batches drawn from the training set (with repeats when it is small): the speed does not
    # depend on which images, only on their shape.
    rows = np.random.default_rng(0).integers(0, size, calls * per_call * batch)
    take = (lambda value: {key: array[rows] for key, array in value.items()}) if isinstance(x, dict) else (lambda value: value[rows])
    x_rows, y_rows = take(x), (None if y is None else y[rows])

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.marks = [(0, time.perf_counter())]

        def on_train_batch_end(self, batch, logs=None):
            if logs and "loss" in logs:
                float(backend.to_numpy(logs["loss"]))   # the call's results are back: the step is done
            self.marks.append((batch + 1, time.perf_counter()))   # batch: the call's last batch index

    clock = Clock()
    model.fit(x_rows, y_rows, batch_size=batch, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
    spans = [(end_time - start_time, end - start) for (start, start_time), (end, end_time) in zip(clock.marks, clock.marks[1:])]
    first = spans[0][0]
    timed = spans[warmup:] or spans[-1:]
    return first, [(seconds / count, count) for seconds, count in timed]
