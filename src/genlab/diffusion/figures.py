"""The diffusion family's figures: the fixed-noise progress grids drawn during training, the
figures drawn after it (progress GIF, loss curve against 'predict zero', samples, the reverse
process) and FID against the number of sampling steps (the sampler's cost/quality curve).

`config` is a DiffusionConfig (genlab.families.diffusion); `network` a trained U-Net (`unet.build_network`).
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np

from genlab.diffusion.sampling import class_count, sample_images
from genlab.diffusion.schedule import timestep_sequence
from genlab.diffusion.steplog import read_steps
from genlab.errors import GenlabError

# The family's logger: these messages read the same as when this code lived in genlab.families.diffusion.
log = logging.getLogger("genlab.diffusion")


def fixed_grid_inputs(config, image_shape, num_classes: int):
    """The progress grid's fixed noise seed and labels (one row per class when conditional) and its columns."""
    if config.conditional:
        per_class = max(config.sample_grid // num_classes, 1)
        return np.repeat(np.arange(num_classes), per_class), per_class
    return None, int(math.ceil(math.sqrt(config.sample_grid)))


def save_fixed_grid(run, config, network, fixed, step: int) -> None:
    """figures/samples/step-NNNNNN.png: the same noise (seed + 7) through the run's sampler with grid_steps, over training."""
    from genlab import plotting

    labels, columns = fixed
    count = len(labels) if labels is not None else config.sample_grid
    images, _ = sample_images(network, config, count, seed=config.seed + 7, labels=labels, steps=config.grid_steps,
                              progress=False, num_classes=class_count(network))
    folder = run.figures / "samples"
    folder.mkdir(exist_ok=True)
    plotting.save_png(plotting.grid_array(images, columns), folder / f"step-{step:06d}.png", scale=2)


def figures(run, config, network, dataset) -> None:
    """After training, in run.figures: progress.gif (the fixed-noise grids), loss.png (against the 1.0 of
    predicting zero), samples.png (64 images of the run's sampler) and reverse.png."""
    from PIL import Image

    from genlab import plotting

    frames = [np.asarray(Image.open(path)) for path in sorted((run.figures / "samples").glob("step-*.png"))]
    if frames:
        plotting.gif(frames, run.figures / "progress.gif", scale=1)
    rows = read_steps(run)
    if rows:
        plotting.curves([{**row, "zero": 1.0} for row in rows], [("loss", "training loss (noise MSE)"),
                                                                 ("zero", "predicting zero (E[eps²] = 1)")],
                        run.figures / "loss.png", x_key="step", title="diffusion: noise-prediction loss", ylabel="MSE")
    classes = dataset.num_classes
    labels = np.arange(64) % classes if config.conditional else None
    samples, _ = sample_images(network, config, 64, seed=config.seed, labels=labels, progress=False, num_classes=classes)
    plotting.grid(samples, run.figures / "samples.png", columns=8,
                  title=f"{config.sampler}, {config.sample_steps} steps" + (f", guidance {config.guidance}" if config.conditional else ""))
    reverse_figure(run.figures / "reverse.png", network, config, seed=config.seed + 1, classes=classes)


def reverse_figure(path, network, config, *, seed: int, classes: int = 10, count: int = 8, points: int = 10):
    """The reverse process: `count` samples (rows) at `points` time points from x_T (noise) to x_0."""
    from genlab import plotting

    steps = config.sample_steps
    shown = sorted(set(np.round(np.linspace(0, steps, points)).astype(int)))
    labels = np.arange(count) % classes if config.conditional else None
    _, states = sample_images(network, config, count, seed=seed, labels=labels, progress=False, record=set(shown),
                              num_classes=classes)
    sequence = timestep_sequence(config.timesteps, steps)
    # (points, count, H, W, C) -> rows of one sample each: (count * points, H, W, C)
    images = np.stack([states[index] for index in shown], axis=1).reshape((-1,) + states[shown[0]].shape[1:])
    titles = [f"t={sequence[index]}" if row == 0 else "" for row in range(count) for index in shown]
    plotting.grid(images, path, columns=len(shown), titles=titles,
                  title=f"reverse process ({config.sampler}, {steps} steps): noise x_T → image x_0")


def fid_against_steps(network, config, dataset_name: str, steps_list, count: int, *, seed: int = 0,
                      data_dir=None, path=None) -> list[dict]:
    """FID (and KID) of `count` samples for each number of sampling steps, with seconds per image:
    the sampler's cost/quality curve. Draws `path` (a PNG) when given."""
    from genlab import evaluation

    real = evaluation.real_reference(dataset_name, data_dir, image_size=getattr(config, "image_size", None),
                                     channels=getattr(config, "image_channels", None))
    if not real.has_network:     # a dataset judged by its rule score alone (mondrian): no FID to plot
        raise GenlabError(real.evaluator.reason)
    classes = class_count(network)
    labels = np.arange(count) % classes if config.conditional else None
    rows = []
    for steps in steps_list:
        started = time.perf_counter()
        images, _ = sample_images(network, config, count, seed=seed, labels=labels, steps=int(steps), progress=False,
                                  num_classes=classes)
        seconds = (time.perf_counter() - started) / count
        scores = evaluation.score(images, real, seed=seed)
        rows.append({"steps": int(steps), "fid": scores["fid"], "kid": scores["kid"], "precision": scores["precision"],
                     "recall": scores["recall"], "seconds_per_image": seconds, "samples": count})
        log.info(f"{steps} steps: FID {scores['fid']:.2f}, {1000 * seconds:.1f} ms per image")
    if path is not None:
        _fid_plot(rows, path, config)
    return rows


def _fid_plot(rows, path, config):
    from genlab import plotting

    figure, axis = plotting.plt.subplots(figsize=(6, 4))
    steps = [row["steps"] for row in rows]
    axis.plot(steps, [row["fid"] for row in rows], marker="o", label="FID")
    for row in rows:
        axis.annotate(f"{1000 * row['seconds_per_image']:.0f} ms/img", (row["steps"], row["fid"]), fontsize=8,
                      textcoords="offset points", xytext=(4, 6))
    axis.set_xscale("log")
    axis.margins(x=0.12)        # room for the last point's label
    axis.minorticks_off()       # a log axis labels its minor ticks "2x10^1" otherwise: only the measured steps
    axis.set_xticks(steps)
    axis.set_xticklabels([str(value) for value in steps])
    axis.set_xlabel(f"{config.sampler} sampling steps (eta {config.eta})")
    axis.set_ylabel(f"FID ({rows[0]['samples']} samples, lower is better)")
    axis.grid(alpha=0.3)
    axis.set_title("sampler cost against quality")
    figure.tight_layout()
    plotting._save(figure, path)


def fid_figure(run, config, network, dataset_name: str, data_dir) -> dict:
    """figures/fid_steps.png after training: FID of fid_samples images at each of fid_steps."""
    try:
        rows = fid_against_steps(network, config, dataset_name, config.fid_steps, max(config.fid_samples, 10),
                                 seed=config.seed + 13, data_dir=data_dir, path=run.figures / "fid_steps.png")
    except GenlabError as error:      # no shipped evaluator for this dataset: no figure, say why
        log.warning(f"no FID-against-steps figure: {error}")
        return {}
    metrics = {}
    for row in rows:
        metrics[f"fid_{row['steps']}_steps"] = row["fid"]
        metrics[f"seconds_per_image_{row['steps']}_steps"] = row["seconds_per_image"]
    return metrics
