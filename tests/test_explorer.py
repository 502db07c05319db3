"""genlab explore: the pure pieces (drawing -> digit, manifold clicks, latent paths) and the app
itself, started on a loopback port and driven in headless Chromium (the Debian package): a slider
changes the image, a class can be picked, a drawn stroke is denoised, and the page requests
nothing outside 127.0.0.1."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest
from conftest import raises_one_line, tiny_run

from genlab import explorer, families
from genlab.errors import GenlabError
from genlab.latent import latent_paths, spherical_paths


# ---------------------------------------------------------------------------- pure pieces
def _stroke_canvas(transparent: bool) -> np.ndarray:
    """A 280 x 280 canvas with a thick vertical bar drawn off-centre (a '1' in the top-left)."""
    canvas = np.zeros((280, 280, 4), np.uint8)
    if not transparent:
        canvas[...] = 255                       # opaque white background, black ink
    rows, columns = slice(20, 140), slice(30, 50)
    canvas[rows, columns, :3] = 0
    canvas[rows, columns, 3] = 255
    return canvas


@pytest.mark.parametrize("transparent", [True, False])
def test_a_drawing_becomes_a_centred_mnist_style_digit(transparent):
    image = explorer.drawing_to_image({"composite": _stroke_canvas(transparent)}, (28, 28, 1))
    assert image.shape == (28, 28, 1) and image.dtype == np.float32
    assert image.max() > 0.9 and image.min() >= 0.0
    # MNIST's preparation: the stroke fills 20 pixels of height, centred by its centre of mass.
    rows = np.nonzero(image[..., 0].max(axis=1) > 0.1)[0]
    assert 19 <= rows.max() - rows.min() + 1 <= 22
    centre_y, centre_x = (np.array(np.nonzero(image[..., 0] > 0.1)).mean(axis=1))
    assert abs(centre_y - 13.5) < 1.0 and abs(centre_x - 13.5) < 1.0
    # The background stays black: white-on-black whatever the canvas was.
    assert image[0, 0, 0] == 0.0 and image[27, 27, 0] == 0.0


def test_an_empty_canvas_is_zeros_and_an_oversized_image_is_refused():
    assert not explorer.drawing_to_image(None, (28, 28, 1)).any()
    assert not explorer.drawing_to_image(np.zeros((280, 280, 4), np.uint8), (28, 28, 1)).any()
    huge = np.broadcast_to(np.zeros((1, 1), np.uint8), (5000, 4000))     # no memory: a view
    with raises_one_line(GenlabError, r"more than the explorer's limit"):
        explorer.drawing_to_image(huge, (28, 28, 1))
    with raises_one_line(GenlabError, r"must be an image"):
        explorer.drawing_to_image(np.zeros(5), (28, 28, 1))


def test_a_click_on_the_manifold_decodes_the_point_of_that_cell():
    cells, side = explorer.MANIFOLD_CELLS, 28 * explorer.MANIFOLD_CELLS * 2
    points = explorer.manifold_points(cells)
    cell = side / cells
    for row, column in [(0, 0), (3, 11), (cells - 1, cells - 1), (7, 7)]:
        x, y = (column + 0.5) * cell - 0.5, (row + 0.5) * cell - 0.5      # the cell's centre pixel
        np.testing.assert_allclose(explorer.point_at(x, y, side, side, cells), points[row * cells + column], atol=1e-4)


def test_spherical_paths_keep_the_norm_of_gaussian_noise():
    rng = np.random.default_rng(0)
    ends = rng.standard_normal((2, 784))
    sphere = spherical_paths(ends[:1], ends[1:], 9)
    line = latent_paths(ends[:1], ends[1:], 9)
    np.testing.assert_allclose(sphere[[0, -1]], ends, atol=1e-5)
    norms = np.linalg.norm(ends, axis=1)
    # slerp stays near the ends' norm (~28); the straight line's midpoint falls to ~28/sqrt(2)
    assert np.linalg.norm(sphere[4]) > 0.95 * norms.min()
    assert np.linalg.norm(line[4]) < 0.8 * norms.min()


def test_vae_sliders_go_to_the_dimensions_the_decoder_uses():
    from genlab.families.vae import dims_by_effect

    weights = np.zeros((6, 4))
    weights[4] = [3.0, 3.0, 3.0, 3.0]       # dimension 4 matters most,
    weights[1] = [0.5, 0.5, 0.0, 0.0]       # dimension 1 a little, the rest not at all
    decode = lambda points: 1 / (1 + np.exp(-points @ weights))       # noqa: E731
    assert dims_by_effect(decode, 6)[:2] == [4, 1]


def test_images_are_enlarged_with_sharp_pixels_and_strips_join_them():
    image = np.zeros((28, 28, 1), np.float32)
    image[0, 0] = 1.0
    big = explorer.enlarged(image, 224)
    assert big.shape == (224, 224) and big.dtype == np.uint8
    assert big[:8, :8].min() == 255 and big[8:, 8:].max() == 0          # one pixel -> an 8 x 8 block
    row = explorer.strip(np.stack([image] * 3), side=56)          # x2: 3 images of 28 + 4 one-pixel frames
    assert row.shape == (2 * 30, 2 * (3 * 28 + 4)) and row.dtype == np.uint8
    assert row[2:4, 2:4].min() == 255 and row[4:10, 4:10].max() == 0


# ---------------------------------------------------------------------------- the app in a browser
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    pytest.importorskip("gradio", reason='the explorer needs Gradio: pip install "genlab[app]" (CI installs it)')
    playwright = pytest.importorskip("playwright.sync_api", reason="driving the page needs playwright (CI installs it)")
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        pytest.skip("chromium is not installed (CI installs it: apt-get install chromium)")
    root = tmp_path_factory.mktemp("explore")
    runs = [tiny_run("gan", root / "gan").path, tiny_run("cgan", root / "cgan").path, tiny_run("dae", root / "dae").path]
    models = explorer.open_models(runs)
    app, url = explorer.launch(models, port=explorer.free_port(), block=False, quiet=True)
    yield playwright, browser_path, url
    app.close()


def _image_source(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def _wait_for_change(page, selector: str, before: str, seconds: float = 60.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = _image_source(page, selector) if page.locator(f"{selector} img").count() else ""
        if now and now != before:
            return now
        page.wait_for_timeout(250)
    raise AssertionError(f"the image in {selector} did not change within {seconds:.0f} s")


def test_the_explorer_works_in_a_browser_and_stays_on_this_machine(served):
    playwright, browser_path, url = served
    requested = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=browser_path, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url, wait_until="load", timeout=90_000)
            page.wait_for_selector(".sample img", timeout=90_000)

            # 1. The GAN tab: setting a latent slider changes the image.
            before = _image_source(page, ".sample")
            number = page.locator(".latent input[type=number]").first
            number.fill("0.95")
            number.press("Enter")
            after = _wait_for_change(page, ".sample", before)
            # ...and a new seed gives another image (the sliders follow it).
            seed = page.locator(".seed input").first
            seed.fill("7")
            seed.press("Enter")
            _wait_for_change(page, ".sample", after)

            # 2. The cGAN tab: picking a class draws that class.
            page.get_by_role("tab", name="cgan", exact=True).click()
            page.wait_for_timeout(500)
            panel = page.locator(".sample:visible").first
            before = panel.locator("img").get_attribute("src")
            page.locator(".class input:visible").first.click()
            page.get_by_role("option", name="3", exact=True).click()
            deadline = time.monotonic() + 60
            while panel.locator("img").get_attribute("src") == before and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            assert panel.locator("img").get_attribute("src") != before, "picking a class did not change the image"

            # 3. The DAE tab: a drawn stroke comes back denoised, with its code.
            page.get_by_role("tab", name="dae", exact=True).click()
            page.wait_for_timeout(500)
            page.locator(".canvas button[aria-label='Brush']").first.click()
            box = page.locator(".canvas canvas").first.bounding_box()
            x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.25
            page.mouse.move(x, y)
            page.mouse.down()
            for step in range(12):
                page.mouse.move(x + step, y + step * box["height"] * 0.04)
            page.mouse.up()
            page.wait_for_selector(".output img", timeout=60_000)
            page.wait_for_selector(".code img", timeout=60_000)
        finally:
            browser.close()
    outside = sorted({address for address in requested if not address.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))})
    assert not outside, f"the page requested addresses outside this machine: {outside[:5]}"


def test_an_invalid_input_is_a_message_not_a_traceback(served):
    import gradio as gr

    handler = explorer._shown_in_page(lambda value: explorer._seed_value(value))
    with pytest.raises(gr.Error, match="the seed must be a whole number"):
        handler(-3)
    broken = explorer._shown_in_page(lambda: 1 / 0)
    with pytest.raises(gr.Error, match="ZeroDivisionError"):
        broken()


# ---------------------------------------------------------------------------- every family's tab, from its contract
EXPLORABLE = [name for name in families.names() if families.get(name).latent_space is not None]


@pytest.mark.parametrize("name", EXPLORABLE)
def test_every_explorable_family_opens_and_builds_its_tab(name, shared_tiny_run):
    """The explorer asks the family (purpose, codec, sampler options with a slider), never its name:
    each family's tab is built, its controls are its declared options, and one image is decoded."""
    pytest.importorskip("gradio", reason='the explorer needs Gradio: pip install "genlab[app]" (CI installs it)')
    family = families.get(name)
    run = shared_tiny_run(name, **dict(family.tiny_variants[0]))
    (model,) = explorer.open_models([run.path])
    assert model.options == tuple(option for option in family.sampler_options if option.slider is not None)
    assert model.generative == (family.purpose == "generate")
    if model.generative:
        image = model.image(model.space.draw(0, 1)[0], 0, **{option.name: model.space.options.get(option.name)
                                                               for option in model.options})
        assert image.ndim == 3
    else:
        image = model.autoencode(np.zeros(model.image_shape, np.float32), 0.5)[1]
        assert image.shape == tuple(model.image_shape)
    assert np.isfinite(image).all() and 0.0 <= image.min() and image.max() <= 1.0
    explorer.build_app([model])


def test_a_run_without_a_latent_space_is_one_clear_line(shared_tiny_run):
    run = shared_tiny_run("classifier")
    with raises_one_line(GenlabError, r"is a classifier run, which has no latent space to explore; give a run of .*ae.* or "):
        explorer.open_models([run.path])


# ---------------------------------------------------------------------------- batching: a class at once
def _at_once(count: int, work):
    """Run work(index) in `count` threads released together; returns the results in index order."""
    import threading

    barrier = threading.Barrier(count)
    results: list = [None] * count
    failures: list = []

    def run(index):
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[0]
    return results


def test_the_batcher_answers_each_caller_its_own_rows_from_shared_calls():
    calls = []

    def decode(points, labels=None, scale=1.0):
        calls.append((len(points), None if labels is None else list(labels), scale))
        time.sleep(0.02)                         # a network call: others arrive meanwhile
        return np.asarray(points, np.float32)[:, :1] * scale + (0 if labels is None else np.asarray(labels)[:, None])

    batcher = explorer.Batcher(decode, window_s=0.01, max_rows=64)
    points = [np.full((1 + index % 3, 2), index, np.float32) for index in range(24)]
    results = _at_once(24, lambda index: batcher(points[index]))
    for index, result in enumerate(results):
        np.testing.assert_array_equal(result, points[index][:, :1])
    assert len(calls) < 24 and batcher.stats.largest > 1 and batcher.stats.requests == 24
    # Unlike requests (other options, labels or none) never share a call.
    calls.clear()
    results = _at_once(12, lambda index: batcher(points[index], np.full(len(points[index]), 100) if index % 2 else None,
                                                 scale=float(index % 3 == 0) + 1.0))
    for index, result in enumerate(results):
        expected = points[index][:, :1] * (float(index % 3 == 0) + 1.0) + (100 if index % 2 else 0)
        np.testing.assert_array_equal(result, expected)
    assert batcher.stats.requests == 36 and len(calls) < 12


def test_one_bad_request_in_a_batch_fails_alone():
    def decode(points, labels=None):
        if np.isnan(points).any():
            raise GenlabError("a point is not finite")
        time.sleep(0.02)
        return np.asarray(points) * 2

    batcher = explorer.Batcher(decode, window_s=0.02)

    def ask(index):
        try:
            return batcher(np.full((1, 2), np.nan if index == 3 else index, np.float32))
        except GenlabError as error:
            return str(error)

    results = _at_once(8, ask)
    assert results[3] == "a point is not finite"
    for index in (0, 1, 2, 4, 5, 6, 7):
        np.testing.assert_array_equal(results[index], np.full((1, 2), 2 * index, np.float32))


@pytest.mark.parametrize("name", ["pretrained:mnist-gan", "pretrained:mnist-cgan"])
def test_concurrent_requests_get_the_images_sequential_requests_get(name):
    """Batching must not change what a student sees: 24 requests at once (one network call or a
    few) give each seed the very image it gets asked alone, bit for bit."""
    (model,) = explorer.open_models([name])
    label = 3 if model.space.num_classes else None
    points = [model.space.draw(seed, 1)[0] for seed in range(24)]
    alone = [model.image(point, label) for point in points]
    calls_before = model.space.decode.stats.calls
    together = _at_once(24, lambda index: model.image(points[index], label))
    for seed in range(24):
        np.testing.assert_array_equal(together[seed], alone[seed])
    stats = model.space.decode.stats
    assert stats.calls - calls_before < 24 and stats.largest > 1     # they did share calls


def test_the_served_explorer_answers_a_class_at_once_as_it_answers_one_student():
    """Through the running app, as the page asks (a session per client, Gradio's queue): 12
    clients at once get the images one client gets asking for the same seeds in turn, no errors."""
    pytest.importorskip("gradio", reason='the explorer needs Gradio: pip install "genlab[app]" (CI installs it)')
    from genlab.bench import explore as bench_explore

    models = explorer.open_models(["pretrained:mnist-gan"])
    app, url = explorer.launch(models, port=explorer.free_port(), block=False, quiet=True)
    try:
        endpoint = bench_explore.find_endpoint(url)
        alone, together = {}, {}
        _, errors, _ = bench_explore.fire(url, endpoint, clients=1, requests=12, first_seed=50, images=alone)
        assert not errors
        _, errors, _ = bench_explore.fire(url, endpoint, clients=12, requests=1, first_seed=50, images=together)
        assert not errors
    finally:
        app.close()
    assert sorted(alone) == sorted(together) == list(range(50, 62))
    for seed in alone:
        np.testing.assert_array_equal(together[seed], alone[seed])
    assert len({alone[seed].tobytes() for seed in alone}) == 12          # twelve different digits
    assert models[0].space.decode.stats.largest > 1


def test_the_explorer_benchmark_reports_percentiles_and_refuses_bad_counts(capsys):
    from conftest import cli_error

    from genlab import cli
    from genlab.bench import explore as bench_explore

    result = bench_explore.summarize([0.1, 0.2, 0.3, 0.4], 2.0, errors=1)
    assert result["requests"] == 4 and result["errors"] == 1 and result["images_per_s"] == 2.0
    assert result["p50_s"] == pytest.approx(0.25) and result["max_s"] == 0.4
    assert bench_explore.summarize([], 1.0, errors=3)["p95_s"] is None
    assert cli.main(["bench", "explore", "--clients", "0"]) == 2
    assert cli_error(capsys) == "genlab: error: --clients must be between 1 and 1000, got 0"
    assert cli.main(["bench", "explore", "--requests", "-1"]) == 2
    assert "--requests must be between 1 and 10000" in cli_error(capsys)


COMPLETING = [name for name in families.names() if families.get(name).complete is not None]


@pytest.mark.parametrize("name", COMPLETING)
def test_a_completing_family_gets_a_completion_tab(name, shared_tiny_run):
    """A family that completes images from their top rows (and has no latent space) opens with a
    completion tab: the kept rows come back unchanged, the rest is drawn."""
    pytest.importorskip("gradio", reason='the explorer needs Gradio: pip install "genlab[app]" (CI installs it)')
    run = shared_tiny_run(name, **dict(families.get(name).tiny_variants[0]))
    (model,) = explorer.open_models([run.path])
    assert model.complete is not None and model.examples is not None
    completions = model.complete(model.examples[:1], keep_rows=10, samples=2, seed=0, label=None)
    assert completions.shape == (1, 2) + tuple(model.image_shape)
    np.testing.assert_allclose(completions[0, :, :10], np.repeat(model.examples[:1, :10] / 255.0, 2, axis=0), atol=1e-6)
    explorer.build_app([model])


ENCODING = [name for name in EXPLORABLE if families.get(name).purpose == "generate" and families.get(name).codec is not None]


@pytest.mark.parametrize("name", ENCODING)
def test_a_family_with_an_encoder_starts_from_real_test_images(name, shared_tiny_run):
    """Generator tabs of families with an encoder (vae, flow) offer the run's test images: encoded,
    the sliders start from one; the line between two decodes into a strip whose ends are those
    images for an exact latent (a flow), their reconstructions otherwise."""
    pytest.importorskip("gradio", reason='the explorer needs Gradio: pip install "genlab[app]" (CI installs it)')
    family = families.get(name)
    run = shared_tiny_run(name, **dict(family.tiny_variants[0]))
    (model,) = explorer.open_models([run.path])
    assert model.codec is not None and len(model.examples) == explorer.models.EXAMPLES
    image, point = model.encoded_example(3)
    assert np.array_equal(image, model.examples[3] / np.float32(255.0))
    path = model.path_between_examples(3, 5, 7)
    assert path.shape == (7, model.space.size)
    np.testing.assert_allclose(path[0], point, rtol=1e-6)
    ends = model.images(path[[0, -1]])
    # The ends decode as the encoder-decoder rebuilds the two images (a flow: exactly the images).
    reconstruction = model.codec.reconstruct(np.stack([model.examples[3], model.examples[5]]) / np.float32(255.0))
    np.testing.assert_allclose(ends, reconstruction, atol=2e-3)
    with pytest.raises(GenlabError, match="test image 100 does not exist; choose 0 to 99"):
        model.encoded_example(100)
    explorer.build_app([model])


def test_a_colour_canvas_keeps_its_paints_and_places():
    """An RGB model's canvas: a red block painted top-left on a transparent canvas becomes a red
    top-left block on the off-white ground at the model's size (no digit-style centring)."""
    from genlab.explorer.images import PAINTS, painting_to_image

    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[:140, :140] = (213, 43, 30, 255)                      # the red paint, opaque
    image = painting_to_image({"composite": canvas}, (32, 32, 3))
    assert image.shape == (32, 32, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image[4, 4], np.array([213, 43, 30]) / 255.0, atol=1e-6)
    ground = np.array([int(PAINTS[-1][index:index + 2], 16) for index in (1, 3, 5)]) / 255.0
    np.testing.assert_allclose(image[28, 28], ground, atol=1e-6)
    assert not painting_to_image({"composite": np.zeros((280, 280, 4), np.uint8)}, (32, 32, 3)).any()   # nothing painted
    with raises_one_line(GenlabError, r"the painting must be a colour image"):
        painting_to_image(np.zeros((10, 10)), (32, 32, 3))


def test_an_rgb_autoencoder_gets_a_colour_canvas(tmp_path):
    pytest.importorskip("gradio", reason='the explorer needs Gradio: pip install "genlab[app]" (CI installs it)')
    from genlab.data import mondrian

    x_train, y_train, x_test, y_test = mondrian.load(32)
    paintings = tmp_path / "paintings.npz"
    np.savez(paintings, x_train=x_train[:256], y_train=y_train[:256], x_test=x_test[:64], y_test=y_test[:64])
    run = tiny_run("ae", tmp_path / "ae", dataset=str(paintings))
    (model,) = explorer.open_models([run.path])
    assert tuple(model.image_shape) == (32, 32, 3)
    app = explorer.build_app([model])
    pads = [block for block in app.blocks.values() if type(block).__name__ == "Sketchpad"]
    assert len(pads) == 1 and len(pads[0].brush.colors) == 5
    painted = explorer.images.painting_to_image({"composite": np.full((280, 280, 4), (28, 79, 160, 255), np.uint8)},
                                                model.image_shape)
    noisy, rebuilt, code = model.autoencode(painted, 0.0)
    assert rebuilt.shape == (32, 32, 3) and np.isfinite(rebuilt).all()
