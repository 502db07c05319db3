"""User-supplied inputs for `reconstruct` / `denoise`: a PNG/JPEG of any size (up to the pixel
limit of `genlab.data.images`, checked before decoding) or an .npy batch, converted to the
training data's shape (e.g. 28 x 28 x 1) and polarity.

`describe_path_problem` (genlab.paths, re-exported here) says what a path that is not the wanted
kind of thing really is (missing, a folder, a FIFO, a device...), for every message about a user's path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genlab.errors import DataError

from genlab.paths import describe_path_problem, shown_path  # noqa: F401 (re-exported)


def load_images(path: str | Path, image_shape: tuple[int, int, int], bright_digits_on_dark: bool = True) -> np.ndarray:
    """-> float32 N x H x W x C in [0, 1]."""
    path = Path(path)
    problem = describe_path_problem(path, "file")
    if problem is not None:
        raise DataError(f"input {problem}; pass a PNG/JPEG image or an .npy batch")
    if path.suffix.lower() == ".npy":
        return _load_npy(path, image_shape)
    return _load_picture(path, image_shape, bright_digits_on_dark)[None]


def _load_npy(path: Path, image_shape) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:   # EOFError: an empty file
        detail = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"{path} is not a readable .npy array of images ({detail}); save one with numpy.save") from error
    height, width, channels = image_shape
    if array.ndim == 1:
        array = array[None]
    if array.ndim == 2 and array.shape[1] == height * width * channels:
        array = array.reshape(-1, height, width, channels)
    elif array.ndim == 3 and array.shape[1:] == (height, width) and channels == 1:
        array = array[..., None]
    elif array.ndim == 2 and array.shape == (height, width):
        array = array[None, ..., None]
    if array.ndim != 4 or array.shape[1:] != (height, width, channels):
        raise DataError(f"{path} holds an array of shape {array.shape}; the model wants N x {height} x {width} x {channels} (or N x {height * width * channels})")
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{path} holds {array.dtype} data; images must be numeric")
    array = array.astype("float32")
    if array.max(initial=0) > 1.0:  # uint8-style 0..255
        array = array / 255.0
    return np.clip(array, 0.0, 1.0)


def _load_picture(path: Path, image_shape, bright_digits_on_dark: bool) -> np.ndarray:
    from genlab.data import to_float
    from genlab.data.images import UnreadableImageError, fit, open_image, to_eight_bits

    height, width, channels = image_shape
    try:
        # The header's size is checked against GENLAB_MAX_IMAGE_PIXELS before decoding.
        picture = open_image(path)
    except UnreadableImageError as error:
        raise DataError(f"{path} is not an image genlab can read (PNG, JPEG, BMP, GIF); convert it or pass an .npy batch") from error
    try:
        with picture:
            # 16-bit and float pictures are scaled by their bit depth first (Pillow's own convert clips them).
            converted = to_eight_bits(picture, path).convert("L" if channels == 1 else "RGB")
    except (OSError, ValueError) as error:  # modes Pillow cannot convert
        raise DataError(f"{path} is not an image genlab can read (PNG, JPEG, BMP, GIF); convert it or pass an .npy batch") from error
    # Centre-crop to the target's aspect so digits keep their shape, then resize with a good filter.
    array = to_float(np.asarray(fit(converted, width, height)))
    if channels == 1:
        array = array[..., None]
        # MNIST digits are bright on a dark background; a photo of ink on paper is the reverse.
        border = np.concatenate([array[0].ravel(), array[-1].ravel(), array[:, 0].ravel(), array[:, -1].ravel()])
        if bright_digits_on_dark and border.mean() > 0.5:
            array = 1.0 - array
    return array
