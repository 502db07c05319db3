"""Training sessions: one call of genlab.train from the settings to a finished run folder, beside
the checkpoints it resumes from (--resume rules, the multi-process worker, what an interrupted or
failed run says about itself)."""
from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from genlab import backend as _backend
from genlab import config as _config
from genlab import pretrained as _pretrained
from genlab.checks import DEFAULT_SEED
from genlab.checks import count as _count
from genlab.checks import seed as _seed
from genlab.errors import ConfigError, GenlabError, RunError
from genlab.runs import Run


def train(family_name: str, *, preset: str | None = None, config_file: str | Path | None = None,
          overrides: Mapping[str, Any] | None = None, out: str | Path | None = None,
          runs_root: str | Path = "runs", data_dir: str | Path | None = None, seed: int | None = None,
          backend: str | None = None, verbose: int = 0, resume: str | Path | None = None,
          print_summary: bool = False, devices: int | None = None, coordinator: str | None = None,
          num_processes: int | None = None, process_id: int | None = None) -> Run:
    """Train one model family and save everything in a run folder.

    The settings are layered, later layers winning: the family's defaults < `preset` <
    `config_file` < `overrides` < `seed`. `genlab.config_help(family_name, preset)` lists every
    key with its value and meaning.

    Parameters:
        family_name: a model family (genlab.families.names()): "classifier", "ae", "dae", "gan" (the
            chapter's programs 1-4), or one beyond the chapter ("vae", "cgan", "wgan-gp", "diffusion"...).
        preset: "chapter" (the textbook's exact settings) or "default" (genlab's better ones;
            also used when None).
        config_file: a TOML file of settings.
        overrides: settings by key, e.g. {"steps": 500} or {"epochs": 5, "dataset": "fashion-mnist"};
            an unknown key is an error naming the closest valid one.
        out: the run folder to create; by default `runs_root/<family>-<date>-<time>`.
        runs_root: the folder that holds run folders when `out` is not given ("runs").
        data_dir: the only folder to look for the dataset in (otherwise GENLAB_DATA_DIR, caches,
            a download, and offline the embedded mnist-5k for mnist).
        seed: random seed (weights, noise, data order); the config's seed, 0, when None.
        backend: "tensorflow" (default), "torch", "jax", or "auto" (the fastest for this family on
            this device kind in genlab bench backends; metrics.json's "backend_choice" says why);
            KERAS_BACKEND when None.
        verbose: 0 trains quietly, 1 shows progress bars.
        resume: a run folder to continue from its last checkpoint instead of starting a new run;
            only the family's resumable keys may change in `overrides` (`Family.resumable()`: steps
            or epochs, time_budget_s, on_nan, devices, steps_per_execution and the family's own),
            and only to train further.
        print_summary: print the final metrics as a table.
        devices: data-parallel replicas (gan, cgan, wgan-gp; the config key `devices`): on jax
            keras.distribution.DataParallel over that many devices of all processes, on tensorflow
            MirroredStrategy over this host's GPUs (or logical CPUs); batch_size is the global batch.
        coordinator: join a multi-process jax run (several hosts): the coordinator's HOST:PORT.
            None (with num_processes and process_id): the KERAS_DISTRIBUTION_* environment
            variables keras.distribution.initialize reads, else one process.
        num_processes: how many processes the multi-process run has.
        process_id: this process's index (0 writes the run folder; the others train in a
            temporary one).

    Returns:
        The genlab.runs.Run: `run.path` (the folder: config.toml, history.csv, metrics.json,
        figures/, the .keras models, checkpoints/), `run.metrics` (test metrics, "train_wall_s",
        "status"), `run.figures` (the figures folder), `run.load_model(name)` (a saved model,
        loaded in Keras safe mode).

    Raises:
        genlab.errors.GenlabError (ConfigError, DataError, RunError) with a one-line message for
        bad arguments, settings or data; metrics.json then says "status": "failed".

    Example:
        >>> import genlab
        >>> run = genlab.train("ae", preset="chapter", overrides={"epochs": 5})
        >>> run.metrics["test_mse"]
        >>> genlab.train("gan", resume="runs/gan-20261122-101500", overrides={"steps": 4000})   # train further
    """
    auto = _backend.requested(backend) == "auto"
    backend_name = _backend.configure(backend, family=family_name,
                                      architecture=_architecture(family_name, preset, config_file, overrides, resume) if auto else None)
    from genlab import families

    family = families.get(family_name)
    overrides = dict(overrides or {})
    if seed is not None:
        overrides["seed"] = _seed(seed)
    if devices is not None:
        devices = _count(devices, "devices")
        if "devices" not in _config.field_names(family.config_class):
            if devices > 1:
                parallel = [other.name for other in families.all_families()
                            if "devices" in _config.field_names(other.config_class)]
                raise ConfigError(f"data-parallel training (--devices {devices}) is implemented for {', '.join(parallel)}, "
                                  f"not {family.name}; train {family.name} with --devices 1")
        else:
            overrides["devices"] = devices
    processes = _backend.initialize_processes(coordinator, num_processes, process_id)
    if devices is not None:
        _backend.check_devices(devices)   # before a run folder exists: a refused count leaves nothing behind
    if processes > 1 and _backend.process_index() > 0 and not _WORKER.active:
        return _train_worker(family, preset=preset, config_file=config_file, overrides=overrides, data_dir=data_dir,
                             verbose=verbose, resume=resume)
    if resume is not None:
        ignored = [name for name, value in (("out", out), ("preset", preset), ("config_file", config_file)) if value is not None]
        if ignored:
            # --resume continues RUN in place with its own settings: these would be silently ignored.
            flags = ", ".join("--" + name.replace("config_file", "config") for name in ignored)
            raise ConfigError(f"--resume continues {resume} in place with its own config, so it takes no {flags}; "
                              f"drop {flags}, or start a new run without --resume")
        run = Run.open(resume)
        if run.pretrained is not None:
            raise RunError(f"{resume} is a shipped pretrained model, which cannot be trained further; "
                           f"train a new run with {_pretrained.entry(run.pretrained)['command']}")
        if run.family_name != family.name:
            raise RunError(f"{resume} is a '{run.family_name}' run, not '{family.name}'; resume it with genlab train {run.family_name} --resume {resume}")
        config = _config.load_run_config(run.path / "config.toml", family)
        run.read_metrics()   # a damaged metrics.json stops the resume here, before config.toml is rewritten
        if overrides:
            config_before, progress_before = (run.path / "config.toml").read_bytes(), _checkpoint_files(run)
            config = _resumed_config(run, family, config, overrides)
        from genlab.runs import unfinished_without_checkpoint

        if unfinished_without_checkpoint(run.path):
            # Interrupted before its first checkpoint: there is nothing to continue from, so it
            # starts again from the beginning with its own config (history and figures made anew).
            (run.path / "history.csv").unlink(missing_ok=True)
            if verbose:
                print(f"genlab: {run.path} stopped before its first checkpoint; training it again from the beginning", flush=True)
            resume = None
    else:
        config = _config.resolve(family, preset, config_file, overrides)
        run = Run.create(family.name, out=out, root=runs_root)
        _config.write_toml(run.path / "config.toml", config, family.name, preset or "default")
    _backend.seed_everything(getattr(config, "seed", DEFAULT_SEED))
    choice = {"backend_choice": _backend.last_choice()["reason"]} if auto else {}
    run.update_metrics({"status": "running", "family": family.name, "backend": backend_name, **choice})
    started = time.perf_counter()
    resuming = resume is not None
    try:
        metrics = family.train(config, run, data_dir=data_dir, verbose=verbose, resume=resuming)
    except BaseException as error:
        if resuming and overrides and _checkpoint_files(run) == progress_before:
            # A resume that failed before its first new checkpoint (a damaged history.csv, no intact
            # checkpoint...) gets its config.toml back: the run is as long as it was.
            _restore(run.path / "config.toml", config_before)
        if isinstance(error, GenlabError):
            run.update_metrics({"status": "failed", "error": str(error)})
        elif isinstance(error, KeyboardInterrupt):
            run.update_metrics({"status": "interrupted"})
            raise _interrupted(error, run, family.name) from None
        elif isinstance(error, Exception):
            run.update_metrics({"status": "failed", "error": f"{type(error).__name__}: {error}".splitlines()[0],
                                "traceback": traceback.format_exc(limit=5)})
        raise
    metrics = dict(metrics)
    metrics.setdefault("train_wall_s", time.perf_counter() - started)
    metrics["total_wall_s"] = time.perf_counter() - started
    metrics["status"] = "complete"
    metrics = run.update_metrics(metrics)
    if print_summary:
        from genlab.console import summary_table

        rows = [("run", str(run.path))] + [(key, value) for key, value in sorted(metrics.items())
                                           if isinstance(value, (int, float)) and not isinstance(value, bool)]
        print(summary_table(rows, title=f"genlab {family.name} ({preset or 'default'})"))
    return run


def _interrupted(error: KeyboardInterrupt, run: Run, family_name: str):
    """The Interrupted to raise: what was kept and how to go on, in one line."""
    from genlab import interrupts

    signal_name = getattr(error, "signal_name", "SIGINT")
    try:
        meta = json.loads((run.checkpoints / "latest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = None
    unit = next((key for key in ("step", "epoch") if isinstance(meta, dict) and isinstance(meta.get(key), int)), None)
    if unit is not None:
        kept = f"its checkpoint at {unit} {meta[unit]} is kept; go on with genlab train {family_name} --resume {run.path}"
    else:
        kept = (f"no checkpoint had been written yet; genlab train {family_name} --resume {run.path} starts it again "
                f"(or train into the same --out)")
    return interrupts.Interrupted(signal_name, f"interrupted ({signal_name}): {run.path} says status interrupted; {kept}")


def _architecture(family_name, preset, config_file, overrides, resume) -> str | None:
    """The network a training will build ("dense", "conv", None), found without Keras: `--backend
    auto` must choose before Keras is imported. Any problem here is reported later, properly."""
    from genlab import families

    try:
        family = families.get(family_name)
        if resume is not None:
            config = _config.load_run_config(Path(resume) / "config.toml", family)
        else:
            config = _config.resolve(family, preset, config_file, dict(overrides or {}))
        return getattr(config, "architecture", None)
    except Exception:
        return None


def _train_worker(family, *, preset, config_file, overrides, data_dir, verbose, resume) -> Run:
    """A process other than 0 of a multi-process run: it computes the same global steps, but its
    run folder (figures, history, checkpoints) is a temporary one, removed at the end, so the run
    folder and its checkpoints are written by process 0 alone. A resume reads the run folder
    (shared storage, or a copy at the same path on every host)."""
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix=f"genlab-process{_backend.process_index()}-"))
    _WORKER.active = True
    try:
        if resume is not None:
            copy = scratch / "run"
            shutil.copytree(Run.open(resume).path, copy)
            run = train(family.name, overrides=overrides, data_dir=data_dir, verbose=0, resume=copy)
        else:
            run = train(family.name, preset=preset, config_file=config_file, overrides=overrides, out=scratch / "run",
                        data_dir=data_dir, verbose=0)
        run.read_metrics()
        return run
    finally:
        _WORKER.active = False
        shutil.rmtree(scratch, ignore_errors=True)


class _WORKER:
    active = False   # inside _train_worker: the nested train() trains instead of dispatching again


def _checkpoint_files(run: Run) -> dict[str, int]:
    """Each checkpoint file's modification time: what tells whether a resume got anywhere."""
    return {path.name: path.stat().st_mtime_ns for path in run.checkpoints.glob("*.npz")} if run.checkpoints.is_dir() else {}


def _restore(path: Path, content: bytes) -> None:
    from genlab import io

    try:
        io.write_bytes(path, content)
    except RunError:
        pass   # a read-only folder: the error being raised says more than this one would


def _resumed_config(run: Run, family, config, overrides: dict):
    """The run's config with a longer training: checked before config.toml is rewritten, so a
    refused resume leaves the run folder exactly as it was."""
    # Only the family's resumable keys may change: the checkpoint's weights fit the run's networks.
    resumable = family.resumable()
    changed = sorted(set(overrides) - resumable)
    if changed:
        raise ConfigError(f"--resume cannot change {', '.join(changed)} (only {', '.join(sorted(resumable))}); "
                          "start a new run with --out for other settings")
    updated = _config.apply(config, overrides, "--set")
    # How far the run got, from latest.json as written (the checkpoint itself is verified, and a
    # damaged one replaced by an older one, when training loads it).
    try:
        meta = json.loads((run.checkpoints / "latest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    for unit in ("steps", "epochs"):
        done = meta.get(unit[:-1]) if isinstance(meta, dict) else None
        done = done if isinstance(done, int) else None
        if unit in overrides and done is not None and getattr(updated, unit) < done:
            raise ConfigError(f"--resume with {unit}={getattr(updated, unit)} would train less than the {done} {unit} "
                              f"already done; ask for more than {done}")
    _config.write_toml(run.path / "config.toml", updated, family.name, run.read_header().get("preset", "default"))
    return updated
