"""Where a command may write: the one place that decides, for every command's every output option.

The rules (a user's files are never destroyed):
- never over or inside a run's own files: a run folder (one holding config.toml) is written only by
  training; other commands write to its `generated/` folder or outside it;
- never over a command's own inputs (`reconstruct digit.png --out digit.png`);
- never a folder that holds a run or anything the command did not write: `--force` replaces only a
  folder genlab itself made (recognised by its marker file, MARKER, listing what it wrote), never a
  parent of it;
- an existing file is replaced without `--force` only when genlab wrote it (its PNG, HTML or .npz
  carries genlab's mark, `mark_png_info` and friends); any other existing file needs `--force`;
- a path below an existing file, or over a folder, FIFO or device, is refused in one line.

`file_target` and `folder_target` check a path and return it resolved; nothing is written by them
except the parent folders of an accepted target (`prepare_parent`).
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Iterable, Sequence

from genlab.errors import RunError
from genlab.paths import kind_of

MARKER = ".genlab-output.json"   # in a folder genlab made (export, ...): which entries it wrote
GENERATOR = "genlab"             # the PNG "Software" text, the HTML generator meta tag, the .npz comment
RUN_FILE = "config.toml"         # what makes a folder a run folder (genlab.runs.Run.open)
GENERATED = "generated"          # the one folder inside a run that commands other than train write to
# An export folder written before the marker existed is recognised by its description file and may
# hold only what an export writes.
_LEGACY_EXPORT = {"genlab-export.json", "model.onnx", "saved_model.pb", "fingerprint.pb", "variables", "assets"}


# ---------------------------------------------------------------------------- what a path is
def describe_kind(path: Path) -> str:
    """'a folder', 'a FIFO (named pipe)', 'a character device', ... or 'a file' for an existing path (symlinks followed)."""
    return kind_of(path.stat().st_mode)


def _absolute(path: str | os.PathLike) -> Path:
    """The path with symlinks resolved as far as it exists (a link can point into a run)."""
    return Path(os.path.abspath(path)).resolve(strict=False)


def _below_a_file(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is not a folder (nothing can be made below it)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


def enclosing_run(path: Path) -> Path | None:
    """The run folder `path` is in or is (an ancestor holding config.toml), or None."""
    for folder in (path, *path.parents):
        if (folder / RUN_FILE).is_file():
            return folder
    return None


def _holds_a_run(folder: Path, depth: int = 3) -> Path | None:
    """A run folder at or below `folder` (a few levels deep: a chapter folder holds its four runs)."""
    if (folder / RUN_FILE).is_file():
        return folder
    if depth == 0:
        return None
    try:
        children = [child for child in folder.iterdir() if child.is_dir() and not child.is_symlink()]
    except OSError:
        return None
    for child in children:
        found = _holds_a_run(child, depth - 1)
        if found is not None:
            return found
    return None


def _check_not_in_a_run(target: Path, option: str) -> None:
    run = enclosing_run(target if target.is_dir() else target.parent)
    if run is None:
        return
    generated = run / GENERATED
    if target == generated or generated in target.parents:
        return
    if target == run:
        raise RunError(f"{option} {target} is a run folder; genlab never writes over a run: choose a new path")
    raise RunError(f"{option} {target} is inside the run folder {run}, whose files only training writes; "
                   f"write to {generated} or outside the run")


def _check_not_an_input(target: Path, inputs: Iterable, option: str) -> None:
    for given in inputs:
        if given is None or str(given).startswith("pretrained:"):
            continue
        source = _absolute(given)
        if target == source:
            raise RunError(f"{option} {target} is this command's own input; choose another path")
        if target in source.parents:
            raise RunError(f"{option} {target} holds this command's input {source}; choose another path")


def check_parent_folder(path: str | os.PathLike, option: str) -> Path:
    """A folder that will hold new entries (e.g. --runs-dir): it may exist with anything in it,
    but it must be a folder (or not exist yet), not below a file and not inside a run."""
    if str(path).strip() == "":
        raise RunError(f"{option} is empty; give a folder name")
    target = _absolute(path)
    blocker = target if target.exists() and not target.is_dir() else _below_a_file(target)
    if blocker is not None:
        raise RunError(f"{option} {path} is {'' if blocker == target else f'below {blocker}, which is '}"
                       f"{describe_kind(blocker)}, not a folder; choose another path")
    _check_not_in_a_run(target, option)
    return target


def _checked_path(path, inputs: Sequence, option: str, kind: str) -> tuple[Path, Path]:
    """(the path as given, resolved) once the rules every output shares hold: not empty, not below
    a file, not an input, not inside a run (but its generated/ folder)."""
    if str(path).strip() == "":
        raise RunError(f"{option} is empty; give a {kind} name")
    given = Path(path)
    target = _absolute(given)
    blocker = _below_a_file(target)
    if blocker is not None:
        raise RunError(f"{option} {given} is below {blocker}, which is {describe_kind(blocker)}, not a folder; choose another path")
    _check_not_an_input(target, inputs, option)
    _check_not_in_a_run(target, option)
    return given, target


# ---------------------------------------------------------------------------- files
def written_by_genlab(path: Path) -> bool:
    """Whether an existing file carries genlab's mark (a PNG's Software text, an HTML page's
    generator meta tag, an .npz archive's comment): such a file may be replaced without --force."""
    try:
        suffix = path.suffix.lower()
        if suffix == ".png":
            from PIL import Image

            with Image.open(path) as image:   # the text chunk precedes the pixels: nothing is decoded
                return str(image.info.get("Software", "")).startswith(GENERATOR)
        if suffix in (".html", ".htm"):
            with open(path, "rb") as handle:
                return f'<meta name="generator" content="{GENERATOR}'.encode() in handle.read(4096)
        if suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                return archive.comment.startswith(GENERATOR.encode())
    except Exception:   # unreadable or not what its name says: not genlab's
        return False
    return False


def file_target(path: str | os.PathLike, *, force: bool = False, inputs: Sequence = (), option: str = "--out",
                suffixes: Sequence[str] | None = None) -> Path:
    """Check that a command may write the file `path`; returns it resolved.

    Parameters:
        path: the file to write.
        force: replace an existing file that genlab did not write (never a run's file, a folder
            or an input).
        inputs: the command's input paths (runs, images, sample files), never written over.
        option: the option's name, for messages ("--out", "--npz", "--json").
        suffixes: the file name endings the command writes (e.g. (".png",)); None: any.
    """
    given, target = _checked_path(path, inputs, option, "file")
    if suffixes is not None and target.suffix.lower() not in suffixes:
        raise RunError(f"{option} {given} must end in {' or '.join(suffixes)}: genlab writes "
                       f"{suffixes[0].lstrip('.').upper()} there; choose a name ending in {suffixes[0]}")
    if target.exists():
        kind = describe_kind(target)
        if kind != "a file":
            raise RunError(f"{option} {given} is {kind}, not a file; give a file name")
        if not force and not written_by_genlab(target):
            raise RunError(f"{option} {given} already exists and genlab did not write it; choose another path "
                           "or pass --force to replace it")
    return target


def prepare_parent(target: Path, option: str = "--out") -> None:
    """Create the target's folder, or say in one line why it cannot be."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(f"cannot create the folder {target.parent} for {option}: {error.strerror}; "
                       "choose a writable path") from error


# ---------------------------------------------------------------------------- folders
def _marked_entries(folder: Path) -> set[str] | None:
    """The entries genlab wrote in `folder` (its marker), or None when genlab did not make it."""
    marker = folder / MARKER
    if marker.is_file():
        try:
            entries = json.loads(marker.read_text(encoding="utf-8")).get("entries")
        except (OSError, ValueError, AttributeError):
            return None
        return set(entries) | {MARKER} if isinstance(entries, list) and all(isinstance(e, str) for e in entries) else None
    if (folder / "genlab-export.json").is_file():
        return set(_LEGACY_EXPORT)
    return None


def folder_target(path: str | os.PathLike, *, force: bool = False, inputs: Sequence = (), option: str = "--out") -> Path:
    """Check that a command may create (or, with force, replace) the folder `path`; returns it resolved.

    An existing folder is accepted when it is empty, or with `force` when genlab made it and it
    holds only what genlab wrote there. A folder holding a run, an input, or anything else is refused.
    """
    given, target = _checked_path(path, inputs, option, "folder")
    if not target.exists():
        return target
    kind = describe_kind(target)
    if kind != "a folder":
        raise RunError(f"{option} {given} is {kind}, not a folder; choose another path")
    try:
        entries = {entry.name for entry in target.iterdir()}
    except OSError as error:
        raise RunError(f"cannot read the folder {given}: {error.strerror}; choose another {option}") from error
    if not entries:
        return target
    run = _holds_a_run(target)
    if run is not None:
        raise RunError(f"{option} {given} holds the run {run}; genlab never replaces a folder with a run in it: choose a new path")
    if not force:
        raise RunError(f"{option} {given} already exists and is not empty; choose another path, or pass --force to "
                       "replace a folder genlab made")
    marked = _marked_entries(target)
    if marked is None:
        raise RunError(f"{option} {given} was not made by genlab (no {MARKER}); --force replaces only a folder genlab "
                       "made: choose another path")
    foreign = sorted(entries - marked)
    if foreign:
        raise RunError(f"{option} {given} holds {foreign[0]}, which genlab did not write there; move it away or choose "
                       "another path")
    return target


def mark_folder(folder: Path, command: str) -> None:
    """Write the marker listing the folder's entries as genlab's own (before the folder is published)."""
    from genlab import io

    entries = sorted(entry.name for entry in folder.iterdir() if entry.name != MARKER)
    io.write_json(folder / MARKER, {"command": command, "entries": entries, "written_by": GENERATOR})


# ---------------------------------------------------------------------------- marks on files
def png_info():
    """PIL PngInfo with genlab's mark, for Image.save(..., pnginfo=...)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", GENERATOR)
    return info


def png_metadata() -> dict:
    """matplotlib savefig metadata with genlab's mark."""
    return {"Software": GENERATOR}


def mark_npz(path: Path) -> None:
    """Set the archive comment of a just-written .npz (numpy ignores it when loading)."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.comment = GENERATOR.encode()


def html_meta() -> str:
    return f'<meta name="generator" content="{GENERATOR}">'
