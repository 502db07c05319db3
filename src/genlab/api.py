"""genlab's Python API: every capability as a typed function (the CLI only parses and calls these).

    import genlab
    run = genlab.train("gan", preset="chapter", overrides={"steps": 500})
    images = genlab.sample(run.path, 16)                 # float32, 16 x 28 x 28 x 1, in [0, 1]
    result = genlab.evaluate(run.path)                   # FID, KID, precision, recall...
    genlab.report([run.path], "report.html")

Functions that draw random numbers take `seed=`, defaulting to DEFAULT_SEED (0), so the same
call gives the same images. Training is quiet unless asked (`verbose=1` shows progress bars).
Bad arguments raise a genlab.errors.GenlabError subclass with a one-line message.
"""
from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from genlab import backend as _backend
from genlab import config as _config
from genlab import pretrained as _pretrained
from genlab.errors import ConfigError, DataError, GenlabError, RunError
from genlab.runs import Run
from genlab.saving import MAX_GRID_IMAGES, save_comparison, save_images, save_json  # noqa: F401 (the API)

DEFAULT_SEED = 0
# What --resume may change: how long training goes on (steps, epochs, a time budget), what to do
# on NaN, the device count (a checkpoint resumes on any), diffusion's after-training FID figure
# and the steps per compiled call; none of them changes the networks or the data order.
RESUME_SETTABLE = {"steps", "epochs", "time_budget_s", "on_nan", "devices", "fid_steps", "fid_samples", "steps_per_execution"}
MAX_SAMPLES = 1_000_000       # one call's images: 1e6 x 784 float32 is already 3 GB
MAX_INTERPOLATION_STEPS = 1000


# ---------------------------------------------------------------------------- checks at the edge
def _count(value: Any, what: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer argument in [minimum, maximum], or a one-line error naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{what} must be a whole number, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{what} must be {bound}, got {value}")
    return value


def _seed(seed: Any) -> int:
    return _count(seed, "seed", minimum=0, maximum=2 ** 32 - 1)


# ---------------------------------------------------------------------------- training
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
        family_name: "classifier", "ae", "dae", "gan" (the chapter's programs 1-4), or
            "vae", "cgan", "wgan-gp" (beyond the chapter).
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
            only RESUME_SETTABLE's keys may change in `overrides` (steps, epochs, time_budget_s,
            on_nan, devices, fid_steps, fid_samples, steps_per_execution), and only to train further.
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
    auto = (backend or os.environ.get("KERAS_BACKEND")) == "auto"
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
                raise ConfigError(f"data-parallel training (--devices {devices}) is implemented for the adversarial families "
                                  f"(gan, cgan, wgan-gp), not {family.name}; train {family.name} with --devices 1")
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
    # Only RESUME_SETTABLE may change: the checkpoint's weights fit the run's networks.
    changed = sorted(set(overrides) - RESUME_SETTABLE)
    if changed:
        raise ConfigError(f"--resume cannot change {', '.join(changed)} (only {', '.join(sorted(RESUME_SETTABLE))}); "
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


def open_run(path: str | Path):
    """Open a finished run folder.

    Parameters:
        path: a run folder written by `train`, or a shipped model as "pretrained:NAME"
            (`genlab.pretrained_models()` lists them; every function below that takes a run takes one).

    Returns:
        (run, family, config): the genlab.runs.Run, its model family (genlab.families.Family)
        and its settings as written to config.toml (a dataclass: `config.epochs`, `config.steps`...).

    Example:
        >>> run, family, config = genlab.open_run("runs/gan-20261122-101500")
        >>> config.steps, run.metrics["seconds_per_step"]
    """
    run = Run.open(path)
    _backend.configure(None)
    from genlab import families

    family = families.get(run.family_name)
    config = _config.load_run_config(run.path / "config.toml", family)
    return run, family, config


def config_help(family_name: str, preset: str | None = None) -> list[tuple[str, Any, str]]:
    """Every setting of a model family, with its value under a preset and what it does.

    Parameters:
        family_name: a model family, e.g. "gan".
        preset: "chapter" or "default" (None: "default").

    Returns:
        A list of (key, value, description) tuples, in the config's order.

    Example:
        >>> for key, value, text in genlab.config_help("gan", "chapter"):
        ...     print(key, value, text)
    """
    from genlab import families

    family = families.get(family_name)
    return _config.help_rows(_config.resolve(family, preset))


# ---------------------------------------------------------------------------- using a trained run
def _generating(path, what: str):
    run, family, config = open_run(path)
    if family.generate is None:
        raise GenlabError(f"{path} is a {family.name} run, which does not generate images; {what} from an ae, dae, vae or gan run")
    return run, family, config


def sample(run: str | Path, count: int = 64, *, seed: int = DEFAULT_SEED, label: int | None = None,
           **options) -> np.ndarray:
    """New images from a trained generative run (ae, dae, vae, gan, cgan, wgan-gp, diffusion).

    Parameters:
        run: the run folder, or "pretrained:NAME".
        count: how many images (1 to 1,000,000).
        seed: random seed of the latent points; the same seed gives the same images.
        label: a class (0-9 for MNIST) for a conditional run (cgan, conditional diffusion); None for the others.
        options: the family's sampler settings (diffusion: steps, eta, guidance, sampler); None keeps the run's default.

    Returns:
        float32 array of shape (count, H, W, C), values in [0, 1] (MNIST: count x 28 x 28 x 1).

    Example:
        >>> images = genlab.sample("runs/gan-20261122-101500", 16, seed=1)
        >>> sevens = genlab.sample("runs/cgan-20261122-101500", 16, label=7)
        >>> fast = genlab.sample("runs/diffusion-20261122-101500", 16, steps=50, eta=0.0)
    """
    count = _count(count, "the number of samples", maximum=MAX_SAMPLES)
    seed = _seed(seed)
    if label is not None:
        label = _count(label, "the class", minimum=0)
    opened, family, config = _generating(run, "sample")
    return family.generate(opened, config, count, seed=seed, label=label, **_sample_options(family, options))


def latent_space(run: str | Path):
    """A trained generative run's latent space: how its points are drawn, and any point decoded.

    Parameters:
        run: the run folder (ae, dae, vae, gan, cgan, wgan-gp or diffusion).

    Returns:
        A genlab.latent.LatentSpace: `.size` and `.distribution` of its points, `.draw(seed, count)`
        (the points `sample` decodes for that seed), `.decode(points, labels=None, **options)`
        -> float32 images N x H x W x C in [0, 1], `.num_classes` (> 0: conditional), `.axes(8)`
        (slider directions, a VAE's most used dimensions first), `.between(seed_a, seed_b, steps)`
        and `.walk(seed, steps)`.

    Example:
        >>> space = genlab.latent_space("runs/gan-20261122-101500")
        >>> z = space.draw(seed=0, count=1)            # what genlab.sample(run, 1, seed=0) decodes
        >>> z[0, 3] = 0.9                              # move along one dimension
        >>> image = space.decode(z)[0]
    """
    opened, family, config = open_run(run)
    if family.latent_space is None:
        raise GenlabError(f"{run} is a {family.name} run, which has no latent space; "
                          "give a run of ae, dae, vae, gan, cgan, wgan-gp or diffusion")
    return family.latent_space(opened, config)


def explore(runs: Sequence[str | Path] = (), *, host: str = "127.0.0.1", port: int | None = None,
            open_browser: bool = True, block: bool = True):
    """Open the latent-space explorer, a local web app (needs `pip install "genlab[app]"`).

    Parameters:
        runs: run folders or "pretrained:NAME" models to explore side by side (tabs by family:
            latent sliders, seeds, interpolation and random walks for generators; a drawing
            canvas for ae/dae). Empty: every pretrained model shipped with genlab.
        host: the address to listen on; 127.0.0.1 (this machine only) unless you mean to share it.
        port: the port (None: a free one).
        open_browser: open the page in the default browser.
        block: serve until interrupted (False: return at once, the server running in a thread).

    Returns:
        The page's address, e.g. "http://127.0.0.1:7860/".

    Example:
        >>> genlab.explore(["runs/gan-20261122-101500", "runs/vae-20261122-103000"], port=7860)
    """
    import importlib.util

    from genlab import explorer

    if importlib.util.find_spec("gradio") is None:      # said before any model is loaded
        raise GenlabError('genlab explore needs Gradio: pip install "genlab[app]"')
    if not runs:
        # No run given: the pretrained models shipped inside genlab (no data, no network needed).
        runs = [model.name for model in pretrained_models()]
        if not runs:
            raise GenlabError("no run given and no pretrained model is installed; genlab explore RUN [RUN ...]")
    if port is not None:
        port = _count(port, "the port", minimum=1, maximum=65535)
    models = explorer.open_models(list(runs))
    _, url = explorer.launch(models, host=host, port=port, open_browser=open_browser, block=block)
    return url


def _sample_options(family, options: Mapping[str, Any]) -> dict[str, Any]:
    """The sampler options that were given (None: not given), refused in one line when the family takes no such option."""
    given = {key: value for key, value in options.items() if value is not None}
    unknown = sorted(set(given) - set(family.sample_options))
    if unknown:
        takes = f"it takes {', '.join(family.sample_options)}" if family.sample_options else "sampler options apply to diffusion runs"
        raise ConfigError(f"a {family.name} run's sampler has no option {', '.join(unknown)}; {takes}")
    return given


def interpolate(run: str | Path, *, steps: int = 10, seed: int = DEFAULT_SEED, between: tuple[int, int] | None = None,
                data_dir: str | Path | None = None):
    """Images along straight lines in a trained run's latent space.

    Parameters:
        run: the run folder (a GAN family or an autoencoder), or "pretrained:NAME".
        steps: images on each line (2 to 1000).
        seed: random seed of a GAN's line ends.
        between: autoencoders: the two test images whose codes are the line's ends (default (1, 2)).
        data_dir: where to find the test images (as for `train`).

    Returns:
        A genlab.families.ImageGrid: `.images` (float32 N x H x W x C in [0, 1]), `.columns`,
        `.title`. GANs: four rows between random latent points; autoencoders: one row, the two
        originals at its ends. `genlab.save_images(grid.images, "lines.png", columns=grid.columns)`
        draws it.

    Example:
        >>> grid = genlab.interpolate("runs/gan-20261122-101500", steps=8)
        >>> grid.images.shape
    """
    steps = _count(steps, "steps", minimum=2, maximum=MAX_INTERPOLATION_STEPS)
    seed = _seed(seed)
    if between is not None:
        if not isinstance(between, (tuple, list)) or len(between) != 2:
            raise ConfigError(f"between must be two test image indices (a, b), got {between!r}")
        between = tuple(_count(index, "a test image index", minimum=0) for index in between)
    opened, family, config = open_run(run)
    if family.interpolate is None:
        raise GenlabError(f"{run} is a {family.name} run, which has no latent space to interpolate in")
    return family.interpolate(opened, config, steps=steps, seed=seed, between=between, data_dir=data_dir)


def input_images(run: str | Path | Run, images) -> np.ndarray:
    """Images ready for a run's networks, from an array or a file.

    Parameters:
        run: the run folder (or an open Run) whose networks the images must fit.
        images: an array N x H x W [x C] of numbers in [0, 1], or the path of a PNG/JPEG (any
            size: converted to the run's shape and MNIST polarity) or .npy file.

    Returns:
        float32 array N x H x W x C, clipped to [0, 1].

    Example:
        >>> genlab.api.input_images("runs/ae-20261122-101500", "digit.png").shape
    """
    from genlab import inputs

    run = run if isinstance(run, Run) else Run.open(run)
    image_shape = _image_shape(run)
    if isinstance(images, (str, Path)):
        array, where = inputs.load_images(images, image_shape), f"{images}: "
    else:
        array, where = np.asarray(images), ""
        if array.ndim == 3 and image_shape[-1] == 1 and array.shape[1:] == image_shape[:2]:
            array = array[..., None]
        if array.ndim != 4 or array.shape[1:] != image_shape:
            raise DataError(f"images of shape {array.shape} do not fit this run's {image_shape}; pass N x {' x '.join(map(str, image_shape))}")
    # The same checks for a file as for an array: a NaN pixel would come back as a NaN image, and
    # an empty batch as a Keras traceback.
    if not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        raise DataError(f"{where}images must be finite numbers in [0, 1]")
    if len(array) == 0:
        raise DataError(f"{where}no images (an empty batch); pass at least one image")
    return np.clip(array.astype("float32"), 0.0, 1.0)


def _image_shape(run: Run) -> tuple[int, int, int]:
    from genlab.exporting import image_shape

    return image_shape(run.load_model("decoder.keras").output_shape[1:])   # a dense decoder's flat 784 -> 28 x 28 x 1


def reconstruct(run: str | Path, images) -> np.ndarray:
    """Encode and decode images with an autoencoder run (ae, dae or vae).

    Parameters:
        run: the run folder, or "pretrained:NAME".
        images: an array N x H x W [x C] of floats in [0, 1], or the path of a PNG/JPEG (any size:
            converted to the run's shape and MNIST polarity) or .npy file.

    Returns:
        float32 array N x H x W x C in [0, 1]: the reconstructions.

    Example:
        >>> genlab.reconstruct("runs/ae-20261122-101500", "digit.png")
    """
    opened, family, config = open_run(run)
    if family.reconstruct is None:
        raise GenlabError(f"{run} is a {family.name} run; reconstruct needs an ae, dae or vae run")
    return family.reconstruct(opened, config, input_images(opened, images))


def denoise(run: str | Path, images) -> np.ndarray:
    """Remove noise from images with a denoising autoencoder run (dae).

    Parameters:
        run: the dae run folder, or "pretrained:mnist-dae".
        images: as for `reconstruct`: an array N x H x W [x C] in [0, 1], or a PNG/JPEG/.npy path.

    Returns:
        float32 array N x H x W x C in [0, 1]: the denoised images.

    Example:
        >>> clean = genlab.denoise("runs/dae-20261122-101500", np.clip(noisy_images, 0, 1))
    """
    opened, family, config = open_run(run)
    if not family.denoises:
        raise GenlabError(f"{run} is a '{family.name}' run; denoise needs a dae run (genlab train dae)")
    return family.reconstruct(opened, config, input_images(opened, images))


@dataclass
class Evaluation:
    """What `evaluate` measured. `rows`: images name -> sample-quality metrics (FID, KID,
    precision, recall, ...), the two reference rows included when asked; `family_metrics`: the
    family's own test-set figures (accuracy, MSE...)."""
    title: str
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    family_metrics: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        from genlab import evaluation
        from genlab.console import summary_table

        parts = []
        if self.family_metrics:
            parts.append(summary_table([(key, value) for key, value in self.family_metrics.items() if key != "noise_sweep"],
                                       title=self.title))
        if self.rows:
            parts.append(evaluation.format_table(self.rows, self.title))
        return "\n".join(parts)


def evaluate(source: str | Path | np.ndarray, *, dataset: str | None = None, count: int = 10000, seed: int = DEFAULT_SEED,
             reference: bool = True, data_dir: str | Path | None = None, noise_sweep: bool = False,
             **options) -> Evaluation:
    """Score a run, or any set of images, with the shipped evaluator against the real test set.

    Parameters:
        source: a run folder or "pretrained:NAME" (its family's own test figures, then `count` new samples scored), or
            images: an array N x H x W [x C] in [0, 1], or an .npz file holding `images`.
        dataset: the dataset to compare with (default: the run's, or "mnist" for images).
        count: how many samples of a run to score (10 to 1,000,000; 10000 by default).
        seed: random seed of the samples.
        reference: add the two reference rows (real training images, the per-pixel mean image).
        data_dir: where to find the dataset (as for `train`).
        noise_sweep: a dae/ae run only: the test MSE over gaussian noise levels 0.1 .. 0.8 instead.
        options: sampler settings for the run's samples (diffusion: steps, eta, guidance, sampler).

    Returns:
        An Evaluation: `.rows` (name -> {"fid", "kid", "precision", "recall", "density",
        "coverage", "classifier_score", "class_coverage", "nn_train_distance", ...}),
        `.family_metrics` (the family's own test figures: accuracy, MSE...), and `.table()`, all
        of it as text. A run's metrics.json also gets the scores as `sample_*` keys.

    Example:
        >>> result = genlab.evaluate("runs/gan-20261122-101500", count=1000)
        >>> result.rows["gan samples"]["fid"]
        >>> print(result.table())
    """
    from genlab import evaluation

    seed = _seed(seed)
    is_run = isinstance(source, (str, Path)) and (_pretrained.is_reference(source) or Path(source).is_dir())
    if any(value is not None for value in options.values()) and not is_run:
        raise ConfigError(f"sampler options ({', '.join(sorted(options))}) need a run folder to sample from, not a set of images")
    if not isinstance(source, (str, Path)):
        return _evaluate_images(np.asarray(source), "images", dataset or "mnist", seed, reference, data_dir)
    path = Path(source)
    if not is_run and (path.suffix == ".npz" or (path.is_file() and not (path / "config.toml").exists())):
        return _evaluate_images(load_samples_file(path), path.name, dataset or "mnist", seed, reference, data_dir)
    count = _count(count, "the number of samples", minimum=10, maximum=MAX_SAMPLES)
    run, family, config = open_run(path)
    options = _sample_options(family, options)
    shown = f"{_pretrained.PREFIX}{run.pretrained}" if run.pretrained is not None else run.path
    result = Evaluation(title=f"evaluate {shown}")
    images = None
    if family.generate is not None and not noise_sweep:
        # The samples first: a damaged generator or decoder then fails before family.evaluate
        # writes its figures to metrics.json, so a failed evaluate changes no file.
        dataset_name = dataset or getattr(config, "dataset", "mnist")
        real = evaluation.real_reference(dataset_name, data_dir)
        images = evaluation.check_images(family.generate(run, config, count, seed=seed, **options), real.dataset.image_shape,
                                         str(run.path))
    if family.evaluate is not None:
        result.family_metrics = family.evaluate(run, config, data_dir=data_dir, seed=seed, noise_sweep=noise_sweep)
    if images is None:
        return result
    values = evaluation.score(images, real, seed=seed)
    run.update_metrics({f"sample_{key}": value for key, value in values.items()} | {"evaluator_sha256": real.evaluator.sha256})
    result.rows = {f"{family.name} samples": values}
    if reference:
        result.rows.update(evaluation.reference_rows(real))
    result.title = f"evaluate {shown} ({len(images)} samples vs the {dataset_name} test set)"
    return result


def _evaluate_images(images: np.ndarray, name: str, dataset: str, seed: int, reference: bool, data_dir) -> Evaluation:
    from genlab import evaluation

    real = evaluation.real_reference(dataset, data_dir)
    images = evaluation.check_images(images, real.dataset.image_shape, name)
    result = Evaluation(title=f"evaluate {name} against the {dataset} test set",
                        rows={name: evaluation.score(images, real, seed=seed)})
    if reference:
        result.rows.update(evaluation.reference_rows(real))
    return result


def load_samples_file(path: str | Path) -> np.ndarray:
    """Read an .npz of samples (as `genlab sample --npz` and `save_images(npz=...)` write).

    Parameters:
        path: the .npz file; its array `images` (or its only array) is read, pickles refused.

    Returns:
        The array as stored (float32 N x H x W x C in [0, 1] when genlab wrote it).

    Example:
        >>> images = genlab.api.load_samples_file("samples.npz")
    """
    from genlab.paths import describe_path_problem

    path = Path(path)
    problem = describe_path_problem(path, "file")
    if problem is not None:
        raise DataError(f"samples file {problem}; write one with genlab sample RUN --npz FILE")
    try:
        with np.load(path, allow_pickle=False) as archive:
            key = "images" if "images" in archive.files else (archive.files[0] if len(archive.files) == 1 else None)
            if key is None:
                raise DataError(f"{path} has arrays {archive.files} but no 'images'; save the samples under the key 'images'")
            return archive[key]
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path} is not a readable .npz of samples ({str(error).splitlines()[0]}); save one with numpy.savez") from error
    except Exception as error:  # zipfile.BadZipFile and friends from a damaged archive
        raise DataError(f"{path} is not a readable .npz of samples ({type(error).__name__}); save one with numpy.savez") from error


# ---------------------------------------------------------------------------- pretrained models and export
@dataclass
class PretrainedModel:
    """One shipped model: `name` ("pretrained:mnist-dae", what every run argument accepts), its
    `family` and `dataset`, its test `metrics` (FID/KID from `genlab evaluate`, or the family's own
    test MSE...), its size in `bytes` and the `command` that trained it."""
    name: str
    family: str
    dataset: str | None
    metrics: dict[str, float]
    bytes: int
    command: str
    description: str = ""


def pretrained_models() -> list[PretrainedModel]:
    """The models shipped inside genlab, usable offline wherever a run folder is.

    Parameters:
        (none)

    Returns:
        A list of PretrainedModel (name, family, dataset, metrics, bytes, command), by name. Each
        one's files are checked against their SHA-256 when it is opened.

    Example:
        >>> [model.name for model in genlab.pretrained_models()]
        ['pretrained:mnist-dae']
        >>> genlab.denoise("pretrained:mnist-dae", noisy_images)
    """
    return [PretrainedModel(**row) for row in _pretrained.describe()]


def output_folder(run: str | Path) -> Path:
    """Where commands put files made from a run when no --out is given.

    Parameters:
        run: a run folder, or "pretrained:NAME".

    Returns:
        RUN/generated for a run folder; generated/NAME in the current folder for a pretrained
        model (whose own folder is inside the package and never written).

    Example:
        >>> genlab.api.output_folder("pretrained:mnist-dae")
        PosixPath('generated/mnist-dae')
    """
    if _pretrained.is_reference(run):
        return Path("generated") / str(run)[len(_pretrained.PREFIX):]
    return Path(run) / "generated"


def export(run: str | Path, format: str, out: str | Path, *, force: bool = False) -> Path:
    """Export a run's generator, decoder or denoiser for clients outside genlab.

    Parameters:
        run: a run folder or "pretrained:NAME" (gan, cgan, wgan-gp: the generator; vae and ae: the
            decoder; dae: the denoiser).
        format: "onnx" (ONNX Runtime; needs `pip install -e ".[export]"`) or "savedmodel"
            (TensorFlow SavedModel, endpoint `serve`).
        out: the folder to create; it holds the model and genlab-export.json (input names, shapes,
            the latent law genlab draws from, the output's shape and value range).
        force: replace an existing `out` that genlab made (an earlier export); a folder holding a
            run or anything genlab did not write there is refused even then (genlab.outputs).

    Returns:
        The path of the folder, written whole or not at all.

    Example:
        >>> genlab.export("pretrained:mnist-dae", "onnx", "exports/mnist-dae")
        >>> # onnxruntime.InferenceSession("exports/mnist-dae/model.onnx").run(None, {"images": noisy})
    """
    from genlab import __version__, exporting, outputs

    format = exporting.check_format(format)
    target = outputs.folder_target(out, force=force, inputs=[run], option="--out")
    opened, family, config = open_run(run)
    if family.export is None:
        raise GenlabError(f"{run} is a {family.name} run, which has no single network to export; "
                          "export a gan, cgan, wgan-gp, vae, ae or dae run")
    model, description = family.export(opened, config)
    output_shape = [None, *(int(side) for side in model.output_shape[1:])]
    description = {"genlab_version": __version__, "source": str(run), "family": family.name,
                   "dataset": getattr(config, "dataset", None), **description,
                   "output": {"shape": output_shape, "dtype": "float32", "range": [0.0, 1.0],
                              "meaning": "images, N x H x W x C; 0 is the background, 1 full ink (MNIST polarity)"}}
    exporting.write(model, description, target, format, force=force)
    return Path(out)


def report(runs: Sequence[str | Path], out: str | Path = "report.html", title: str = "genlab report", *,
           force: bool = False) -> Path:
    """One self-contained HTML page (figures embedded) for one run or several side by side.

    Parameters:
        runs: run folders.
        out: the HTML file to write.
        title: the page's title.
        force: replace an existing file genlab did not write (a page genlab wrote is replaced anyway;
            a run's own file, a folder or an input never is).

    Returns:
        The path of the page.

    Example:
        >>> genlab.report(["runs/ae-1", "runs/dae-1"], "autoencoders.html")
    """
    from genlab import outputs, report_html

    if not runs:
        raise GenlabError("report needs at least one run folder")
    target = outputs.file_target(out, force=force, inputs=list(runs), option="--out", suffixes=(".html", ".htm"))
    outputs.prepare_parent(target, "--out")
    report_html.build(list(runs), target, title)
    return Path(out)


def run_chapter(out: str | Path | None = None, *, quick: bool = False, data_dir: str | Path | None = None,
                dataset: str = "mnist", samples: int | None = None, verbose: int = 0) -> Path:
    """The whole chapter end to end: classifier, ae, dae and gan with their `chapter` presets,
    the GAN scored by the evaluator, and one HTML report over all four.

    Parameters:
        out: the folder for the four runs and the report (default runs/chapter-<date>-<time>).
        quick: short budgets sized to the data present (genlab.chapter.quick_budgets): minutes.
        data_dir: where to find the dataset (as for `train`).
        dataset: "mnist" or "fashion-mnist".
        samples: how many GAN samples to score (default 1000 quick, 10000 otherwise).
        verbose: 1 shows progress bars.

    Returns:
        The path of the HTML report (in `out`, beside the four run folders).

    Example:
        >>> page = genlab.run_chapter(quick=True)
    """
    from genlab import chapter, outputs

    if out is not None:
        outputs.folder_target(out, option="--out")   # an existing, non-empty folder is refused before anything trains
    if samples is not None:
        samples = _count(samples, "samples", minimum=10, maximum=MAX_SAMPLES)
    return chapter.run_chapter(out, quick, data_dir, dataset, samples, verbose)
