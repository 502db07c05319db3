"""Checkpoint files shared by every family: RUN/checkpoints/<name>.npz plus latest.json naming it.

The .npz is written first (atomically), then latest.json: a crash at any moment leaves either the
previous checkpoint or the new one, never half of one. Arrays only, loaded with allow_pickle=False.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from genlab.errors import RunError


def write(run, name: str, arrays: dict[str, np.ndarray], meta: dict, keep: int = 2) -> Path:
    """Save arrays as checkpoints/<name>.npz, point latest.json at it, keep the newest `keep` files."""
    from genlab import io

    folder = run.checkpoints
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.npz"
    with io.atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
    io.write_json(folder / "latest.json", {**meta, "file": target.name})
    prefix = name.split("-")[0]
    for old in sorted(folder.glob(f"{prefix}-*.npz"))[:-keep]:
        old.unlink(missing_ok=True)
    return target


def latest(run) -> dict:
    """latest.json of RUN; a clear error when there is none."""
    path = run.checkpoints / "latest.json"
    if not path.is_file():
        raise RunError(f"{run.path} has no complete checkpoint to resume from; start a new run instead")
    return json.loads(path.read_text())


@contextmanager
def arrays(run, meta: dict):
    """The arrays of the checkpoint `meta` names (a context manager: the file is closed after)."""
    path = run.checkpoints / meta["file"]
    if not path.is_file():
        raise RunError(f"{path} named by latest.json is missing; the run folder was edited, start a new run")
    with np.load(path, allow_pickle=False) as loaded:
        yield loaded


def state_of(groups: dict[str, list]) -> dict[str, np.ndarray]:
    """{group: [variables]} -> {"group/0000": array}: every backend's variables as numpy arrays."""
    from genlab.backend import to_numpy

    return {f"{group}/{index:04d}": np.asarray(to_numpy(variable))
            for group, variables in groups.items() for index, variable in enumerate(variables)}


def assign(groups: dict[str, list], loaded) -> None:
    """The inverse of state_of; refuses a checkpoint written for other shapes with a one-line error."""
    for group, variables in groups.items():
        for index, variable in enumerate(variables):
            key = f"{group}/{index:04d}"
            if key not in loaded:
                raise RunError(f"checkpoint lacks {key}; it was written by a different config (resume with the run's own config.toml)")
            value = loaded[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise RunError(f"checkpoint {key} has shape {tuple(value.shape)}, the model wants {tuple(variable.shape)}; "
                               "it was written by a different config (resume with the run's own config.toml)")
            variable.assign(value)
