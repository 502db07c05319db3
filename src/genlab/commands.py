"""Helpers shared by the per-family CLI commands (sample grids, .npz export)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


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
