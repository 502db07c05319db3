"""Figures, kept apart from training. Every function takes arrays and a path, writes a PNG
atomically and returns the path. Layouts follow the chapter: a row of originals over a row
of reconstructions (figsize 20 x 6 for two rows), gray colormap, no axes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from genlab import io, outputs  # noqa: E402


def _save(figure, path: str | Path) -> Path:
    path = Path(path)
    with io.atomic_path(path) as tmp:
        # genlab's mark: `genlab sample` may then replace this picture without --force (genlab.outputs).
        figure.savefig(tmp, format="png", dpi=figure.dpi, bbox_inches="tight", metadata=outputs.png_metadata())
    plt.close(figure)
    return path


def _as_display(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    """H x W x 1 or H x W -> H x W with gray colormap; H x W x 3 -> RGB."""
    image = np.asarray(image)
    if image.ndim == 1:
        side = int(round(np.sqrt(image.size)))
        image = image.reshape(side, side)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype == np.uint8:
        image = image.astype("float32") / 255.0
    return np.clip(image, 0.0, 1.0), ("gray" if image.ndim == 2 else None)


def _legend_below(axis, handles, labels, columns: int) -> None:
    # Below the axes: inside, the legend hid the curves it names.
    axis.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=min(len(labels), columns), fontsize=8,
                frameon=False)


def image_rows(rows: Sequence[tuple[str, np.ndarray]], path: str | Path, cell: float = 2.0) -> Path:
    """The chapter's layout: one labelled row per entry, images side by side.

    rows: [(label, images N x H x W x C or N x 784)], all with the same N.
    """
    columns = max(len(images) for _, images in rows)
    figure, axes = plt.subplots(len(rows), columns, figsize=(cell * columns, 3.0 * len(rows)), squeeze=False)
    for row_index, (label, images) in enumerate(rows):
        for column in range(columns):
            axis = axes[row_index][column]
            axis.set_xticks([])
            axis.set_yticks([])
            for spine in axis.spines.values():
                spine.set_visible(False)
            if column < len(images):
                picture, cmap = _as_display(images[column])
                axis.imshow(picture, cmap=cmap, vmin=0, vmax=1)
        axes[row_index][0].set_ylabel(label, fontsize=14)
    figure.tight_layout()
    return _save(figure, path)


def grid(images: np.ndarray, path: str | Path, columns: int | None = None, title: str | None = None,
         row_labels: Sequence[str] | None = None, cell: float = 0.9, titles: Sequence[str] | None = None) -> Path:
    """A compact grid of images (sample grids, interpolation strips).

    Without per-image titles the images are tiled into one picture and drawn with a single
    imshow: one axes instead of hundreds keeps a 400-image grid well under a second."""
    images = np.asarray(images)
    count = len(images)
    columns = columns or int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    if titles is None:
        return _tiled_grid(images, path, columns, rows, title, row_labels, cell)
    figure, axes = plt.subplots(rows, columns, figsize=(cell * columns, cell * rows + (0.4 if title else 0)), squeeze=False)
    for index in range(rows * columns):
        axis = axes[index // columns][index % columns]
        axis.axis("off")
        if index < count:
            picture, cmap = _as_display(images[index])
            axis.imshow(picture, cmap=cmap, vmin=0, vmax=1)
            if titles is not None:
                axis.set_title(titles[index], fontsize=8)
    if row_labels is not None:
        for row, label in enumerate(row_labels[:rows]):
            axes[row][0].axis("on")
            axes[row][0].set_xticks([])
            axes[row][0].set_yticks([])
            axes[row][0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(wspace=0.05, hspace=0.35 if titles is not None else 0.05)
    return _save(figure, path)


def _tiled_grid(images, path, columns: int, rows: int, title, row_labels, cell: float) -> Path:
    height, width = images.shape[1:3]
    pad = max(1, height // 14)                      # 2 pixels between 28-pixel digits
    canvas = grid_array(images, columns, pad=pad)
    figure, axis = plt.subplots(figsize=(cell * columns, cell * rows + (0.4 if title else 0)))
    axis.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None, vmin=0, vmax=255, interpolation="nearest")
    axis.set_xticks([])
    axis.set_yticks([])
    for side in axis.spines.values():
        side.set_visible(False)
    if row_labels is not None:
        axis.set_yticks([pad + row * (height + pad) + height / 2 for row in range(min(rows, len(row_labels)))])
        axis.set_yticklabels(list(row_labels)[:rows], fontsize=9)
        axis.tick_params(axis="y", length=0)
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout(pad=0.3)
    return _save(figure, path)


def grid_array(images: np.ndarray, columns: int, pad: int = 2) -> np.ndarray:
    """Tile images into one uint8 picture (for GIF frames and side-by-side PNGs)."""
    images = np.asarray(images, dtype="float32")
    if images.ndim == 3:
        images = images[..., None]
    count, height, width, channels = images.shape
    rows = int(np.ceil(count / columns))
    canvas = np.ones((rows * (height + pad) + pad, columns * (width + pad) + pad, channels), dtype="float32")
    for index in range(count):
        top = pad + (index // columns) * (height + pad)
        left = pad + (index % columns) * (width + pad)
        canvas[top:top + height, left:left + width] = images[index]
    canvas = (np.clip(canvas, 0, 1) * 255).round().astype("uint8")
    return canvas[..., 0] if channels == 1 else canvas


def save_png(array_uint8: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    from PIL import Image

    image = Image.fromarray(array_uint8)
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    path = Path(path)
    with io.atomic_path(path) as tmp:
        image.save(tmp, format="PNG", pnginfo=outputs.png_info())
    return path


def gif(frames: Sequence[np.ndarray], path: str | Path, milliseconds: int = 200, scale: int = 3) -> Path:
    """An animated GIF (e.g. the GAN's fixed-noise grid over training)."""
    from PIL import Image

    pictures = [Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST) for frame in frames]
    path = Path(path)
    with io.atomic_path(path) as tmp:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=milliseconds, loop=0)
    return path


SHORT_HISTORY = 12  # points; curves with at most this many show a marker on each


def curves(history: Sequence[dict], series: Sequence[tuple[str, str]], path: str | Path,
           x_key: str = "epoch", title: str | None = None, ylabel: str = "loss",
           secondary: Sequence[tuple[str, str]] = ()) -> Path:
    """Training curves from history rows; `series` is [(column, label)]; `secondary` goes on a right axis."""
    figure, axis = plt.subplots(figsize=(7, 4))
    xs = [row[x_key] for row in history]
    # A line needs two points and reads as a trend only with several: short histories (one or two
    # epochs of a quick run) get a marker on every point, or one epoch would draw an empty frame.
    marker = {"marker": "o", "markersize": 5} if len(history) <= SHORT_HISTORY else {}
    for key, label in series:
        if history and key in history[0]:
            axis.plot(xs, [row[key] for row in history], label=label, **marker)
    if x_key == "epoch":
        axis.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # no "epoch 1.25"
        if xs and len(set(xs)) < 3:  # one or two epochs: half an epoch of margin, not 0.945..1.05
            axis.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
            axis.set_xticks(sorted(set(xs)))
    axis.set_xlabel(x_key)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    handles, labels = axis.get_legend_handles_labels()
    if secondary:
        right = axis.twinx()
        # Colours after the primary series', so "D loss" and "D acc on real" are not both blue.
        for index, (key, label) in enumerate(secondary, start=len(series)):
            if history and key in history[0]:
                right.plot(xs, [row[key] for row in history], linestyle="--", color=f"C{index}", alpha=0.8, label=label,
                           **marker)
        right.set_ylim(-0.02, 1.02)
        right.set_ylabel("accuracy")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    _legend_below(axis, handles, labels, columns=4)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = "confusion matrix") -> Path:
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    shown = axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axis.set_yticks(range(len(class_names)), class_names)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    threshold = matrix.max() / 2 if matrix.size else 0
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            axis.text(column, row, str(int(matrix[row, column])), ha="center", va="center", fontsize=7,
                      color="white" if matrix[row, column] > threshold else "black")
    figure.colorbar(shown, ax=axis)
    axis.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def scatter_codes(points: np.ndarray, labels: np.ndarray, class_names: Sequence[str], path: str | Path, title: str) -> Path:
    figure, axis = plt.subplots(figsize=(7, 6))
    shown = axis.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=shown.cmap(shown.norm(k)), label=name) for k, name in enumerate(class_names)]
    axis.legend(handles=handles, fontsize=7, loc="best", markerscale=1.5)
    axis.set_title(title)
    axis.set_xticks([])
    axis.set_yticks([])
    figure.tight_layout()
    return _save(figure, path)


def fid_against_seconds(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], path: str | Path,
                        target: float | None = None, title: str | None = None) -> Path:
    """FID against training seconds, one line per recipe, on one log-y plot (`genlab bench
    quality`); `series` is [(label, seconds, fids)]; `target` draws the FID to reach as a dashed line."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for label, seconds, fids in series:
        # A point per scoring: there are few (every 200 steps), and each is a measurement.
        axis.plot(seconds, fids, marker="o", markersize=4, label=label)
    if target is not None:
        axis.axhline(target, color="gray", linestyle="--", linewidth=1, label=f"target FID {target:.2f}")
    axis.set_yscale("log")
    # Plain numbers (180, 20), not 1.8x10^2. A decade has one major tick at most, so over less than
    # half a decade (90 to 190: the log locator's ticks were 90 and 100 only) evenly spaced round
    # values are the ticks; over up to 2.5 decades minor ticks at 2, 3 and 5 times a power of ten
    # are labelled too (all would crowd); over a wider span the decades suffice.
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    values = [fid for _, _, fids in series for fid in fids if np.isfinite(fid) and fid > 0] + ([target] if target else [])
    span = np.log10(max(values) / min(values)) if values else 0.0
    axis.yaxis.set_major_formatter(plain)
    if span < 0.5:
        axis.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axis.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    elif span < 2.5:
        axis.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 3.0, 5.0)))
        axis.yaxis.set_minor_formatter(plain)
    else:
        axis.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel("training seconds (scoring excluded)")
    axis.set_ylabel("FID (log scale)")
    axis.grid(alpha=0.3, which="both")
    _legend_below(axis, *axis.get_legend_handles_labels(), columns=3)
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def score_histograms(panels: Sequence[tuple[str, np.ndarray, np.ndarray]], names: tuple[str, str], path: str | Path,
                     title: str | None = None) -> Path:
    """Side-by-side histograms of two datasets' scores (`genlab ood`): `panels` is [(label,
    scores of the run's own test set, scores of the other dataset's)], drawn over shared bins."""
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.6), squeeze=False)
    for axis, (label, inside, outside) in zip(axes[0], panels):
        both = np.concatenate([inside, outside])
        # Bins over the central 99.8%: one wild score would otherwise squash both histograms to a line.
        low, high = np.percentile(both, [0.1, 99.9])
        bins = np.linspace(low, high if high > low else low + 1.0, 60)
        for scores, name, colour in ((inside, names[0], "tab:blue"), (outside, names[1], "tab:orange")):
            axis.hist(np.clip(scores, bins[0], bins[-1]), bins=bins, alpha=0.55, color=colour, label=f"{name} (test)")
        axis.set_xlabel(label + "\n(higher = less like the training data)")
        axis.set_ylabel("images")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, frameon=False, loc="upper right")
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, path)
