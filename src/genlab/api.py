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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from genlab import backend as _backend
from genlab import config as _config
from genlab import pretrained as _pretrained
from genlab.errors import ConfigError, DataError, GenlabError
from genlab.runs import Run
from genlab.saving import MAX_GRID_IMAGES, save_comparison, save_images, save_json  # noqa: F401 (the API)

from genlab.checks import DEFAULT_SEED, MAX_INTERPOLATION_STEPS, MAX_SAMPLES  # noqa: F401 (the API's limits)
from genlab.checks import count as _count
from genlab.checks import seed as _seed
from genlab.sessions import train  # noqa: F401 (the API)


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
        raise GenlabError(f"{path} is a {family.name} run, which does not generate images; {what} from a run of "
                          f"{_families_that('sample')}")
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
    if label is not None and not family.conditional:
        raise GenlabError(f"{run} is a {family.name} run, which is not conditional; a class needs a run of "
                          f"{_families_that('conditional')}")
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
                          f"give a run of {_families_that('latent_space')}")
    return family.latent_space(opened, config)


def sampler_options_help(family_name: str) -> list[list[str]]:
    """A family's sampler options as rows (option, default, what it does) for `genlab config`."""
    from genlab import families

    rows = []
    for option in families.get(family_name).sampler_options:
        allowed = f" ({', '.join(option.choices)})" if option.choices else ""
        rows.append([f"--{option.name.replace('_', '-')}", f"the run's {option.config_key}", option.help + allowed])
    return rows


def _sample_options(family, options: Mapping[str, Any]) -> dict[str, Any]:
    """The sampler options that were given (None: not given), refused in one line when the family takes no such option."""
    given = {key: value for key, value in options.items() if value is not None}
    takes_names = [option.name for option in family.sampler_options]
    unknown = sorted(set(given) - set(takes_names))
    if unknown:
        takes = (f"it takes {', '.join(takes_names)}" if takes_names
                 else f"sampler options apply to {_families_that('sampler_options')} runs")
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
    return run.image_shape()


def encode(run: str | Path, images) -> np.ndarray:
    """The latent points of images, for a run with an encoder (ae, dae, vae: the code or the
    posterior's mean; a flow: its exact, invertible latent).

    Parameters:
        run: the run folder, or "pretrained:NAME".
        images: as for `reconstruct`: an array N x H x W [x C] in [0, 1], or a PNG/JPEG/.npy path.

    Returns:
        float64 array (N, size): one point per image; `latent_space(run).decode(points)` turns
        them back into images.

    Example:
        >>> points = genlab.encode("runs/vae-20261122-101500", test_images[:2])
    """
    opened, family, config = open_run(run)
    if family.codec is None:
        raise GenlabError(f"{run} is a {family.name} run, which has no encoder; encode needs a run of {_families_that('encode')}")
    return np.asarray(family.codec(opened, config).encode(input_images(opened, images)), dtype=np.float64)


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
    if family.codec is None:
        raise GenlabError(f"{run} is a {family.name} run; reconstruct needs a run of {_families_that('reconstruct')}")
    return family.codec(opened, config).reconstruct(input_images(opened, images))


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
    if not family.can("denoise"):
        able = _families_that("denoise")
        raise GenlabError(f"{run} is a '{family.name}' run; denoise needs a {able} run (genlab train {able.split(',')[0]})")
    return family.codec(opened, config).reconstruct(input_images(opened, images))


def _families_that(capability: str) -> str:
    """The families that can do `capability`, for a message: "ae, dae or vae"."""
    from genlab import families

    able = [family.name for family in families.all_families()
            if {"sampler_options": bool(family.sampler_options), "conditional": family.conditional}.get(
                capability, capability in family.capabilities())]
    return ", ".join(able[:-1]) + " or " + able[-1] if len(able) > 1 else (able[0] if able else "no")


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
        real = evaluation.real_reference(dataset_name, data_dir, image_size=getattr(config, "image_size", None),
                                         channels=getattr(config, "image_channels", None))
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
                          f"export a run of {_families_that('export')}")
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
