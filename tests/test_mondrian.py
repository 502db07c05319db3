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


# ------------------------------------------------------------------------------------ the evaluate path
def _paintings_npz(tmp_path_factory, size: int, train: int, test: int, seed: int) -> str:
    """`train` + `test` freshly drawn paintings at size x size RGB, as an .npz dataset."""
    images, labels = mondrian.generate(train + test, size, seed=seed)
    path = tmp_path_factory.mktemp("paintings") / f"paintings-{size}.npz"
    np.savez(path, x_train=images[:train], y_train=labels[:train], x_test=images[train:], y_test=labels[train:],
             class_names=np.array(mondrian.CLASS_NAMES))
    return str(path)


@pytest.fixture(scope="module")
def paintings_32(tmp_path_factory) -> str:
    """600 + 100 paintings at 32 x 32 RGB as an .npz: every family's tiny run trains in seconds on it."""
    return _paintings_npz(tmp_path_factory, 32, 600, 100, seed=11)


def test_evaluate_reports_the_rule_score_beside_the_real_paintings(paintings_32, tmp_path):
    from conftest import tiny_run

    run = tiny_run("gan", tmp_path / "gan", dataset=paintings_32)
    result = genlab.evaluate(run.path, dataset="mondrian-32", count=20)
    samples, real, mean = (result.rows[name] for name in ("gan samples", "real training images", "per-pixel mean image"))
    assert set(rules.KEYS) <= set(samples) and "fid" not in samples       # genlab ships none for the 32-pixel paintings
    assert real["rule_score"] > 0.95 and real["rule_rectangles"] == 1.0
    assert samples["rule_score"] < real["rule_score"] - 0.3                # six steps paint no Mondrian
    assert mean["rule_score"] < 0.2                                        # the blurred mean painting breaks the rules
    table = result.table()
    assert "rule score" in table and "FID" not in table
    metrics = run.read_metrics()
    assert metrics["sample_rule_score"] == pytest.approx(samples["rule_score"]) and metrics["evaluator_sha256"] is None


def test_rule_score_sits_beside_the_network_metrics_where_an_evaluator_exists(monkeypatch, paintings_32):
    import keras

    from genlab import evaluation, evaluator

    network = evaluator.build((32, 32, 3), 8)                              # untrained: the numbers only need to exist
    embedder = keras.Model(network.input, [network.get_layer(evaluator.FEATURE_LAYER).output, network.output])
    found = evaluator.Evaluator("mondrian-32", "0" * 64, network, embedder, None, "this test")
    monkeypatch.setitem(evaluator._CACHE, evaluator.fingerprint(data.load("mondrian-32")), found)
    reference = evaluation.RealReference("mondrian-32")
    images = data.to_float(reference.dataset.x_test[:50])
    scores = evaluation.score(images, reference)
    assert {"fid", "kid", "precision", *rules.KEYS} <= set(scores)
    table = evaluation.format_table({"paintings": scores}, "both")
    assert "FID" in table and "rule score" in table
    # Without a rule score, a dataset with no evaluator is still refused as before.
    with pytest.raises(genlab.errors.GenlabError, match="no evaluator for"):
        evaluation.RealReference(paintings_32)



def test_the_shipped_mondrian_evaluator_is_pinned_small_and_tells_the_classes_apart():
    from genlab import evaluator

    entry = evaluator.registry()["mondrian"]
    path = evaluator.ASSETS / entry["file"]
    assert evaluator.sha256(path) == entry["sha256"]
    assert path.stat().st_size < 1_000_000                                  # genlab ships it: a few hundred KB
    loaded = evaluator.load("mondrian")
    assert loaded.source == "shipped with genlab" and tuple(loaded.model.input_shape[1:]) == (64, 64, 3)
    # Which primaries a painting uses is plain to see: the classifier gets nearly all right.
    assert entry["test_accuracy"] >= 0.97 and loaded.model.output_shape[-1] == len(mondrian.CLASS_NAMES)


@pytest.fixture(scope="module")
def paintings_64(tmp_path_factory) -> str:
    """200 + 50 paintings at 64 x 64 RGB, for a tiny run at the size of the shipped evaluator."""
    return _paintings_npz(tmp_path_factory, 64, 200, 50, seed=12)


def test_evaluate_on_mondrian_scores_fid_with_the_shipped_evaluator(paintings_64, tmp_path, monkeypatch):
    from conftest import tiny_run

    from genlab import evaluation, evaluator

    # 500 training paintings for the reference row (not 10000): embedding and rule-scoring them
    # at 64 pixels is most of this test's time.
    monkeypatch.setattr(evaluation, "TRAIN_REFERENCE", 500)
    monkeypatch.setattr(evaluation, "_REFERENCES", {})
    run = tiny_run("gan", tmp_path / "gan", dataset=paintings_64)
    result = genlab.evaluate(run.path, dataset="mondrian", count=50)
    samples, real = result.rows["gan samples"], result.rows["real training images"]
    assert {"fid", "kid", "precision", *rules.KEYS} <= set(samples)
    # Six steps paint no Mondrian: far from the test paintings in the evaluator's features, where
    # the real training paintings sit close to them.
    assert real["fid"] * 10 < samples["fid"] and real["rule_score"] > samples["rule_score"] + 0.3
    assert "FID" in result.table() and "rule score" in result.table()
    assert run.read_metrics()["evaluator_sha256"] == evaluator.registry()["mondrian"]["sha256"]

# ------------------------------------------------------------------------------------ the families at 32 and 64 pixels
GENERATIVE = ("gan", "cgan", "wgan-gp", "vae", "diffusion", "pixelcnn")


@pytest.mark.parametrize("family", GENERATIVE)
def test_generative_family_trains_on_rgb_paintings(family, paintings_32, tmp_path):
    from conftest import tiny_run

    run = tiny_run(family, tmp_path / family, dataset=paintings_32)
    images = genlab.sample(run.path, 4, seed=0)
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.float32
    assert np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0


def test_networks_grow_a_level_per_doubling_of_the_image():
    import keras

    from genlab.diffusion import unet
    from genlab.families import diffusion, gan, networks

    def conv_filters(model, kind):
        return [layer.filters for layer in model.layers if type(layer) is kind]

    assert [networks.resolution_levels((side, side, 1)) for side in (16, 28, 32, 64, 128)] == [2, 2, 2, 3, 4]
    for side, trunk, head, first_map in ((28, [64, 128, 256], [32, 16], (7, 7)), (32, [64, 128, 256], [32, 16], (8, 8)),
                                         (64, [16, 32, 64, 128], [32, 16, 8], (8, 8))):
        shape = (side, side, 3)
        discriminator, generator = gan.build_discriminator(shape), gan.build_generator(32, shape)
        assert conv_filters(discriminator, keras.layers.Conv2D) == trunk
        assert conv_filters(generator, keras.layers.Conv2DTranspose) == head
        assert networks.coarsest_map(shape) == first_map and generator.output.shape[1:] == shape
        assert discriminator.get_layer(index=-2).output.shape[-1] == networks.trunk_features(shape) == 4 * 4 * trunk[-1]
        # The FLOP count follows the built networks at every size.
        assert networks.generator_flops(32, shape) == pytest.approx(_forward_flops(generator))
        assert networks.trunk_flops(shape) + 2 * networks.trunk_features(shape) == pytest.approx(_forward_flops(discriminator))
    config = diffusion.DiffusionConfig()
    assert unet.level_widths(config, (28, 28, 1)) == unet.level_widths(config, (32, 32, 3)) == (16, 32, 64)
    network = unet.build_network(config, (64, 64, 3), 8)
    assert unet.level_widths(config, (64, 64, 3)) == (16, 16, 32, 64) and network.output.shape[1:] == (64, 64, 3)
    coarsest = min(layer.output.shape[1] for layer in network.layers if type(layer) is keras.layers.Conv2D)
    assert coarsest == 8


def _forward_flops(model) -> float:
    import keras

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            total += 2.0 * layer.output.shape[1] * layer.output.shape[2] * float(np.prod(layer.kernel.shape))
        elif isinstance(layer, keras.layers.Dense):
            total += 2.0 * float(np.prod(layer.kernel.shape))
    return total
