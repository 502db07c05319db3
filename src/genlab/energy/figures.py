"""An energy-based run's figures: the replay buffer during training, the energies over training,
samples drawn from noise, a chain from noise to digit, the energies of real, sampled and noise
images side by side, and corrupted test digits restored by energy descent."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from genlab import engine

CHAIN_POINTS = 10   # images along each chain in chain.png: noise, 8 on the way, the end
CHAINS = 4
HISTOGRAM_IMAGES = 500   # test and noise images in the histogram
HISTOGRAM_SAMPLES = 256  # samples in it (their chains are drawn in one batch with the figures')
BLOCK_STEPS_FACTOR = 5   # restoration.png: a block descends this many times restore_steps


class BufferGrids(engine.Observer):
    """figures/buffer/step-NNNNNN.png: the replay buffer's first sample_grid entries every
    sample_every steps and at the last one (at a fresh start, step 0: uniform noise). What the
    training's chains look like; they are not the samples from noise, which `samples.png` shows."""

    def __init__(self, trainer):
        self.trainer, self.every = trainer, trainer.config.sample_every

    def train_begin(self, context: engine.Context) -> None:
        self.run, self.total = context.run, context.total
        if not context.resumed:
            self.save(0)

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        if step % self.every == 0 or step == self.total:
            self.save(step)

    def save(self, step: int) -> None:
        from genlab import plotting

        images = self.trainer.buffer.show(self.trainer.config.sample_grid)
        folder = self.run.figures / "buffer"
        folder.mkdir(exist_ok=True)
        columns = int(np.ceil(np.sqrt(len(images))))
        plotting.save_png(plotting.grid_array(images, columns), folder / f"step-{step:06d}.png", scale=2)


def chain_points(sampler, starts: np.ndarray, *, steps: int, step_size: float, noise: float,
                 points: int = CHAIN_POINTS) -> np.ndarray:
    """Each chain at `points` moments from its start to `steps` steps (the moments spread evenly):
    float32 (chains, points, H, W, C)."""
    marks = np.unique(np.linspace(0, steps, points).round().astype(int))
    x, out, done = np.asarray(starts, np.float32), [], 0
    for mark in marks:
        x = sampler.run(x, steps=int(mark - done), step_size=step_size, noise=noise)
        done = int(mark)
        out.append(x)
    return np.stack(out, axis=1)


def energy_histogram(energies: Mapping[str, np.ndarray], path) -> None:
    """Two panels: every group over shared bins (noise is usually far off), and the real and
    sampled images alone, so their overlap is visible."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genlab import io, outputs

    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    colours = {"test images": "tab:blue", "samples from noise": "tab:orange", "uniform noise": "tab:gray"}
    for axis, names in ((axes[0], list(energies)), (axes[1], [name for name in energies if name != "uniform noise"])):
        both = np.concatenate([energies[name] for name in names])
        low, high = np.percentile(both, [0.5, 99.5])
        bins = np.linspace(low, high if high > low else low + 1.0, 50)
        for name in names:
            values = energies[name]
            axis.hist(np.clip(values, bins[0], bins[-1]), bins=bins, alpha=0.55, color=colours.get(name),
                      label=f"{name} (mean {np.mean(values):.3g})")
        axis.set_xlabel("energy E(x) (lower = more like the training data)")
        axis.set_ylabel("images")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, frameon=False)
    axes[0].set_title("all three")
    axes[1].set_title("test images and samples")
    figure.tight_layout()
    with io.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=figure.dpi, bbox_inches="tight", metadata=outputs.png_metadata())
    plt.close(figure)


def final(run, config, network, dataset) -> dict:
    """Every end-of-training figure; returns the energies measured for metrics.json."""
    from genlab import data, plotting
    from genlab.energy.langevin import Sampler
    from genlab.energy.restore import corrupt, restore_images

    history = run.read_history()
    plotting.curves(history, [("energy_real", "E(real images)"), ("energy_sampled", "E(Langevin samples)")],
                    run.figures / "energies.png", x_key="step", ylabel="mean energy",
                    title="mean energies during training (a diverging run: the two fly apart)")
    plotting.curves(history, [("loss", "contrastive divergence + penalty")], run.figures / "loss.png", x_key="step",
                    title="EBM loss", secondary=())

    sampler = Sampler(network, config.gradient_clip)
    sampler.reseed(config.seed)
    rng = np.random.default_rng([config.seed, 23])
    shape = dataset.image_shape
    count = max(config.sample_grid, CHAINS, HISTOGRAM_SAMPLES)
    starts = rng.random((count, *shape), dtype=np.float32)
    # The samples' chains, recorded on the way: the first CHAINS of them are the chain figure.
    path = chain_points(sampler, starts, steps=config.sample_steps, step_size=config.step_size, noise=config.noise)
    samples = path[:, -1]
    plotting.grid(samples[:config.sample_grid], run.figures / "samples.png", columns=int(np.ceil(np.sqrt(config.sample_grid))),
                  title=f"samples: {config.sample_steps} Langevin steps from uniform noise")
    plotting.grid(path[:CHAINS].reshape((-1, *shape)), run.figures / "chain.png", columns=path.shape[1],
                  row_labels=[f"chain {index + 1}" for index in range(CHAINS)],
                  title=f"Langevin chains from noise (left) to step {config.sample_steps} (right)")

    test = data.to_float(dataset.x_test[:HISTOGRAM_IMAGES])
    noise_images = rng.random((len(test), *shape), dtype=np.float32)
    energies = {"test images": sampler.energy(test), "samples from noise": sampler.energy(samples),
                "uniform noise": sampler.energy(noise_images)}
    energy_histogram(energies, run.figures / "energy_histogram.png")

    clean = test[:8]
    rows, labels = [], []
    # A block of noise between intact strokes takes longer to fill than noise on every pixel takes
    # to fade (measured on MNIST: about 100 steps against 20), so the block row descends 5x longer.
    for kind, steps in (("noise", config.restore_steps), ("block", BLOCK_STEPS_FACTOR * config.restore_steps)):
        damaged, keep = corrupt(clean, np.random.default_rng([config.seed, 29]), kind)
        rows += [damaged, restore_images(sampler, damaged, steps=steps, step_size=config.step_size, keep=keep)]
        labels += ["noisy" if kind == "noise" else "block of noise", f"{steps} steps"]
    plotting.grid(np.concatenate([*rows, clean]), run.figures / "restoration.png", columns=len(clean),
                  row_labels=[*labels, "clean"],
                  title="restored by energy descent (no noise added; a block: only its pixels move)")
    return {"energy_test": float(np.mean(energies["test images"])),
            "energy_samples": float(np.mean(energies["samples from noise"])),
            "energy_noise": float(np.mean(energies["uniform noise"]))}
