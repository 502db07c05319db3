"""The Python API behind the CLI: train a family into a run folder, open runs, sample."""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from genlab import backend as _backend
from genlab import config as _config
from genlab.errors import ConfigError, GenlabError, RunError
from genlab.runs import Run, summary_table

RESUME_SETTABLE = {"steps", "epochs", "on_nan"}


def train(family_name: str, *, preset: str | None = None, config_file: str | Path | None = None,
          overrides: Mapping[str, Any] | None = None, out: str | Path | None = None,
          runs_root: str | Path = "runs", data_dir: str | Path | None = None, seed: int | None = None,
          backend: str | None = None, verbose: int = 1, resume: str | Path | None = None,
          print_summary: bool = True) -> Run:
    """Train one family; returns the Run whose folder holds config, history, metrics, figures, model."""
    backend_name = _backend.configure(backend)
    from genlab import families

    family = families.get(family_name)
    overrides = dict(overrides or {})
    if seed is not None:
        overrides["seed"] = seed
    if resume is not None:
        run = Run.open(resume)
        if run.family_name != family.name:
            raise RunError(f"{resume} is a '{run.family_name}' run, not '{family.name}'; resume it with genlab train {run.family_name} --resume {resume}")
        config = _config.load_run_config(run.path / "config.toml", family)
        if overrides:
            # Only the length of training (and what to do on NaN) may change on resume: the
            # checkpoint's weights fit the run's networks, and the run folder must stay as it was
            # when anything else is asked for, so this is checked before config.toml is rewritten.
            changed = sorted(set(overrides) - RESUME_SETTABLE)
            if changed:
                raise ConfigError(f"--resume cannot change {', '.join(changed)} (only {', '.join(sorted(RESUME_SETTABLE))}); "
                                          "start a new run with --out for other settings")
            config = _config.apply(config, overrides, "--set")
            _config.write_toml(run.path / "config.toml", config, family.name, run.read_header().get("preset", "default"))
    else:
        config = _config.resolve(family, preset, config_file, overrides)
        run = Run.create(family.name, out=out, root=runs_root)
        _config.write_toml(run.path / "config.toml", config, family.name, preset or "default")
    _backend.seed_everything(getattr(config, "seed", 0))
    run.update_metrics({"status": "running", "family": family.name, "backend": backend_name})
    started = time.perf_counter()
    try:
        kwargs = {"data_dir": data_dir, "verbose": verbose}
        if resume is not None:
            kwargs["resume"] = True
        metrics = family.train(config, run, **kwargs)
    except GenlabError as error:
        run.update_metrics({"status": "failed", "error": str(error)})
        raise
    except KeyboardInterrupt:
        run.update_metrics({"status": "interrupted"})
        raise
    except Exception as error:
        run.update_metrics({"status": "failed", "error": f"{type(error).__name__}: {error}".splitlines()[0],
                            "traceback": traceback.format_exc(limit=5)})
        raise
    metrics = dict(metrics)
    metrics.setdefault("train_wall_s", time.perf_counter() - started)
    metrics["total_wall_s"] = time.perf_counter() - started
    metrics["status"] = "complete"
    metrics = run.update_metrics(metrics)
    if print_summary:
        rows = [("run", str(run.path))] + [(key, value) for key, value in sorted(metrics.items())
                                           if isinstance(value, (int, float)) and not isinstance(value, bool)]
        print(summary_table(rows, title=f"genlab {family.name} ({preset or 'default'})"))
    return run


def open_run(path: str | Path):
    """Open a finished run: returns (run, family, config)."""
    run = Run.open(path)
    _backend.configure(None)
    from genlab import families

    family = families.get(run.family_name)
    config = _config.load_run_config(run.path / "config.toml", family)
    return run, family, config


def sample(path: str | Path, count: int = 64, seed: int | None = None):
    """New images from a trained generative run: float32 N x H x W x C in [0, 1]."""
    run, family, config = open_run(path)
    if family.generate is None:
        raise GenlabError(f"{path} is a {family.name} run, which does not generate images; sample from an ae, dae or gan run")
    return family.generate(run, count, seed)
