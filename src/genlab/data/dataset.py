"""The `Dataset` every loader returns, the names of the known datasets and their classes, and
THE one conversion of uint8 pixels to float32 in [0, 1] (`to_float`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.errors import DataError

KNOWN = ("mnist", "fashion-mnist", "mnist-5k")
IDX_DATASETS = ("mnist", "fashion-mnist")

DIGIT_NAMES = tuple(str(digit) for digit in range(10))
CLASS_NAMES = {
    "mnist": DIGIT_NAMES,
    "mnist-5k": DIGIT_NAMES,
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}

TEST_FRACTION = 0.1
REFETCH_HINT = "re-download it or delete it so genlab fetches it again"


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    name: str
    x_train: np.ndarray  # uint8, N x H x W x C
    y_train: np.ndarray  # int64, N (zeros for unlabeled image folders)
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str  # where it was found, for the user to read

    def __post_init__(self) -> None:
        # Other modules rely on these invariants; checking once here keeps them honest.
        for images, labels, split in ((self.x_train, self.y_train, "train"), (self.x_test, self.y_test, "test")):
            if images.ndim != 4 or images.dtype != np.uint8:
                raise DataError(f"dataset {self.name}: {split} images must be uint8 N x H x W x C, got {images.dtype} {images.shape}")
            if labels.ndim != 1 or labels.dtype != np.int64 or len(labels) != len(images):
                raise DataError(f"dataset {self.name}: {split} labels must be int64 with one per image, got {labels.dtype} {labels.shape}")
            if labels.size and (labels.min() < 0 or labels.max() >= len(self.class_names)):
                raise DataError(f"dataset {self.name}: {split} labels must lie in 0..{len(self.class_names) - 1}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(f"dataset {self.name}: train images {self.x_train.shape[1:]} and test images {self.x_test.shape[1:]} differ in shape")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.x_train.shape[1:]
        return int(height), int(width), int(channels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        # The default repr would print every pixel.
        return (f"Dataset(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
                f"image_shape={self.image_shape}, classes={self.num_classes}, source={self.source!r})")


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"to_float expects uint8 pixels, got {images.dtype}; pass Dataset.x_train or x_test")
    return images.astype(np.float32) / np.float32(255.0)


# Labels below this are always plausible class indices; above it, a label must also be below the
# number of images (more classes than images cannot be a labelling). Without a bound, one stray
# label of 2**40 made the loader build 2**40 class names and exhaust the memory.
LABEL_ROOM = 1000


def class_names_for(name: str, labels: np.ndarray, where) -> tuple[str, ...]:
    """The known dataset's class names, or '0'..'K-1' for anything else; checks the labels fit.
    `labels` are all of the dataset's labels (train and test)."""
    largest = int(labels.max()) if labels.size else 0
    known = CLASS_NAMES.get(name)
    if known is None:
        limit = max(LABEL_ROOM, len(labels))
        if largest >= limit:
            raise DataError(f"{where}: label {largest} is far beyond the {len(labels)} images (class indices must be "
                            f"below {limit}); number the classes 0, 1, 2... or add a class_names array")
        return tuple(str(label) for label in range(largest + 1))
    if largest >= len(known):
        raise DataError(f"{where}: label {largest} is out of range for {name} (0..{len(known) - 1}); the labels file is corrupt, {REFETCH_HINT}")
    return known


def split_indices(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 90/10 split with at least one test example; indices come back sorted."""
    if count < 2:
        raise DataError(f"need at least 2 images to split into train and test, found {count}; add more images")
    order = np.random.default_rng(seed).permutation(count)
    test_count = max(1, round(count * TEST_FRACTION))
    return np.sort(order[test_count:]), np.sort(order[:test_count])
