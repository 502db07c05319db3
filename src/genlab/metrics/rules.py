"""The rule score: how well images follow the rules of Mondrian's paintings (the `mondrian`
dataset), measured on the pixels themselves, with no network.

Three shares, each in [0, 1] per image, and their mean:

- palette: the share of pixels near one of the five paints (black, off-white, red, blue, yellow);
- axis edges: the share of strong edges that run horizontally or vertically;
- rectangles: the share of the painted (not black) pixels that lie in rectangles bounded by
  black lines, each filled with one paint.

Images are float N x H x W x C in [0, 1] (C = 3; grey images are read as RGB). Every function
here is pure: numpy and scipy.ndimage in, numbers out.
"""
from __future__ import annotations

import numpy as np

from genlab.data import mondrian

# The five paints in [0, 1], black first (the lines), then the fills.
PAINTS = np.array([mondrian.BLACK, mondrian.WHITE, mondrian.RED, mondrian.BLUE, mondrian.YELLOW], dtype=np.float32) / 255.0
# A pixel is in the palette within this RGB distance of a paint. The dataset jitters each paint
# by at most about 0.09; an even mix of two paints (a blurred edge) is 0.3 or more from both.
PALETTE_TOLERANCE = 0.2
# A strong edge steps by at least this much in some channel (white to yellow steps 0.74 in blue).
EDGE_STRENGTH = 0.2
# An edge counts as horizontal or vertical within this many degrees.
AXIS_DEGREES = 10.0
# A region is a filled rectangle when it covers this share of its bounding box, and one paint
# when this share of its pixels are nearest to the same paint.
RECTANGLE_FILL = 0.9
ONE_PAINT = 0.9

KEYS = ("rule_palette", "rule_axis_edges", "rule_rectangles", "rule_score")


def applies_to(dataset_name: str) -> bool:
    """Whether samples of this dataset are judged by the rule score: the Mondrian paintings."""
    return dataset_name in mondrian.DATASETS


def as_rgb(images: np.ndarray) -> np.ndarray:
    """float32 N x H x W x 3: a single image gains the batch axis, grey images are repeated."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 3 and images.shape[-1] in (1, 3):
        images = images[None]
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"rule score: images must be N x H x W x 1 or 3, got shape {images.shape}")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def nearest_paint(images: np.ndarray, tolerance: float = PALETTE_TOLERANCE) -> np.ndarray:
    """int8 N x H x W: the index of the nearest paint in PAINTS (0 black ... 4 yellow), or -1
    where no paint lies within `tolerance`."""
    images = as_rgb(images)
    # |x - p|^2 = |x|^2 - 2 x.p + |p|^2: one small matrix product instead of an N x H x W x 5 x 3 difference.
    squared = (np.square(images).sum(axis=-1, keepdims=True) - 2 * images @ PAINTS.T
               + np.square(PAINTS).sum(axis=-1))                                       # (N, H, W, 5)
    nearest = squared.argmin(axis=-1)
    close = np.take_along_axis(squared, nearest[..., None], axis=-1)[..., 0] <= tolerance ** 2
    return np.where(close, nearest, -1).astype(np.int8)


def palette_share(images: np.ndarray, tolerance: float = PALETTE_TOLERANCE) -> np.ndarray:
    """(N,): the share of each image's pixels within `tolerance` of one of the five paints."""
    return _palette_share(nearest_paint(images, tolerance))


def _palette_share(paint: np.ndarray) -> np.ndarray:
    return (paint >= 0).mean(axis=(1, 2))


def axis_edge_share(images: np.ndarray, strength: float = EDGE_STRENGTH, degrees: float = AXIS_DEGREES) -> np.ndarray:
    """(N,): the share of strong edges that are horizontal or vertical.

    Gradients are taken over every 2 x 2 block of pixels (the mean of its two horizontal and
    two vertical differences), in the channel where the block changes most: along a straight
    edge of a piecewise-flat picture the gradient is exactly across it, and only the block at a
    corner mixes the two directions (a 3 x 3 Sobel mixes them over three). An image without a
    strong edge scores 0: it has no line to follow the rule with.
    """
    images = as_rgb(images)
    across = (images[:, 1:, 1:] - images[:, 1:, :-1] + images[:, :-1, 1:] - images[:, :-1, :-1]) / 2   # (N, H-1, W-1, 3)
    down = (images[:, 1:, 1:] - images[:, :-1, 1:] + images[:, 1:, :-1] - images[:, :-1, :-1]) / 2
    magnitude = np.hypot(across, down)
    channel = magnitude.argmax(axis=-1)[..., None]
    across = np.abs(np.take_along_axis(across, channel, axis=-1)[..., 0])
    down = np.abs(np.take_along_axis(down, channel, axis=-1)[..., 0])
    strong = np.take_along_axis(magnitude, channel, axis=-1)[..., 0] >= strength
    # Within `degrees` of an axis: the smaller component is at most tan(degrees) of the larger.
    aligned = np.minimum(across, down) <= np.tan(np.radians(degrees)) * np.maximum(across, down)
    edges = strong.sum(axis=(1, 2))
    return np.where(edges > 0, (strong & aligned).sum(axis=(1, 2)) / np.maximum(edges, 1), 0.0)


def rectangle_share(images: np.ndarray, tolerance: float = PALETTE_TOLERANCE) -> np.ndarray:
    """(N,): the share of each image's painted (not black) pixels that lie in rectangles bounded
    by black lines and filled with one paint.

    The regions are the connected (4-neighbour) areas of pixels that are not near black, so
    each is bounded by black pixels or the canvas edge by construction. A region counts when it
    fills at least RECTANGLE_FILL of its bounding box, at least ONE_PAINT of its pixels are
    nearest the same fill paint, and it does not touch all four canvas edges (a line must bound
    it somewhere: an empty canvas has no lines). Blurred lines are no longer near black, so the
    regions they separated run together, and fail.
    """
    return _rectangle_share(nearest_paint(images, tolerance))


def _rectangle_share(paint: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    count, height, width = paint.shape                                                # paint: (N, H, W)
    painted = paint != 0
    # One labelling for the whole batch: the structure connects pixels within an image only.
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    labels, regions = ndimage.label(painted, structure=structure)
    if regions == 0:
        return np.zeros(count)
    area = np.bincount(labels.ravel(), minlength=regions + 1)[1:]
    # Bounding boxes: (image, row, column) slices per region, from one C pass over the labels.
    boxes = np.array([[image.start, rows.start, rows.stop, columns.start, columns.stop]
                      for image, rows, columns in ndimage.find_objects(labels)], dtype=np.int64).reshape(-1, 5)
    owner, top, bottom, left, right = boxes.T                                          # bottom, right: one past the end
    box = (bottom - top) * (right - left)
    # Pixels of each region by nearest paint (-1 none, 1..4 fills; 0 cannot occur inside a region).
    by_paint = np.bincount(labels.ravel() * 6 + (paint.ravel() + 1), minlength=(regions + 1) * 6).reshape(-1, 6)[1:]
    one_paint = by_paint[:, 2:].max(axis=1) >= ONE_PAINT * area
    bounded = ~((top == 0) & (left == 0) & (bottom == height) & (right == width))
    good = (area >= RECTANGLE_FILL * box) & one_paint & bounded
    good_area = np.bincount(owner, weights=area * good, minlength=count)
    return good_area / np.maximum(painted.sum(axis=(1, 2)), 1)


def rule_scores(images: np.ndarray) -> dict[str, np.ndarray]:
    """Each image's three shares and their mean (`rule_score`), as arrays of N values."""
    images = as_rgb(images)
    paint = nearest_paint(images)
    shares = {"rule_palette": _palette_share(paint), "rule_axis_edges": axis_edge_share(images),
              "rule_rectangles": _rectangle_share(paint)}
    shares["rule_score"] = (shares["rule_palette"] + shares["rule_axis_edges"] + shares["rule_rectangles"]) / 3
    return shares


def summary(images: np.ndarray, batch_size: int = 500) -> dict[str, float]:
    """The means over a set of images of the three shares and the rule score (KEYS), in
    batches (the paint distances take N x H x W x 5 floats)."""
    images = np.asarray(images)
    totals = dict.fromkeys(KEYS, 0.0)
    for start in range(0, len(images), batch_size):
        for key, values in rule_scores(images[start:start + batch_size]).items():
            totals[key] += float(values.sum())
    return {key: total / max(len(images), 1) for key, total in totals.items()}
