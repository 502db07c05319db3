"""Writing what commands make: grid pictures, .npz sample files, side-by-side comparisons and JSON
figures, each checked by genlab.outputs first (never a run's own files, an input, or a file genlab
did not write without force). Re-exported by genlab.api."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from genlab.errors import RunError

MAX_GRID_IMAGES = 400   # a grid PNG of more images is unreadable (and slow to draw): the first 400 are shown


def save_images(images: np.ndarray, png: str | Path | None = None, *, npz: str | Path | None = None,
                title: str | None = None, columns: int | None = None, row_labels: Sequence[str] | None = None,
                force: bool = False, inputs: Sequence[str | Path] = ()) -> list[Path]:
    """Write images as a grid picture and/or all of them to an .npz file.

    Parameters:
        images: an array N x H x W [x C] in [0, 1] (e.g. from `sample`).
        png: a PNG path for the grid (at most MAX_GRID_IMAGES = 400 images drawn); None: no picture.
        npz: an .npz path for all the images (key `images`, float32); None: no file.
        title: a title above the grid.
        columns: images per row (default: a square grid).
        row_labels: a label for each row (e.g. the classes of a cGAN's rows).
        force: replace existing files that genlab did not write (a file genlab wrote is replaced
            anyway; a run's own files, a folder or an input never are: genlab.outputs).
        inputs: the paths the images came from (a run folder, an image), never written over.

    Returns:
        The list of paths written (each file written atomically).

    Example:
        >>> genlab.save_images(genlab.sample(run.path, 64), "samples.png", columns=8, npz="samples.npz")
    """
    from genlab import io, outputs, plotting

    # Both targets are checked before either is written: a refused --npz leaves no new PNG behind.
    png_target = outputs.file_target(png, force=force, inputs=inputs, option="--out", suffixes=(".png",)) if png is not None else None
    npz_target = outputs.file_target(npz, force=force, inputs=inputs, option="--npz", suffixes=(".npz",)) if npz is not None else None
    if png_target is not None and png_target == npz_target:
        raise RunError(f"--out and --npz are the same file {png}; give two names")
    written = []
    if png_target is not None:
        shown = images[:MAX_GRID_IMAGES]
        if len(images) > len(shown):
            title = f"{title or ''} (first {len(shown)} of {len(images)})".strip()
        outputs.prepare_parent(png_target, "--out")
        plotting.grid(shown, png_target, columns=columns, title=title, row_labels=row_labels)
        written.append(Path(png))
    if npz_target is not None:
        outputs.prepare_parent(npz_target, "--npz")
        with io.atomic_path(npz_target) as tmp:
            with open(tmp, "wb") as handle:
                # Not savez_compressed: generated float32 pixels barely compress (10000 GAN samples:
                # 29.1 MB against 31.4 MB) and deflating them took 0.9 s of a 10000-sample command.
                np.savez(handle, images=np.asarray(images, dtype=np.float32))
            outputs.mark_npz(tmp)
        written.append(Path(npz))
    return written


def save_comparison(originals: np.ndarray, results: np.ndarray, out: str | Path, *, force: bool = False,
                    inputs: Sequence[str | Path] = ()) -> Path:
    """One PNG with each input image beside its result (reconstruct, denoise): rows of (input | result).

    Parameters:
        originals: float32 array N x H x W x C in [0, 1], the inputs.
        results: the command's outputs for them, of the same shape.
        out: the PNG to write (checked like `save_images`' png).
        force: replace an existing file genlab did not write.
        inputs: the command's input paths, never written over.

    Returns:
        The path written.

    Example:
        >>> genlab.api.save_comparison(noisy, genlab.denoise("pretrained:mnist-dae", noisy), "denoised.png")
    """
    from genlab import outputs, plotting

    target = outputs.file_target(out, force=force, inputs=inputs, option="--out", suffixes=(".png",))
    side_by_side = np.concatenate([np.concatenate([image, result], axis=1) for image, result in zip(originals, results)], axis=0)
    outputs.prepare_parent(target, "--out")
    plotting.save_png(plotting.grid_array(side_by_side[None], columns=1, pad=0), target, scale=4)
    return Path(out)


def save_json(values: Mapping[str, Any], out: str | Path, *, force: bool = False, inputs: Sequence[str | Path] = ()) -> Path:
    """Write a command's figures (e.g. `Evaluation.rows`) as JSON, checked like every output.

    Parameters:
        values: a JSON-serialisable mapping (numpy numbers allowed).
        out: the .json file; an existing one is replaced only with force (never a run's own file).
        force: replace an existing file.
        inputs: the command's input paths, never written over.

    Returns:
        The path written.

    Example:
        >>> genlab.api.save_json(genlab.evaluate("pretrained:mnist-gan", count=1000).rows, "fid.json")
    """
    from genlab import io, outputs

    target = outputs.file_target(out, force=force, inputs=inputs, option="--json", suffixes=(".json",))
    outputs.prepare_parent(target, "--json")
    io.write_json(target, dict(values))
    return Path(out)
