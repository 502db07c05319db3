"""Folders of images (class sub-folders optional), and the resizing and channel conversion
shared by every loader. Pillow does the image work; nothing here decodes pixels by hand."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from genlab.data.dataset import Dataset, split_indices
from genlab.data.images import fit, open_image, to_eight_bits
from genlab.data.images import image_size as image_size_of
from genlab.errors import DataError
from genlab.paths import shown_path

logger = logging.getLogger("genlab.data")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DEFAULT_IMAGE_SIZE = 28


def _is_visible(name: str) -> bool:
    # Hidden files and folders (.git, .ipynb_checkpoints, ...) are skipped, and never listed.
    return not name.startswith(".")


def _entries(folder: Path) -> list[os.DirEntry]:
    """The folder's entries by name; a folder that cannot be listed is an error naming it.

    Why: pathlib's rglob skips a folder it may not read without a word, so a class sub-folder
    without read permission used to vanish from the dataset (and its class with it).
    """
    try:
        with os.scandir(folder) as listing:
            return sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise DataError(f"cannot list the folder {shown_path(folder)} ({reason}); make it readable "
                        "(e.g. chmod u+rx) or move it out of the dataset folder") from error


def _is_folder(entry: os.DirEntry, follow_links: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow_links)
    except OSError as error:
        raise DataError(f"cannot inspect {shown_path(entry.path)} ({error.strerror or type(error).__name__}); "
                        "make it readable or move it out of the dataset folder") from error


def _is_image_file(entry: os.DirEntry) -> bool:
    if Path(entry.name).suffix.lower() not in IMAGE_SUFFIXES:
        return False
    try:
        return entry.is_file()   # follows links, as Path.is_file does
    except OSError as error:
        raise DataError(f"cannot inspect {shown_path(entry.path)} ({error.strerror or type(error).__name__}); "
                        "make it readable or move it out of the dataset folder") from error


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    """Image files in `folder` (and, if `recursive`, its visible sub-folders; links to folders
    are not followed inside, as rglob did not), sorted."""
    files: list[Path] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        for entry in _entries(current):
            if not _is_visible(entry.name):
                continue
            if recursive and _is_folder(entry, follow_links=False):
                pending.append(Path(entry.path))
            elif _is_image_file(entry):
                files.append(Path(entry.path))
    return sorted(files)


def _scan_image_folder(folder: Path) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image files, their class indices and the class names (sorted sub-folder names)."""
    class_folders = [Path(entry.path) for entry in _entries(folder)
                     if _is_visible(entry.name) and _is_folder(entry, follow_links=True)]
    per_class = [(path.name, _image_files(path, recursive=True)) for path in class_folders]
    per_class = [(class_name, files) for class_name, files in per_class if files]
    loose = _image_files(folder, recursive=False)
    if per_class:
        if loose:
            logger.warning("%s: ignoring %d image(s) outside the class sub-folders", folder, len(loose))
        files = [path for _name, paths in per_class for path in paths]
        classes = [index for index, (_name, paths) in enumerate(per_class) for _path in paths]
        return files, classes, tuple(class_name for class_name, _paths in per_class)
    if not loose:
        raise DataError(f"no images found in {folder} (looked for {', '.join(IMAGE_SUFFIXES)}, also in sub-folders); pass a folder of images")
    return loose, [0] * len(loose), ("all",)


def _default_image_size(sizes: list[tuple[int, int]]) -> int:
    distinct = set(sizes)
    if len(distinct) == 1:
        width, height = distinct.pop()
        if width == height:
            return height
    return DEFAULT_IMAGE_SIZE


def load_image_folder(folder: Path, image_size: int | None, channels: int | None, seed: int) -> Dataset:
    files, classes, class_names = _scan_image_folder(folder)
    if len(files) < 2:
        raise DataError(f"{folder} holds only {len(files)} image; need at least 2 to split into train and test")
    # Every header is read (and checked against the pixel limit) before any image is decoded,
    # so one oversized file fails the load at once, not after decoding all the others.
    sizes = [image_size_of(path) for path in files]
    size = image_size or _default_image_size(sizes)
    mode = "L" if channels == 1 else "RGB"
    pixels = np.empty((len(files), size, size, 1 if mode == "L" else 3), dtype=np.uint8)
    modes = []
    for index, path in enumerate(files):
        image = open_image(path)
        modes.append(image.mode)
        try:
            # 16-bit and float pictures are scaled by their bit depth first (Pillow's own convert clips them).
            converted = fit(to_eight_bits(image, path).convert(mode), size, size)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot convert image {path} ({error}); re-save it as an 8-bit PNG") from error
        finally:
            image.close()
        pixels[index] = np.asarray(converted).reshape(size, size, -1)
    if channels is None and _all_gray(pixels):
        pixels = pixels[..., :1].copy()
    _say_conversions(folder, sizes, modes, size, pixels.shape[-1])
    labels = np.asarray(classes, dtype=np.int64)
    train, test = split_indices(len(files), seed)
    return Dataset(folder.name, pixels[train], labels[train], pixels[test], labels[test], class_names, source=str(folder))


_SAID: set[tuple] = set()
# Pillow's mode names, as a user knows the pictures.
MODE_NAMES = {"1": "black-and-white", "L": "grey", "LA": "grey with transparency", "P": "palette", "RGB": "colour",
              "RGBA": "colour with transparency", "CMYK": "CMYK", "I": "32-bit grey", "I;16": "16-bit grey", "F": "float grey"}


def _say_conversions(folder: Path, sizes: list[tuple[int, int]], modes: list[str], size: int, channels: int) -> None:
    """One line, once per process and folder, saying what loading changed: how many images were
    resized (and from which sizes) and how many converted to grey or RGB."""
    resized = [pair for pair in sizes if pair != (size, size)]
    target_mode = "L" if channels == 1 else "RGB"
    converted = [mode for mode in modes if mode != target_mode]
    key = (str(folder), size, channels)
    if not (resized or converted) or key in _SAID:
        return
    _SAID.add(key)
    parts = []
    if resized:
        areas = sorted(resized, key=lambda pair: pair[0] * pair[1])
        spread = f"{areas[0][0]}x{areas[0][1]}" + (f" to {areas[-1][0]}x{areas[-1][1]}" if areas[-1] != areas[0] else "")
        parts.append(f"{len(resized)} resized to {size}x{size} (from {spread})")
    if converted:
        counts = {MODE_NAMES.get(mode, mode): 0 for mode in converted}
        for mode in converted:
            counts[MODE_NAMES.get(mode, mode)] += 1
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
        parts.append(f"{len(converted)} converted to {'grey' if channels == 1 else 'RGB'} ({kinds})")
    logger.warning("%s: %d images; %s", shown_path(folder), len(sizes), "; ".join(parts))


def _all_gray(pixels: np.ndarray) -> bool:
    if pixels.shape[-1] == 1:
        return True
    return bool((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all())


# --------------------------------------------------------------------------------------------
# Resizing and channel conversion for array datasets


def check_options(image_size: int | None, channels: int | None) -> None:
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1):
        raise DataError(f"image_size must be a positive whole number of pixels, got {image_size!r}")
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")


def _resize_images(images: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    channels = images.shape[-1]
    resized = np.empty((len(images), size, size, channels), dtype=np.uint8)
    for index, image in enumerate(images):
        picture = Image.fromarray(image[..., 0] if channels == 1 else image)
        resized[index] = np.asarray(fit(picture, size, size)).reshape(size, size, channels)
    return resized


def _convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    from PIL import Image

    # Pillow's own RGB -> L conversion (ITU-R 601-2 luma, its rounding), so arrays and image
    # folders turn the same colour into the same gray. All images at once: stacked as one tall picture.
    count, height, width, _ = images.shape
    tall = Image.fromarray(np.ascontiguousarray(images).reshape(count * height, width, 3))
    return np.asarray(tall.convert("L")).reshape(count, height, width, 1)


def conform(dataset: Dataset, image_size: int | None, channels: int | None) -> Dataset:
    """`dataset` resized to `image_size` and converted to `channels`, where those differ."""
    height, width, current_channels = dataset.image_shape
    needs_resize = image_size is not None and (height, width) != (image_size, image_size)
    needs_channels = channels is not None and channels != current_channels
    if not (needs_resize or needs_channels):
        return dataset
    arrays = []
    for images in (dataset.x_train, dataset.x_test):
        if needs_resize:
            images = _resize_images(images, image_size)
        if needs_channels:
            images = _convert_channels(images, channels)
        arrays.append(images)
    return Dataset(dataset.name, arrays[0], dataset.y_train, arrays[1], dataset.y_test, dataset.class_names, dataset.source)
