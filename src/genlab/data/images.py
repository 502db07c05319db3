"""Opening one picture file safely: its size is read from the header and checked against a pixel
limit before anything is decoded, so a small file claiming a huge image (a decompression bomb)
costs nothing. Used by image folders and by `genlab.inputs` (`reconstruct` / `denoise` inputs).

The limit is DEFAULT_MAX_IMAGE_PIXELS unless $GENLAB_MAX_IMAGE_PIXELS says otherwise. Pillow's
own bomb check (a DecompressionBombWarning above 89 M pixels, an error above 179 M) is switched
off while genlab opens and decodes, because genlab's limit has already decided; so neither
escapes, and a user who raised genlab's limit is not overruled by Pillow's.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator

from genlab.errors import DataError

DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # e.g. 8000 x 5000, 120 MB as RGB
LIMIT_VARIABLE = "GENLAB_MAX_IMAGE_PIXELS"

# Pillow's limit is one global; the lock keeps two genlab threads from restoring it out of order.
_PILLOW_LIMIT_LOCK = threading.RLock()


class UnreadableImageError(DataError):
    """The file is not an image Pillow can decode (as opposed to one over the pixel limit)."""


def max_image_pixels() -> int:
    """The pixel limit for one picture: $GENLAB_MAX_IMAGE_PIXELS, else DEFAULT_MAX_IMAGE_PIXELS."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_IMAGE_PIXELS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{LIMIT_VARIABLE}={text!r} is not a positive whole number of pixels; unset it or set e.g. {LIMIT_VARIABLE}={2 * DEFAULT_MAX_IMAGE_PIXELS}")
    return value


@contextlib.contextmanager
def _pillow_check_replaced() -> Iterator[None]:
    from PIL import Image

    with _PILLOW_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(path: Path, size: tuple[int, int], limit: int) -> None:
    width, height = size
    if width * height > limit:
        raise DataError(f"image {path} is {width} x {height} = {width * height:,} pixels, over genlab's limit of {limit:,}; "
                        f"shrink it, or set {LIMIT_VARIABLE}={width * height} (or more) if you trust the file")


def _unreadable(path: Path, error: Exception) -> UnreadableImageError:
    return UnreadableImageError(f"cannot read image {path} ({type(error).__name__}: {' '.join(str(error).split())}); fix or remove the file")


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header, checked against the pixel limit; nothing is decoded."""
    from PIL import Image

    limit = max_image_pixels()
    with _pillow_check_replaced():
        try:
            with Image.open(path) as image:
                size = image.size
        except Exception as error:  # Pillow's plugins raise many unrelated types on malformed files
            raise _unreadable(path, error) from error
    _check_pixels(path, size, limit)
    return size


def open_image(path: Path):
    """The decoded image, after its header's size passed the pixel limit. The caller closes it."""
    from PIL import Image

    limit = max_image_pixels()
    with _pillow_check_replaced():
        try:
            image = Image.open(path)
        except Exception as error:  # as above
            raise _unreadable(path, error) from error
        try:
            _check_pixels(path, image.size, limit)
            image.load()  # decode now, so a corrupt file fails here, naming itself
        except DataError:
            image.close()
            raise
        except Exception as error:  # as above
            image.close()
            raise _unreadable(path, error) from error
    return image


def fit(image, width: int, height: int):
    """Centre-crop to the target's aspect ratio, then resize with LANCZOS (no distortion)."""
    from PIL import Image, ImageOps

    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
