"""What a path given by a user is, in words (a folder, a FIFO, a device, missing...), for messages
that say what is true. Depends on nothing else in genlab, so every module may use it."""
from __future__ import annotations

import errno
import os
import stat

# What stat's file type bits mean, in words for a message.
_FILE_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))
WANTED_KINDS = ("file", "folder", "file or folder")


def shown_path(path: str | os.PathLike) -> str:
    """The path as a message shows it: as typed, or quoted when it holds control characters
    (a newline or NUL inside a path must not break the one-line message)."""
    text = os.fspath(path)
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    return text if text.isprintable() else repr(text)


def describe_path_problem(path: str | os.PathLike, wanted: str = "file") -> str | None:
    """None when `path` is what is wanted ("file": a regular file or a link to one; "folder"; or
    "file or folder"), else what is true about it, as a phrase that starts with the path, e.g.
    "x.npz does not exist", "x.npz is a folder, not a file", "/dev/null is a character device,
    not a file". Callers add their fix after a semicolon. Never raises for a bad path.

    Why: `Path.is_file()` is False for a folder, a FIFO and a device alike, so a message built on
    it alone ("does not exist") can be false, and sends the user looking for a missing file.
    """
    if wanted not in WANTED_KINDS:
        raise ValueError(f"wanted must be one of {WANTED_KINDS}, got {wanted!r}")
    shown = shown_path(path)
    try:
        mode = os.stat(path).st_mode
    except ValueError:   # an embedded NUL character
        return f"{shown} is not a usable path (it contains a NUL character)"
    except FileNotFoundError:
        if os.path.lexists(path):
            return f"{shown} is a broken symbolic link (its target does not exist)"
        return f"{shown} does not exist"
    except NotADirectoryError:
        return f"{shown} does not exist (a part of its path is a file, not a folder)"
    except PermissionError:
        return f"{shown} cannot be reached (permission denied on a folder of its path)"
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            return f"{shown} is too long a name for this file system"
        if error.errno == errno.ELOOP:
            return f"{shown} is a loop of symbolic links"
        return f"{shown} cannot be inspected ({error.strerror or type(error).__name__})"
    if stat.S_ISREG(mode):
        return None if "file" in wanted else f"{shown} is a file, not a folder"
    if stat.S_ISDIR(mode):
        return None if "folder" in wanted else f"{shown} is a folder, not a file"
    return f"{shown} is {kind_of(mode)}, not a {wanted}"


def kind_of(mode: int) -> str:
    """What os.stat's mode says a path is, in words: "a file", "a folder", "a FIFO (named pipe)"..."""
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a folder"
    return next((words for test, words in _FILE_KINDS if test(mode)), "not a regular file")
