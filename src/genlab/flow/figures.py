"""The flow's figures: its bits/dim curve, samples at T = 1 and at Glow's T = 0.7, and straight
lines in z between real test digits."""
from __future__ import annotations

import math

import numpy as np

from genlab import plotting

COLD = 0.7
PAIRS = 6          # interpolation rows
STEPS = 9          # points on each line, its two ends (the originals) included


def curve(run, path, steps_per_epoch: int, dequantization: str = "uniform") -> None:
    """Training bits/dim per `log_every` updates (steps.csv) and validation bits/dim after each
    epoch (history.csv), against updates: both the dequantized upper bound."""
    import matplotlib.pyplot as plt

    from genlab.diffusion.steplog import read_steps

    rows, history = read_steps(run), run.read_history()
    figure, axis = plt.subplots(figsize=(7, 4))
    if rows:
        axis.plot([row["step"] for row in rows], [row["loss"] for row in rows], label="train", color="C0",
                  marker="o" if len(rows) < 3 else None)
    validation = [(row["epoch"], row["val_loss"]) for row in history if "val_loss" in row]
    if validation and rows:
        # An epoch cut short by the time budget ends where the training ended.
        ends = [min(epoch * steps_per_epoch, rows[-1]["step"]) for epoch, _ in validation]
        axis.plot(ends, [value for _, value in validation], label="validation (after each epoch)", color="C1", marker="o")
    shown = [value for _, value in validation] + [row["loss"] for row in rows[len(rows) // 4:]]
    if shown:   # the first updates' 4-8 bits/dim would flatten the rest of the curve
        axis.set_ylim(0.97 * min(shown), 1.15 * max(shown))
    axis.set_xlabel("update")
    axis.set_ylabel("bits/dim (upper bound)")
    axis.set_title(f"flow: negative log-likelihood, {dequantization} dequantization")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    plotting._save(figure, path)


def figures(run, config, flow, dataset) -> None:
    from genlab import data
    from genlab.flow.codes import decode, draw, encode
    from genlab.latent import latent_paths

    trained_on = min(config.train_images or len(dataset.x_train), len(dataset.x_train))
    curve(run, run.figures / "curves.png", math.ceil(trained_on / config.batch_size), config.dequantization)
    points = draw(config.seed, config.sample_grid, flow.dimensions)
    columns = min(8, config.sample_grid)
    for temperature, name in ((1.0, "samples.png"), (COLD, "samples_cold.png")):
        plotting.grid(decode(flow.decoder, temperature * points), run.figures / name, columns=columns,
                      title=f"samples, z ~ N(0, T² I), T = {temperature:g}")
    test_images = data.to_float(dataset.x_test)
    pairs = [(first, first + 1) for first in range(1, 2 * PAIRS, 2) if first + 1 < len(test_images)]
    if not pairs:
        return
    starts, ends = (np.array(indices) for indices in zip(*pairs))
    codes = encode(flow.encoder, test_images[np.concatenate([starts, ends])])
    path = decode(flow.decoder, latent_paths(codes[:len(pairs)], codes[len(pairs):], STEPS))
    plotting.grid(path, run.figures / "interpolation.png", columns=STEPS, row_labels=[f"#{a} → #{b}" for a, b in pairs],
                  title="straight lines in z between test digits (the ends decode to the originals)")
