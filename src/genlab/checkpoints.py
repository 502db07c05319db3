"""Checkpoint files shared by every family, in RUN/checkpoints/:

    step-000012.npz    the arrays (weights, optimizer state, data order...), loaded with allow_pickle=False
    step-000012.json   its record: the meta the family saved (step or epoch, elapsed_s, data order,
                       RNG state...) plus the .npz's size and SHA-256
    latest.json        a copy of the newest checkpoint's record: which one to resume from

Write order: the .npz, then its record, then latest.json, each atomically (genlab.io), then the
oldest checkpoints beyond `keep` are removed. A crash at any moment therefore leaves complete
checkpoints only, and latest.json is an index that can be rebuilt from the records present.

Why a record beside the .npz rather than the meta inside it: the SHA-256 of a file cannot be
stored in the file itself, the record can be read (and the hash checked) without handing a
possibly damaged zip to np.load, and rebuilding latest.json only reads a few small JSON files.

Reading (`latest`) returns the newest *intact* checkpoint: one that is missing, truncated or
whose SHA-256 differs is skipped with one logged warning naming it and the one used instead;
only when none is intact is it a RunError, naming every file tried.
"""
from __future__ import annotations

import hashlib
import io as _stdio
import json
import logging
import re
import struct
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from genlab.errors import RunError

logger = logging.getLogger(__name__)

# How many checkpoints of each kind a run keeps: one damaged file then still leaves two to resume from.
KEEP = 3

LATEST = "latest.json"
# Checkpoint names genlab writes ("step-000012", "epoch-0003"): a name read back from latest.json
# or a record must match this, so a hand-edited file cannot point outside the checkpoints folder.
_NAME = re.compile(r"^[a-z]+-\d+$")
# What np.load and zipfile raise on a damaged archive (bad zip structure, bad CRC, a cut-off
# member, a garbled .npy header or a pickled/object array we refuse to load).
_READ_ERRORS = (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, struct.error, zlib.error)


def write(run, name: str, arrays: dict[str, np.ndarray], meta: dict, keep: int | None = None) -> Path:
    """Save arrays as checkpoints/<name>.npz with its record, point latest.json at it, keep the newest `keep` (default KEEP)."""
    from genlab import io

    keep = KEEP if keep is None else max(1, int(keep))
    folder = run.checkpoints
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.npz"
    with io.atomic_path(target) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        # Hashed from the temporary file as written, so the record describes exactly the bytes renamed into place.
        size, digest = _size_and_sha256(tmp)
    record = {**meta, "file": target.name, "bytes": size, "sha256": digest}
    io.write_json(folder / f"{name}.json", record)
    io.write_json(folder / LATEST, record)
    _remove_old(folder, name, keep)
    return target


def _remove_old(folder: Path, name: str, keep: int) -> None:
    """Remove the checkpoints older than `name` beyond the newest `keep` (counting `name` itself).

    Only older ones: a newer name than the one just written can only be left over from before a
    fall-back to an older checkpoint, and training overwrites it when it gets there again.
    """
    prefix = name.split("-")[0]
    stems = sorted({path.stem for pattern in (f"{prefix}-*.npz", f"{prefix}-*.json") for path in folder.glob(pattern)
                    if _NAME.match(path.stem)})
    older = [stem for stem in stems if stem < name]
    for stem in older[:max(0, len(older) - (keep - 1))]:
        # The record first: a crash in between leaves an orphan .npz (never resumed from, removed next time),
        # never a record whose arrays are gone.
        (folder / f"{stem}.json").unlink(missing_ok=True)
        (folder / f"{stem}.npz").unlink(missing_ok=True)


def _size_and_sha256(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _read_record(path: Path) -> tuple[dict | None, str]:
    """(record, "") for a readable checkpoint record or latest.json; (None, why not) otherwise."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None, "missing"
    except (OSError, UnicodeDecodeError) as error:
        return None, f"unreadable: {getattr(error, 'strerror', None) or type(error).__name__}"
    try:
        record = json.loads(text)
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(record, dict) or not isinstance(record.get("file"), str) \
            or not record["file"].endswith(".npz") or not _NAME.match(record["file"][:-len(".npz")]):
        return None, "does not name a checkpoint file"
    return record, ""


def _problem(folder: Path, record: dict) -> str:
    """Why the checkpoint `record` describes cannot be resumed from, or "" when it is intact."""
    path = folder / record["file"]
    try:
        size, digest = _size_and_sha256(path)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable: {error.strerror}"
    expected_size, expected_digest = record.get("bytes"), record.get("sha256")
    if expected_digest is None:
        # Written before checkpoints carried a SHA-256: the zip's own CRCs are the check left.
        try:
            with zipfile.ZipFile(path) as archive:
                bad_member = archive.testzip()
        except _READ_ERRORS as error:
            return f"not a readable .npz: {type(error).__name__}"
        return f"bad CRC in {bad_member}" if bad_member else ""
    if isinstance(expected_size, int) and size < expected_size:
        return f"truncated: {size} of {expected_size} bytes"
    if digest != expected_digest:
        return "sha256 mismatch"
    return ""


def latest(run) -> dict:
    """The record (meta, "file", "sha256") of RUN's newest intact checkpoint; a one-line RunError when there is none.

    The newest is the one latest.json names; older ones (by name) are the fall-backs. When
    latest.json itself is missing or damaged it is rebuilt from the records present.
    """
    folder = run.checkpoints
    records: dict[str, dict | None] = {}     # file name -> record (None: the record itself is unreadable)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        if path.name != LATEST and _NAME.match(path.stem):
            record = _read_record(path)[0]
            # A record naming another file than its own was garbled: it describes nothing safely.
            records[f"{path.stem}.npz"] = record if record is not None and record["file"] == f"{path.stem}.npz" else None
    index, index_problem = _read_record(folder / LATEST)
    if index is not None:
        # latest.json decides which checkpoint is newest; a newer-named file it does not name is not
        # complete yet (written just before a crash) or was abandoned by a fall-back.
        prefix = index["file"].split("-")[0] + "-"
        candidates = [index["file"]] + sorted((name for name in records if name.startswith(prefix) and name < index["file"]),
                                              reverse=True)
        records[index["file"]] = index
    else:
        if not records:
            raise RunError(f"{run.path} has no complete checkpoint to resume from; start a new run instead")
        candidates = sorted(records, reverse=True)
    tried: list[tuple[str, str]] = []       # (file name, what is wrong with it)
    for name in candidates:
        record = records.get(name)
        problem = "its record is unreadable" if record is None else _problem(folder, record)
        if problem:
            tried.append((name, problem))
            continue
        if index is None:
            _rebuild_index(folder, record)
            state = "missing" if index_problem == "missing" else f"damaged ({index_problem})"
            logger.warning("checkpoints/%s is %s; rebuilt it from the checkpoint files present (newest intact: %s)",
                           LATEST, state, name)
        if tried:
            damaged = ", ".join(f"{file} is damaged ({why})" for file, why in tried)
            logger.warning("checkpoint %s; resuming from %s", damaged, name)
        return record
    raise RunError(f"{run.path} has no intact checkpoint left (tried {', '.join(f'{file}: {why}' for file, why in tried)}); "
                   "restore one from a copy or start a new run")


def _rebuild_index(folder: Path, record: dict) -> None:
    from genlab import io

    try:
        io.write_json(folder / LATEST, record)
    except RunError:
        pass  # a read-only run folder: the resume reads the record directly; training's own writes will report it


@contextmanager
def arrays(run, meta: dict):
    """The arrays of the checkpoint `meta` names, as a dict (a context manager, as callers use it).

    The file is read once, its SHA-256 checked against the record, and every array loaded
    before anything is handed back: a damaged file is one RunError here, never a zip or NumPy
    traceback in the middle of restoring a model.
    """
    name = meta.get("file")
    if not isinstance(name, str) or not name.endswith(".npz") or not _NAME.match(name[:-len(".npz")]):
        raise RunError(f"{run.checkpoints / LATEST} names no checkpoint file; delete it to rebuild it from the checkpoints present")
    path = run.checkpoints / name
    if not path.is_file():
        raise RunError(f"{path} named by latest.json is missing; the run folder was edited, start a new run")
    try:
        content = path.read_bytes()
    except OSError as error:
        raise RunError(f"cannot read checkpoint {path}: {error.strerror}; check the file's permissions") from error
    expected = meta.get("sha256")
    if expected is not None and hashlib.sha256(content).hexdigest() != expected:
        raise RunError(f"checkpoint {path} is damaged (sha256 mismatch); restore it from a copy or start a new run")
    try:
        with np.load(_stdio.BytesIO(content), allow_pickle=False) as loaded:
            values = {key: loaded[key] for key in loaded.files}
    except _READ_ERRORS as error:
        detail = f"{type(error).__name__}: {str(error).splitlines()[0]}" if str(error).strip() else type(error).__name__
        raise RunError(f"checkpoint {path} is damaged ({detail}); "
                       "restore it from a copy or start a new run") from error
    yield values


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
