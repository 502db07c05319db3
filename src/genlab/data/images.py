"""Opening one picture file safely: its size is read from the header and checked against a pixel
limit before anything is decoded, so a small file claiming a huge image (a decompression bomb)
costs nothing. Used by image folders and by `genlab.inputs` (`reconstruct` / `denoise` inputs).
Pictures of more than 8 bits per pixel are scaled to 8 bits by their bit depth (`to_eight_bits`).

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


# Pillow's modes of more than 8 bits per pixel, all single-channel: 16-bit integers (PNG, TIFF),
# 32-bit integers ("I", which older Pillows and some TIFFs give 16-bit files) and 32-bit floats.
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
SIXTEEN_BIT_MAX = 65535


def to_eight_bits(image, path: Path):
    """`image` as 8-bit grayscale ("L") scaled by its bit depth when it has more than 8 bits per
    pixel; any other image unchanged.

    Why: Pillow's convert("L") and convert("RGB") clip such pixels to 0..255 instead of scaling
    them, so a 16-bit PNG came out almost all white (every value above 255 became 255).
    16-bit pixels are divided by 257 (65535 -> 255). "I" pixels are 16-bit data when they fit
    0..65535 (the only way PNG and TIFF readers fill that mode); wider values are refused, as no
    bit depth can be trusted. "F" (float) pixels are read as [0, 1] or as 0..255, as .npz floats are.
    """
    import numpy as np
    from PIL import Image

    if image.mode not in SIXTEEN_BIT_MODES + ("I", "F"):
        return image
    pixels = np.asarray(image)
    if image.mode == "F":
        if not np.isfinite(pixels).all():
            raise DataError(f"image {path} has NaN or infinite float pixels; re-save it as an 8- or 16-bit PNG")
        low, high = float(pixels.min(initial=0.0)), float(pixels.max(initial=0.0))
        if low < 0.0 or high > 255.0:
            raise DataError(f"image {path} has float pixels from {low:g} to {high:g}, not [0, 1] or 0..255; "
                            "re-save it as an 8- or 16-bit PNG")
        scale = 255.0 if high <= 1.0 else 1.0
    else:
        low, high = int(pixels.min(initial=0)), int(pixels.max(initial=0))
        if low < 0 or high > SIXTEEN_BIT_MAX:
            raise DataError(f"image {path} has 32-bit integer pixels from {low} to {high}, beyond 16 bits (0..65535); "
                            "re-save it as an 8- or 16-bit PNG")
        scale = 255.0 / SIXTEEN_BIT_MAX   # i.e. divide by 257
    eight_bits = np.rint(pixels.astype(np.float64) * scale).astype(np.uint8)
    return Image.fromarray(eight_bits)   # a 2-D uint8 array: mode "L"


def fit(image, width: int, height: int):
    """Centre-crop to the target's aspect ratio, then resize with LANCZOS (no distortion)."""
    from PIL import Image, ImageOps

    return ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
