"""Helpers shared by the per-family CLI commands (sample grids, .npz export, latent paths)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def latent_paths(starts: np.ndarray, ends: np.ndarray, steps: int) -> np.ndarray:
    """Straight lines in latent space: (rows, dim) starts and ends -> (rows * steps, dim) float32,
    row by row, each from its start (weight 0) to its end (weight 1)."""
    weights = np.linspace(0.0, 1.0, steps)[None, :, None]                          # (1, steps, 1)
    starts, ends = np.asarray(starts)[:, None, :], np.asarray(ends)[:, None, :]     # (rows, 1, dim)
    return ((1 - weights) * starts + weights * ends).reshape(-1, starts.shape[-1]).astype("float32")


def save_samples(run, images: np.ndarray, args, title: str | None = None, columns: int | None = None) -> Path:
    """Write a grid PNG (and optionally an .npz of the float images) for `genlab sample`."""
    from genlab import io, plotting

    out = Path(args.out) if getattr(args, "out", None) else run.figures / "samples.png"
    plotting.grid(images, out, columns=columns, title=title or f"{len(images)} samples from {run.path.name}")
    message = f"wrote {out}"
    if getattr(args, "npz", None):
        with io.atomic_path(args.npz) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, images=np.asarray(images, dtype=np.float32))
        message += f" and {args.npz} ({len(images)} images, float32 in [0, 1])"
    print(message)
    return out


def evaluate(args) -> dict:
    """`genlab evaluate`: a run (its family's own checks, then sample quality) or a samples file."""
    from genlab import api, evaluation
    from genlab.errors import GenlabError

    if args.samples:
        images = load_samples_file(args.samples)
        reference = evaluation.real_reference(args.dataset, args.data_dir)
        images = evaluation.check_images(images, reference.dataset.image_shape, args.samples)
        rows = {Path(args.samples).name: evaluation.score(images, reference, seed=args.seed)}
        if not args.no_reference:
            rows.update(evaluation.reference_rows(reference))
        evaluation.print_table(rows, f"evaluate {args.samples} against the {args.dataset} test set")
        _write_rows(args, rows)
        return rows
    if args.run is None:
        raise GenlabError("evaluate needs a RUN folder or --samples FILE.npz; see genlab evaluate --help")
    run, family, config = api.open_run(args.run)
    results: dict = {}
    own_check = family.extras.get("evaluate")
    if own_check is not None:
        own_check(run, config, args)
    if family.generate is None or getattr(args, "noise_sweep", False):
        return results
    dataset_name = getattr(config, "dataset", "mnist")
    reference = evaluation.real_reference(dataset_name, args.data_dir)
    images = evaluation.check_images(family.generate(run, args.count, args.seed), reference.dataset.image_shape, str(run.path))
    values = evaluation.score(images, reference, seed=args.seed)
    run.update_metrics({f"sample_{key}": value for key, value in values.items()} | {"evaluator_sha256": reference.evaluator.sha256})
    rows = {f"{family.name} samples": values}
    if not args.no_reference:
        rows.update(evaluation.reference_rows(reference))
    evaluation.print_table(rows, f"evaluate {run.path} ({len(images)} samples vs the {dataset_name} test set)")
    _write_rows(args, rows)
    return rows


def _write_rows(args, rows: dict) -> None:
    if getattr(args, "json", None):
        from genlab import io

        io.write_json(args.json, rows)


def load_samples_file(path) -> np.ndarray:
    from genlab.errors import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"samples file {path} does not exist; write one with genlab sample RUN --npz FILE")
    try:
        with np.load(path, allow_pickle=False) as archive:
            key = "images" if "images" in archive.files else (archive.files[0] if len(archive.files) == 1 else None)
            if key is None:
                raise DataError(f"{path} has arrays {archive.files} but no 'images'; save the samples under the key 'images'")
            return archive[key]
    except (ValueError, OSError) as error:
        raise DataError(f"{path} is not a readable .npz of samples ({str(error).splitlines()[0]}); save one with numpy.savez") from error
