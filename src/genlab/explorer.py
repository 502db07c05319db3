"""genlab explore: a local web app to move through trained models' latent spaces.

The app is built with Gradio (`pip install "genlab[app]"`), which serves all its own assets:
the page loads nothing from outside the machine, listens on 127.0.0.1 unless told otherwise,
and sends no analytics. What the app shows is computed by the pure functions here and by each
family's `LatentSpace` (genlab.latent), which the tests check without a browser.

Tabs, by family:
- gan / wgan-gp / vae / diffusion: a seed, "random", sliders over latent directions (VAE: its
  most used dimensions; diffusion: fixed random directions of its noise image), an
  interpolation between two seeds, a random walk; cgan / conditional diffusion add a class
  picker, diffusion a guidance and a sampling-steps slider and the reverse process;
- a VAE with a 2-D latent: its manifold, where a click decodes that point;
- ae / dae: a canvas to draw a digit, a noise slider, the noisy input, the output and the code;
- with two or more generative runs, "side by side": the same seed through every model.
"""
# No `from __future__ import annotations` here: Gradio reads the handlers' annotations (gr.SelectData).
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from genlab.errors import GenlabError

# A drawn or uploaded image larger than this many pixels is refused before any work (the canvas
# itself is 280 x 280; this is a guard against an oversized upload through the API).
MAX_INPUT_PIXELS = 4096 * 4096
DISPLAY_SIDE = 224          # images are shown enlarged (nearest neighbour, so pixels stay sharp)
SLIDERS = 8
MAX_STRIP = 32              # images in an interpolation or a walk


# ---------------------------------------------------------------------------- pure helpers
def enlarged(image: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """A float image H x W x C in [0, 1] -> uint8 (side x side·W/H) for display, nearest neighbour."""
    from PIL import Image

    pixels = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    height, width = pixels.shape[:2]
    size = (max(1, round(side * width / height)), side)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.NEAREST))


def strip(images: np.ndarray, side: int = 112) -> np.ndarray:
    """N float images -> one uint8 row (plotting.grid_array's tiling, 1-pixel white frames),
    enlarged by a whole factor so that each image is about `side` pixels high."""
    from genlab import plotting

    row = plotting.grid_array(images, columns=len(images), pad=1)
    factor = max(1, round(side / np.asarray(images).shape[1]))
    return np.repeat(np.repeat(row, factor, axis=0), factor, axis=1)


def drawing_to_image(drawing: Any, image_shape: Sequence[int]) -> np.ndarray:
    """A canvas drawing (Gradio's editor value, or any H x W [x C] array) -> a float image of the
    model's shape, prepared the way MNIST's digits were: white on black, the stroke's bounding box
    scaled to fit 20 x 20 of 28 x 28 (the same share of other sides), centred by its centre of mass.

    A transparent canvas (alpha varies) reads the strokes from the alpha channel; an opaque one
    from darkness (dark strokes on a light background). Returns zeros for an empty canvas."""
    from PIL import Image
    from scipy import ndimage

    if isinstance(drawing, dict):
        drawing = drawing.get("composite")
    if drawing is None:
        return np.zeros(tuple(image_shape), np.float32)
    array = np.asarray(drawing)
    if array.ndim not in (2, 3) or array.size == 0:
        raise GenlabError(f"the drawing must be an image (H x W or H x W x C), got shape {array.shape}")
    if array.shape[0] * array.shape[1] > MAX_INPUT_PIXELS:
        raise GenlabError(f"the image has {array.shape[0]} x {array.shape[1]} pixels, more than the explorer's limit of "
                          f"{MAX_INPUT_PIXELS:,}; draw on the canvas or upload a smaller image")
    array = array.astype(np.float32)
    if array.max() > 1.0:
        array = array / 255.0
    if array.ndim == 3 and array.shape[2] == 4 and array[..., 3].min() < array[..., 3].max():
        ink = array[..., 3]                                                  # transparent canvas: alpha is the ink
    else:
        gray = array[..., :3].mean(axis=2) if array.ndim == 3 else array
        ink = 1.0 - gray if gray.mean() > 0.5 else gray                      # dark strokes on light, or light on dark
    height, width, channels = int(image_shape[0]), int(image_shape[1]), int(image_shape[2])
    if ink.max() <= 0.05:
        return np.zeros((height, width, channels), np.float32)
    rows, columns = np.nonzero(ink > 0.05)
    box = ink[rows.min():rows.max() + 1, columns.min():columns.max() + 1]
    inner = max(1, round(min(height, width) * 20 / 28))
    scale = inner / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    small = np.asarray(Image.fromarray((box * 255).astype(np.uint8)).resize(size, Image.LANCZOS), np.float32) / 255.0
    canvas = np.zeros((height, width), np.float32)
    top, left = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    canvas[top:top + small.shape[0], left:left + small.shape[1]] = small
    centre_y, centre_x = ndimage.center_of_mass(canvas)
    canvas = ndimage.shift(canvas, (height / 2 - 0.5 - centre_y, width / 2 - 0.5 - centre_x), order=1, mode="constant")
    image = np.clip(canvas, 0.0, 1.0)[..., None]
    return np.repeat(image, channels, axis=2).astype(np.float32)


def with_noise(image: np.ndarray, factor: float, seed: int = 0) -> np.ndarray:
    """image + factor * N(0, 1), clipped to [0, 1]: the chapter's corruption (factor 0.55)."""
    noise = np.random.default_rng(seed).standard_normal(image.shape)
    return np.clip(image + factor * noise, 0.0, 1.0).astype(np.float32)


def code_figure(code: np.ndarray) -> np.ndarray:
    """An autoencoder's code as a small bar chart (uint8 RGB)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    code = np.asarray(code, np.float32).reshape(-1)
    figure, axes = plt.subplots(figsize=(4.2, 1.8), dpi=100)
    axes.bar(np.arange(len(code)), code, color="#3b6fb6")
    low, high = min(0.0, float(code.min())), max(0.0, float(code.max()))
    axes.set_ylim(low - 0.08 * (high - low + 1e-6), high + 0.12 * (high - low + 1e-6))   # room for the top tick
    axes.set_xlabel("code dimension")
    axes.set_xlim(-0.7, len(code) - 0.3)
    axes.tick_params(labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout(pad=0.6)
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()
    plt.close(figure)
    return pixels


# ---------------------------------------------------------------------------- the models
@dataclass
class Model:
    """One run opened for the explorer."""
    label: str
    path: str                           # the run folder, or "pretrained:NAME"
    family: str
    config: Any
    purpose: str = "generate"           # the family's: "generate" (a generator tab) or "reconstruct" (a canvas)
    space: Any = None                   # genlab.latent.LatentSpace, for generative families
    codec: Any = None                   # genlab.contract.Codec (encode, reconstruct) for the canvas
    denoises: bool = False
    image_shape: tuple[int, ...] = (28, 28, 1)
    headline: str = ""
    axes: list = field(default_factory=list)
    options: tuple = ()                 # the family's SamplerOptions that have a control

    @property
    def generative(self) -> bool:
        return self.space is not None and self.purpose == "generate"

    def image(self, point: np.ndarray, label: int | None = None, **options) -> np.ndarray:
        labels = None if not self.space.num_classes else np.array([0 if label is None else int(label)])
        return self.space.decode(np.asarray(point, np.float32)[None], labels, **self._options(options))[0]

    def images(self, points: np.ndarray, label: int | None = None, **options) -> np.ndarray:
        labels = None if not self.space.num_classes else np.full(len(points), 0 if label is None else int(label))
        return self.space.decode(np.asarray(points, np.float32), labels, **self._options(options))

    def _options(self, options: dict) -> dict:
        return {key: value for key, value in options.items() if key in self.space.options and value is not None}

    def autoencode(self, image: np.ndarray, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(noisy input, the model's output, the code) for one float image."""
        noisy = with_noise(image, noise, seed) if noise > 0 else image
        output = self.codec.reconstruct(noisy[None])[0]
        code = self.codec.encode(noisy[None])[0]
        return noisy, output, code


def open_models(runs: Sequence[str | Path]) -> list[Model]:
    """Open each run (a folder, or whatever genlab.api.open_run accepts) for the explorer; a run
    of a family with nothing to explore (the classifier) is one clear error."""
    from genlab import api

    models = []
    labels = _labels([str(run) for run in runs])
    for run, label in zip(runs, labels):
        opened, family, config = api.open_run(run)
        shown_path = str(run) if str(run).startswith("pretrained:") else str(opened.path)
        model = Model(label=label, path=shown_path, family=family.name, config=config, purpose=family.purpose,
                      headline=_headline(opened.read_metrics(), family.headline), denoises=family.denoises,
                      options=tuple(option for option in family.sampler_options if option.slider is not None))
        if family.purpose == "reconstruct" and family.codec is not None and family.latent_space is not None:
            model.image_shape = tuple(api._image_shape(opened))
            model.codec = family.codec(opened, config)
            model.space = family.latent_space(opened, config)
        elif family.purpose == "generate" and family.latent_space is not None:
            model.space = family.latent_space(opened, config)
            model.axes = model.space.axes(SLIDERS)
        else:
            from genlab import families

            explorable = [other.name for other in families.all_families() if other.latent_space is not None]
            raise GenlabError(f"{run} is a {family.name} run, which has no latent space to explore; "
                              f"give a run of {', '.join(explorable[:-1])} or {explorable[-1]}")
        models.append(model)
    from genlab.progress import quiet_tensorflow

    quiet_tensorflow()   # predict() on new shapes prints retracing notices nobody can act on
    return models


def _labels(paths: list[str]) -> list[str]:
    """Short distinct tab names: the folder names (the parent too where two are alike)."""
    names = [path.split(":", 1)[1] if path.startswith("pretrained:") else (Path(path).name or path) for path in paths]
    if len(set(names)) < len(names):
        names = ["/".join(Path(path).parts[-2:]) for path in paths]
    return [f"{name} ({index + 1})" if names.count(name) > 1 else name for index, name in enumerate(names)]


def _headline(metrics: dict, headline: Sequence = ()) -> str:
    """The family's headline figures that metrics.json holds, e.g. "FID 12.3, class coverage 1.00"."""
    parts = []
    for metric in headline:
        value = metrics.get(metric.key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{metric.label} {value:{metric.format}}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------- the app
def _shown_in_page(function: Callable) -> Callable:
    """Event handlers: genlab's one-line errors (and anything unexpected) become a message in the
    page, never a traceback."""
    import functools

    import gradio as gr

    @functools.wraps(function)
    def handler(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except gr.Error:
            raise
        except GenlabError as error:
            raise gr.Error(str(error)) from None
        except Exception as error:  # noqa: BLE001 - shown to the user in one line
            raise gr.Error(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")) from None
    return handler


def _seed_value(value) -> int:
    if value is None or not np.isfinite(float(value)) or float(value) < 0 or float(value) != int(float(value)):
        raise GenlabError(f"the seed must be a whole number >= 0, got {value!r}")
    return int(value)


def build_app(models: Sequence[Model], *, title: str = "genlab explore"):
    """The Gradio Blocks of the explorer for the opened models."""
    import gradio as gr

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"# {title}\nMove through each model's latent space: every point is a new image. "
                    "Everything runs on this machine.")
        generative = [model for model in models if model.generative]
        with gr.Tabs():
            for model in models:
                with gr.Tab(model.label, id=f"tab-{models.index(model)}"):
                    if model.generative:
                        _generator_tab(model)
                    else:
                        _canvas_tab(model)
            if len(generative) >= 2:
                with gr.Tab("side by side", id="tab-side"):
                    _side_by_side_tab(generative)
    return app


def _describe(model: Model) -> str:
    space = model.space
    text = f"**{model.family}** run `{model.path}`"
    if model.headline:
        text += f" · {model.headline}"
    if model.generative:
        text += f"<br>latent space: {space.size} dimensions, {space.distribution}"
        if space.num_classes:
            text += f"; {space.num_classes} classes"
    return text


def _generator_tab(model: Model) -> None:
    import gradio as gr

    space = model.space
    stepwise = space.trajectory is not None      # the image is reached in steps: show them
    start = space.draw(0, 1)[0]
    gr.Markdown(_describe(model))
    point = gr.State(start)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            with gr.Row():
                seed = gr.Number(value=0, precision=0, minimum=0, label="seed", elem_classes=["seed"])
                shuffle = gr.Button("random", elem_classes=["random"])
            label = gr.Dropdown(choices=list(range(space.num_classes)), value=0 if space.num_classes else None, label="class",
                                visible=bool(space.num_classes),
                                elem_classes=["class"])
            # One slider per sampler option the family declares one for (a diffusion run's steps, guidance).
            option_sliders = []
            for option in model.options:
                low, high, step = option.slider
                upper = option.upper(model.config)
                high = min(high, upper) if upper is not None else high
                value = space.options.get(option.name, option.default(model.config))
                option_sliders.append(gr.Slider(low, high, value=value if value is not None else low, step=step,
                                                label=option.label or option.name,
                                                visible=not option.conditional_only or bool(space.num_classes),
                                                elem_classes=[option.name]))
            coordinates = space.coordinates(start, model.axes)
            sliders = [gr.Slider(axis.low, axis.high, value=round(float(np.clip(value, axis.low, axis.high)), 3),
                                 step=(axis.high - axis.low) / 200, label=axis.name, elem_classes=["latent"])
                       for axis, value in zip(model.axes, coordinates)]
        with gr.Column(scale=1, min_width=260):
            shown = gr.Image(value=enlarged(model.image(start, 0)), label="image", interactive=False, height=DISPLAY_SIDE + 40,
                             elem_classes=["sample"], buttons=["download"])
            first_reverse = strip(space.trajectory(start, 0 if space.num_classes else None), side=64) if stepwise else None
            reverse = gr.Image(value=first_reverse, label="reverse process: noise → image", interactive=False, visible=stepwise,
                               elem_classes=["reverse"])

    def options(*option_values) -> dict:
        return {option.name: option.kind(value) for option, value in zip(model.options, option_values)}

    def render(current, label_value, *option_values):
        chosen = options(*option_values)
        image = enlarged(model.image(current, label_value, **chosen))
        if not stepwise:
            return image, gr.update()
        trajectory = space.trajectory(current, label_value if space.num_classes else None, **model._options(chosen))
        return image, strip(trajectory, side=64)

    count_options = len(option_sliders)

    @_shown_in_page
    def from_seed(seed_value, label_value, *option_values):
        current = space.draw(_seed_value(seed_value), 1)[0]
        # Rounded for the sliders' number boxes (moving one slider then moves the others by < 0.0005).
        values = [round(float(np.clip(value, axis.low, axis.high)), 3)
                  for axis, value in zip(model.axes, space.coordinates(current, model.axes))]
        return (current, *render(current, label_value, *option_values), *values)

    @_shown_in_page
    def from_sliders(current, label_value, *values):
        option_values, values = values[:count_options], values[count_options:]
        current = space.moved(current, model.axes, values)
        return (current, *render(current, label_value, *option_values))

    @_shown_in_page
    def redraw(current, label_value, *option_values):
        return render(current, label_value, *option_values)

    controls = [label, *option_sliders]
    seed.change(from_seed, [seed, *controls], [point, shown, reverse, *sliders])
    shuffle.click(lambda: int(np.random.default_rng().integers(0, 2**31 - 1)), None, seed)
    # .input fires on the user's own moves only (not when a new seed sets the sliders), and
    # always_last drops the intermediate values of a drag that the server has not reached yet.
    for slider in sliders:
        slider.input(from_sliders, [point, *controls, *sliders], [point, shown, reverse], trigger_mode="always_last")
    label.change(redraw, [point, *controls], [shown, reverse])
    for option_slider in option_sliders:
        option_slider.input(redraw, [point, *controls], [shown, reverse], trigger_mode="always_last")

    with gr.Accordion("interpolation between two seeds", open=True):
        with gr.Row():
            seed_a = gr.Number(value=0, precision=0, minimum=0, label="from seed")
            seed_b = gr.Number(value=1, precision=0, minimum=0, label="to seed")
            count = gr.Slider(3, MAX_STRIP, value=10, step=1, label="images")
            go = gr.Button("interpolate", elem_classes=["interpolate"])
        line = gr.Image(label="interpolation", interactive=False, elem_classes=["line"])

    def row_of(points, label_value, *option_values):
        """The images of a path of points (an interpolation or a walk), as one strip."""
        return strip(model.images(points, label_value, **options(*option_values)), side=84)

    @_shown_in_page
    def interpolate(first, second, images, *controls_values):
        return row_of(space.between(_seed_value(first), _seed_value(second), int(images)), *controls_values)

    go.click(interpolate, [seed_a, seed_b, count, *controls], line)

    with gr.Accordion("random walk", open=False):
        with gr.Row():
            walk_steps = gr.Slider(3, MAX_STRIP, value=12, step=1, label="steps")
            walk_size = gr.Slider(0.05, 1.0, value=0.25, step=0.05, label="step size")
            walk_go = gr.Button("walk from the seed", elem_classes=["walk"])
        walked = gr.Image(label="random walk", interactive=False, elem_classes=["walked"])

    @_shown_in_page
    def walk(seed_value, steps_count, size, *controls_values):
        return row_of(space.walk(_seed_value(seed_value), int(steps_count), float(size)), *controls_values)

    walk_go.click(walk, [seed, walk_steps, walk_size, *controls], walked)

    if space.size == 2 and space.distribution == "normal(0, 1)":
        _manifold(model)   # a 2-D standard normal prior: its quantile grid shows the whole space


MANIFOLD_CELLS = 15


def manifold_points(cells: int = MANIFOLD_CELLS) -> np.ndarray:
    """The 2-D latent grid of the manifold figure: Gaussian quantiles 0.05..0.95, top row first
    (largest z[1]), x = z[0] left to right: (cells * cells, 2)."""
    from scipy.stats import norm

    quantiles = norm.ppf(np.linspace(0.05, 0.95, cells))
    return np.array([[x, y] for y in quantiles[::-1] for x in quantiles], np.float32)


def point_at(x: float, y: float, width: int, height: int, cells: int = MANIFOLD_CELLS) -> np.ndarray:
    """The latent point under pixel (x, y) of the manifold figure (width x height pixels), on the
    same quantile scale as its cells (continuous between cell centres)."""
    from scipy.stats import norm

    u = np.clip((x + 0.5) / width, 0.0, 1.0)
    v = np.clip((y + 0.5) / height, 0.0, 1.0)
    # cell centre i sits at u = (i + 0.5) / cells and holds quantile 0.05 + 0.9 * i / (cells - 1)
    to_quantile = lambda share: float(np.clip(0.05 + 0.9 * (share * cells - 0.5) / (cells - 1), 0.005, 0.995))  # noqa: E731
    return np.array([norm.ppf(to_quantile(u)), norm.ppf(to_quantile(1.0 - v))], np.float32)


def _manifold(model: Model) -> None:
    import gradio as gr

    cells = MANIFOLD_CELLS
    images = model.images(manifold_points(cells))
    side = images.shape[1]
    grid = images.reshape(cells, cells, *images.shape[1:]).transpose(0, 2, 1, 3, 4).reshape(cells * side, cells * side, -1)
    figure = enlarged(grid, side=cells * side * 2)
    with gr.Accordion("2-D latent manifold: click a point to decode it", open=True):
        with gr.Row():
            manifold = gr.Image(value=figure, label="manifold (z[0] →, z[1] ↑)", interactive=False, elem_classes=["manifold"])
            clicked = gr.Image(label="decoded point", interactive=False, elem_classes=["clicked"])
        where = gr.Markdown("")

    @_shown_in_page
    def decode_click(event: gr.SelectData):
        x, y = event.index
        point = point_at(float(x), float(y), figure.shape[1], figure.shape[0], cells)
        return enlarged(model.image(point)), f"z = ({point[0]:+.2f}, {point[1]:+.2f})"

    manifold.select(decode_click, None, [clicked, where])


def _canvas_tab(model: Model) -> None:
    import gradio as gr

    gr.Markdown(_describe(model) + "<br>Draw a digit (white on black is how the model saw them; any colour works). "
                "The noise slider adds the chapter's Gaussian noise before the model sees it.")
    with gr.Row():
        canvas = gr.Sketchpad(label="draw a digit", canvas_size=(280, 280), fixed_canvas=True, image_mode="RGBA", type="numpy",
                              brush=gr.Brush(colors=["#000000"], color_mode="fixed", default_size=14), layers=False,
                              elem_classes=["canvas"])
        with gr.Column():
            noise = gr.Slider(0.0, 1.0, value=0.55 if model.denoises else 0.0, step=0.05,
                              label="noise factor (input + factor · N(0, 1))", elem_classes=["noise"])
            with gr.Row():
                noisy = gr.Image(label="model input", interactive=False, elem_classes=["noisy"])
                output = gr.Image(label="denoised" if model.denoises else "reconstruction", interactive=False,
                                  elem_classes=["output"])
            code = gr.Image(label=f"code ({model.space.size} numbers)", interactive=False, elem_classes=["code"])

    @_shown_in_page
    def run_model(drawing, factor):
        image = drawing_to_image(drawing, model.image_shape)
        if not image.any():
            return None, None, None
        given, result, values = model.autoencode(image, float(factor))
        return enlarged(given, 168), enlarged(result, 168), code_figure(values)

    canvas.change(run_model, [canvas, noise], [noisy, output, code])
    noise.input(run_model, [canvas, noise], [noisy, output, code], trigger_mode="always_last")


def _side_by_side_tab(models: Sequence[Model]) -> None:
    import gradio as gr

    classes = max(model.space.num_classes for model in models)
    gr.Markdown("The same seed through every model (each draws the seed's point from its own prior).")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, label="seed", elem_classes=["side-seed"])
        label = gr.Dropdown(choices=list(range(classes)), value=0 if classes else None, label="class (conditional models)",
                            visible=classes > 0)
        go = gr.Button("draw", elem_classes=["side-draw"])
    gallery = gr.Gallery(label="models", columns=min(len(models), 4), height="auto", elem_classes=["side-gallery"])

    @_shown_in_page
    def draw(seed_value, label_value):
        chosen = _seed_value(seed_value)
        return [(enlarged(model.image(model.space.draw(chosen, 1)[0], label_value), 168), model.label) for model in models]

    go.click(draw, [seed, label], gallery)
    seed.change(draw, [seed, label], gallery)


# ---------------------------------------------------------------------------- launching
def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def launch(models: Sequence[Model], *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = False,
           block: bool = True, quiet: bool = False):
    """Serve the explorer; returns (app, url). block=False returns at once (tests, notebooks)."""
    # No analytics, no version check, no telemetry: set before gradio is imported.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio as gr  # noqa: F401
    except ImportError:
        raise GenlabError('genlab explore needs Gradio: pip install "genlab[app]"') from None
    app = build_app(models)
    port = port if port is not None else free_port(host)
    try:
        app.queue(default_concurrency_limit=2)
        app.launch(server_name=host, server_port=port, inbrowser=open_browser, prevent_thread_lock=not block, share=False,
                   show_error=True, quiet=quiet, ssr_mode=False, max_file_size="5mb", footer_links=["settings"],
                   css=_CSS, mcp_server=False)
    except OSError as error:
        raise GenlabError(f"the explorer cannot listen on {host}:{port} ({error}); pick another port with --port") from None
    return app, f"http://{host}:{port}/"


_CSS = """
.sample img, .reverse img, .line img, .walked img, .manifold img, .clicked img, .noisy img, .output img {
  image-rendering: pixelated;
}
"""


# ---------------------------------------------------------------------------- the API's entry
def explore(runs: Sequence[str | Path] = (), *, host: str = "127.0.0.1", port: int | None = None,
            open_browser: bool = True, block: bool = True):
    """Open the latent-space explorer, a local web app (needs `pip install "genlab[app]"`).

    Parameters:
        runs: run folders or "pretrained:NAME" models to explore side by side (tabs by family:
            latent sliders, seeds, interpolation and random walks for generators; a drawing
            canvas for ae/dae). Empty: every pretrained model shipped with genlab.
        host: the address to listen on; 127.0.0.1 (this machine only) unless you mean to share it.
        port: the port (None: a free one).
        open_browser: open the page in the default browser.
        block: serve until interrupted (False: return at once, the server running in a thread).

    Returns:
        The page's address, e.g. "http://127.0.0.1:7860/".

    Example:
        >>> genlab.explore(["runs/gan-20261122-101500", "runs/vae-20261122-103000"], port=7860)
    """
    import importlib.util

    from genlab import api
    from genlab.checks import count

    if importlib.util.find_spec("gradio") is None:      # said before any model is loaded
        raise GenlabError('genlab explore needs Gradio: pip install "genlab[app]"')
    if not runs:
        # No run given: the pretrained models shipped inside genlab (no data, no network needed).
        runs = [model.name for model in api.pretrained_models()]
        if not runs:
            raise GenlabError("no run given and no pretrained model is installed; genlab explore RUN [RUN ...]")
    if port is not None:
        port = count(port, "the port", minimum=1, maximum=65535)
    models = open_models(list(runs))
    _, url = launch(models, host=host, port=port, open_browser=open_browser, block=block)
    return url
