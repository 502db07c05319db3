"""Crash-safe file writing.

Every artefact genlab writes (configs, metrics, history, models, checkpoints, downloads) goes
through `atomic_path`: the content is written to a temporary file in the *same* folder, flushed
and fsync'ed, then renamed over the target. A crash or a full disk therefore leaves either the
old file or the new one, never a half-written file.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from genlab.errors import RunError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates files readable by their owner only; artefacts get the usual permissions.
_FILE_MODE = 0o666 & ~_current_umask()


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the directory entry itself is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success fsync it and rename it to `target`.

    `suffix` defaults to the target's own suffix, because some writers (Keras' `model.save`)
    insist on a particular extension. On any exception the temporary file is removed and the
    previous `target`, if any, is left untouched.
    """
    target = Path(target)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + (suffix if suffix is not None else target.suffix), dir=folder)
        os.close(fd)
    except OSError as error:
        raise RunError(f"cannot write to {folder}: {error.strerror}; choose a writable --out folder") from error
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, target)
        _fsync_dir(folder)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno == errno.ENOSPC:
            raise RunError(f"disk full while writing {target}; free some space (the previous {target.name} is intact)") from error
        raise RunError(f"cannot write {target}: {error.strerror}; check the folder's permissions") from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike, text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike, obj) -> Path:
    return write_text(target, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value):
    # numpy scalars and arrays appear in metrics; write them as plain numbers/lists.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
