"""The generated Mondrian paintings (genlab.data.mondrian) and the rule score (genlab.metrics.rules)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import genlab
from genlab import data
from genlab.data import mondrian
from genlab.metrics import rules

# SHA-256 of (x_train, y_train, x_test, y_test) as generated: a change to the generator, its
# seed or its split changes these, so the dataset cannot drift without this test saying so.
PINNED = {64: "a5d1cb976f86849284e8f82451ec1aeb9e2b3018f8d7012cf716c00a6cb8c680",
          32: "48100644af664243166ba43dae7d4da92922328c7beeefed540bad4451dee8e8"}


# ------------------------------------------------------------------------------------ the dataset
@pytest.mark.parametrize("size", [64, 32])
def test_generated_arrays_are_pinned(size):
    arrays = mondrian.load(size)
    assert mondrian.digest(arrays) == PINNED[size] == mondrian.SHA256[size]
    assert data.verify("mondrian" if size == 64 else "mondrian-32") == "ok"


def test_known_dataset_everywhere():
    dataset = genlab.load_dataset("mondrian")
    assert dataset.image_shape == (64, 64, 3) and dataset.x_train.dtype == np.uint8
    assert (len(dataset.x_train), len(dataset.x_test)) == (mondrian.TRAIN_COUNT, mondrian.TEST_COUNT)
    assert dataset.class_names == mondrian.CLASS_NAMES and len(dataset.class_names) == 8
    assert dataset.source == mondrian.SOURCE
    # image_size 32 draws the same compositions at 32 pixels (not a resize of the 64-pixel ones).
    small = data.load("mondrian", image_size=32)
    assert small.name == "mondrian-32" and small.image_shape == (32, 32, 3)
    assert np.array_equal(small.x_test, data.load("mondrian-32").x_test)
    assert np.array_equal(small.y_train, dataset.y_train)
    assert data.load("mondrian-32", channels=1).image_shape == (32, 32, 1)
    rows = {row["name"]: row for row in genlab.datasets()}
    assert rows["mondrian"]["train"] == mondrian.TRAIN_COUNT and rows["mondrian-32"]["where"] == mondrian.SOURCE
    # A config names it like any other dataset (the check that runs before a run folder is made).
    assert data.dataset_problem("mondrian") is None and data.dataset_problem("Mondrian_32") is None
    with pytest.raises(data.DataError, match="did you mean 'mondrian'"):
        data.load("mondrain")


def test_same_seed_same_paintings_and_fast():
    images, labels = mondrian.generate(300, 32, seed=5)
    again, labels_again = mondrian.generate(300, 32, seed=5)
    assert np.array_equal(images, again) and np.array_equal(labels, labels_again)
    assert not np.array_equal(images, mondrian.generate(300, 32, seed=6)[0])


def test_labels_name_the_primaries_each_painting_uses():
    x_train, y_train, _x_test, _y_test = mondrian.load(32)
    paint = rules.nearest_paint(x_train[:2000].astype(np.float32) / 255, tolerance=0.12)   # (N, 32, 32)
    # PAINTS order: black, white, red, blue, yellow; class bit 0 red, 1 blue, 2 yellow.
    present = np.stack([(paint == index).any(axis=(1, 2)) for index in (2, 3, 4)], axis=1)
    assert np.array_equal(present @ np.array([1, 2, 4]), y_train[:2000])
    # Every class occurs, none dominates.
    counts = np.bincount(y_train, minlength=8)
    assert counts.min() > 0.8 * len(y_train) / 8


def test_paintings_follow_the_rules_of_construction():
    images, _labels = mondrian.generate(500, 64, seed=3)
    paint = rules.nearest_paint(images.astype(np.float32) / 255, tolerance=0.12)
    assert (paint >= 0).all()                                          # only the five paints
    black = paint == 0
    assert 0.08 < black.mean() < 0.4                                   # thick lines, not a grid of hairlines
    # Lines are the only black: every black pixel lies on a black run 2+ pixels thick across it.
    thick = ndimage.binary_opening(black, structure=np.ones((1, 2, 1))) | ndimage.binary_opening(black, structure=np.ones((1, 1, 2)))
    assert thick[black].mean() > 0.99
    # White is the main paint: it covers more than any colour.
    shares = [(paint == index).mean() for index in range(1, 5)]
    assert shares[0] == max(shares)


# ------------------------------------------------------------------------------------ the rule score
def canvas(size: int = 32) -> np.ndarray:
    """An off-white canvas, float 1 x size x size x 3."""
    return np.broadcast_to(np.array(mondrian.WHITE, np.float32) / 255, (1, size, size, 3)).copy()


def paint_cells(image: np.ndarray, rows: slice, columns: slice, colour) -> np.ndarray:
    image[0, rows, columns] = np.array(colour, np.float32) / 255
    return image


def test_one_line_splitting_the_canvas_follows_every_rule():
    image = paint_cells(canvas(), slice(None), slice(10, 12), mondrian.BLACK)     # a vertical line, 2 px
    paint_cells(image, slice(None), slice(0, 10), mondrian.RED)                   # a red field left of it
    scores = rules.rule_scores(image)
    assert scores["rule_palette"][0] == 1.0 and scores["rule_axis_edges"][0] == 1.0
    assert scores["rule_rectangles"][0] == 1.0 and scores["rule_score"][0] == 1.0


def test_empty_canvas_has_no_lines_to_follow():
    scores = rules.rule_scores(canvas())
    assert scores["rule_palette"][0] == 1.0
    assert scores["rule_axis_edges"][0] == 0.0 and scores["rule_rectangles"][0] == 0.0   # no edge, no bounded region
    assert scores["rule_score"][0] == pytest.approx(1 / 3)


def test_palette_share_counts_pixels_near_a_paint():
    image = paint_cells(canvas(), slice(None), slice(0, 16), (128, 128, 128))      # half mid-grey
    assert rules.palette_share(image)[0] == 0.5
    jittered = paint_cells(canvas(), slice(None), slice(0, 16), (200 + 20, 32 - 20, 32 + 20))   # red, 0.14 off
    assert rules.palette_share(jittered)[0] == 1.0
    assert rules.palette_share(jittered, tolerance=0.1)[0] == 0.5


def test_diagonal_edges_are_not_horizontal_or_vertical():
    size = 32
    image = canvas(size)
    above = np.arange(size)[None, :] > np.arange(size)[:, None]                   # x > y: black above the diagonal
    image[0][above] = np.array(mondrian.BLACK, np.float32) / 255
    assert rules.axis_edge_share(image)[0] == 0.0
    # The white triangle is bounded by the black one but fills only half its bounding box.
    assert rules.rectangle_share(image)[0] == 0.0
    assert rules.rule_scores(image)["rule_score"][0] == pytest.approx(1 / 3)


def test_rectangles_must_be_one_paint_and_fill_their_box():
    image = paint_cells(canvas(), slice(None), slice(16, 18), mondrian.BLACK)    # regions: 16 columns left, 14 right
    paint_cells(image, slice(0, 16), slice(18, 32), mondrian.BLUE)                # the right region half blue, half white
    left, right = 32 * 16, 32 * 14
    assert rules.rectangle_share(image)[0] == pytest.approx(left / (left + right))
    # Two lines meeting in a corner: the 16 x 14 field they close off counts; the L-shaped rest
    # (about 3/4 of its bounding box) does not.
    ell = paint_cells(canvas(), slice(0, 16), slice(16, 18), mondrian.BLACK)
    paint_cells(ell, slice(16, 18), slice(16, 32), mondrian.BLACK)
    assert rules.rectangle_share(ell)[0] == pytest.approx(16 * 14 / (32 * 32 - 16 * 2 - 16 * 2))


def test_grey_images_are_read_as_rgb():
    grey = np.zeros((2, 32, 32, 1), np.float32)
    assert rules.rule_scores(grey)["rule_palette"].tolist() == [1.0, 1.0]        # black is a paint
    with pytest.raises(ValueError, match="N x H x W x 1 or 3"):
        rules.rule_scores(np.zeros((2, 32, 32, 4)))


@pytest.mark.parametrize("size", [32, 64])
def test_real_paintings_score_near_one_noise_and_blur_lower(size):
    real = mondrian.load(size)[2][:400].astype(np.float32) / 255
    real_score = rules.summary(real)
    assert real_score["rule_palette"] == 1.0 and real_score["rule_rectangles"] == 1.0
    assert real_score["rule_score"] > 0.98
    noise = rules.summary(np.random.default_rng(0).random(real.shape, dtype=np.float32))
    blurred = rules.summary(ndimage.gaussian_filter(real, sigma=(0, 1, 1, 0)))
    assert noise["rule_score"] < 0.2 and noise["rule_rectangles"] < 0.01
    assert blurred["rule_score"] < 0.7 and blurred["rule_rectangles"] < 0.2
    assert all(0.0 <= value <= 1.0 for value in (*real_score.values(), *noise.values(), *blurred.values()))
