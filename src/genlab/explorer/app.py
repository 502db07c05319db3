"""The explorer's page: Gradio Blocks with one tab per model (by the family's purpose), the
side-by-side tab, and the handlers, which turn genlab's one-line errors into a message in the page."""
# No `from __future__ import annotations` here: Gradio reads the handlers' annotations (gr.SelectData).
import asyncio
from typing import Callable, Sequence

import numpy as np

from genlab.errors import GenlabError
from genlab.explorer.images import (DISPLAY_SIDE, MANIFOLD_CELLS, PAINTS, code_figure, drawing_as_placed, drawing_to_image, enlarged,
                                    image_html, manifold_points, painting_to_image, point_at, strip)
from genlab.explorer.models import Model

MAX_STRIP = 32              # images in an interpolation or a walk
# Images go to the page as PNG: lossless (sharp pixels) and about 1.5 ms to encode a 224 x 224
# image, where Gradio's default, lossy WebP, took 10 ms of the server's time per image.
IMAGE_FORMAT = "png"


def _shown_in_page(function: Callable) -> Callable:
    """Event handlers (plain or async): genlab's one-line errors (and anything unexpected) become a
    message in the page, never a traceback."""
    import functools
    import inspect

    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def waiting_handler(*args, **kwargs):
            try:
                return await function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - shown to the user in one line
                raise _page_error(error) from None
        return waiting_handler

    @functools.wraps(function)
    def handler(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - shown to the user in one line
            raise _page_error(error) from None
    return handler


def _page_error(error: Exception) -> Exception:
    """The error a handler raised as the one line the page shows (gr.Error)."""
    import gradio as gr

    if isinstance(error, gr.Error):
        return error
    if isinstance(error, GenlabError):
        return gr.Error(str(error))
    return gr.Error(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": "))


def _seed_value(value, what: str = "the seed") -> int:
    if value is None or not np.isfinite(float(value)) or float(value) < 0 or float(value) != int(float(value)):
        raise GenlabError(f"{what} must be a whole number >= 0, got {value!r}")
    return int(value)


def _index_value(value) -> int:
    return _seed_value(value, "a test image's number")


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
                        _generator_tab(model, models.index(model))
                    elif model.complete is not None:
                        _completion_tab(model)
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


def _generator_tab(model: Model, tab: int = 0) -> None:
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
            # The image inline in the answer (an <img> with its PNG as a data URL), not a file
            # the browser fetches in a second request: see images.image_html.
            shown = gr.HTML(value=image_html(model.image(start, 0)), label="image", show_label=True, container=True,
                            min_height=DISPLAY_SIDE + 40, elem_classes=["sample"])
            first_reverse = strip(space.trajectory(start, 0 if space.num_classes else None), side=64) if stepwise else None
            reverse = gr.Image(format=IMAGE_FORMAT, value=first_reverse, label="reverse process: noise → image", interactive=False,
                               visible=stepwise, elem_classes=["reverse"])

    def options(*option_values) -> dict:
        return {option.name: option.kind(value) for option, value in zip(model.options, option_values)}

    # The images a handler sends: the image, and the reverse process where the family has one. (A
    # tab without it leaves `reverse` out of its events' outputs: answering it with gr.update()
    # made Gradio rebuild the component and its API schema on every request.)
    shown_images = [shown, reverse] if stepwise else [shown]

    def render_steps(current, label_value, *option_values):
        chosen = options(*option_values)
        image = image_html(model.image(current, label_value, **chosen))
        trajectory = space.trajectory(current, label_value if space.num_classes else None, **model._options(chosen))
        return image, strip(trajectory, side=64)

    async def render(current, label_value, *option_values):
        """The handlers are async: a request waits for its model's Batcher on the server's event
        loop, not in a worker thread of its own (thirty students: thirty threads contending for
        Python's lock, which slowed the answers going out). A reverse process (seconds of work)
        runs in a worker thread."""
        if stepwise:
            return await asyncio.to_thread(render_steps, current, label_value, *option_values)
        return (image_html(await model.image_async(current, label_value, **options(*option_values))),)

    count_options = len(option_sliders)

    @_shown_in_page
    async def from_seed(seed_value, label_value, *option_values):
        current = space.draw(_seed_value(seed_value), 1)[0]
        return (current, *await render(current, label_value, *option_values), *_slider_values(model, current))

    @_shown_in_page
    async def from_sliders(current, label_value, *values):
        option_values, values = values[:count_options], values[count_options:]
        current = space.moved(current, model.axes, values)
        return (current, *await render(current, label_value, *option_values))

    @_shown_in_page
    async def redraw(current, label_value, *option_values):
        images = await render(current, label_value, *option_values)
        return images if stepwise else images[0]      # one output: Gradio takes the value itself

    controls = [label, *option_sliders]
    # The events that draw one image answer at once, outside Gradio's queue (queue=False: the page
    # posts the event and the answer comes back in that one response, where the queue takes a join,
    # an event stream and its status messages: about half the server's time per image), and skip
    # Gradio's pre- and postprocessing, which runs each input and output in a worker thread of its
    # own (ten hand-offs a request) to leave these plain numbers and HTML as they are. The model's
    # Batcher still gathers a class's concurrent requests into one network call. A tab that shows
    # a reverse process (seconds an image, and a picture file) keeps all three, with its progress.
    fast = {"queue": stepwise, "preprocess": stepwise, "postprocess": stepwise}
    # A named event (image_from_seed_<tab>): genlab bench explore asks it as the page does.
    seed.change(from_seed, [seed, *controls], [point, *shown_images, *sliders], api_name=f"image_from_seed_{tab}", **fast)
    shuffle.click(lambda: int(np.random.default_rng().integers(0, 2**31 - 1)), None, seed, queue=False)
    # .input fires on the user's own moves only (not when a new seed sets the sliders), and
    # always_last drops the intermediate values of a drag that the server has not reached yet.
    for slider in sliders:
        slider.input(from_sliders, [point, *controls, *sliders], [point, *shown_images], trigger_mode="always_last", **fast)
    label.change(redraw, [point, *controls], shown_images, **fast)
    for option_slider in option_sliders:
        option_slider.input(redraw, [point, *controls], shown_images, trigger_mode="always_last", **fast)

    with gr.Accordion("interpolation between two seeds", open=True):
        with gr.Row():
            seed_a = gr.Number(value=0, precision=0, minimum=0, label="from seed")
            seed_b = gr.Number(value=1, precision=0, minimum=0, label="to seed")
            count = gr.Slider(3, MAX_STRIP, value=10, step=1, label="images")
            go = gr.Button("interpolate", elem_classes=["interpolate"])
        line = gr.Image(format=IMAGE_FORMAT, label="interpolation", interactive=False, elem_classes=["line"])

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
        walked = gr.Image(format=IMAGE_FORMAT, label="random walk", interactive=False, elem_classes=["walked"])

    @_shown_in_page
    def walk(seed_value, steps_count, size, *controls_values):
        return row_of(space.walk(_seed_value(seed_value), int(steps_count), float(size)), *controls_values)

    walk_go.click(walk, [seed, walk_steps, walk_size, *controls], walked)

    if model.codec is not None and model.examples is not None:
        _test_images(model, point, controls, shown_images, sliders, render, row_of)

    if space.size == 2 and space.distribution == "normal(0, 1)":
        _manifold(model)   # a 2-D standard normal prior: its quantile grid shows the whole space


def _slider_values(model: Model, point) -> list[float]:
    """The sliders' values at `point`: its coordinates along the model's axes, clipped to their
    ranges and rounded for the number boxes (moving one slider then moves the others by < 0.0005)."""
    return [round(float(np.clip(value, axis.low, axis.high)), 3)
            for axis, value in zip(model.axes, model.space.coordinates(point, model.axes))]


def _test_images(model: Model, point, controls, shown_images, sliders, render, row_of) -> None:
    """Real test images through the run's encoder (a flow's exact latent, a VAE's posterior mean):
    start the sliders from one, or walk the straight line between two."""
    import gradio as gr

    last = len(model.examples) - 1
    with gr.Accordion("from real test images (the encoder)", open=False):
        with gr.Row():
            first = gr.Number(value=0, precision=0, minimum=0, maximum=last, label=f"test image (0-{last})",
                              elem_classes=["test-first"])
            second = gr.Number(value=1, precision=0, minimum=0, maximum=last, label="to test image", elem_classes=["test-second"])
            count = gr.Slider(3, MAX_STRIP, value=10, step=1, label="images")
        with gr.Row():
            with gr.Column(scale=1, min_width=200):
                start_go = gr.Button("start from the test image", elem_classes=["encode"])
                between_go = gr.Button("interpolate between the two", elem_classes=["between"])
            originals = gr.Image(format=IMAGE_FORMAT, label="the test images", interactive=False, height=200,
                                 elem_classes=["originals"])
        between = gr.Image(format=IMAGE_FORMAT, label="decoded along the line between their points", interactive=False,
                           elem_classes=["between-line"])

    def pair(one, other):
        return strip(np.stack([model.encoded_example(_index_value(one))[0], model.encoded_example(_index_value(other))[0]]),
                     side=84)

    @_shown_in_page
    async def from_test_image(index, other, label_value, *option_values):
        _, current = model.encoded_example(_index_value(index))
        return (current, *await render(current, label_value, *option_values), *_slider_values(model, current), pair(index, other))

    @_shown_in_page
    def between_test_images(one, other, images, *controls_values):
        points = model.path_between_examples(_index_value(one), _index_value(other), int(images))
        return row_of(points, *controls_values), pair(one, other)

    start_go.click(from_test_image, [first, second, *controls], [point, *shown_images, *sliders, originals])
    between_go.click(between_test_images, [first, second, count, *controls], [between, originals])


def _manifold(model: Model) -> None:
    import gradio as gr

    cells = MANIFOLD_CELLS
    images = model.images(manifold_points(cells))
    side = images.shape[1]
    grid = images.reshape(cells, cells, *images.shape[1:]).transpose(0, 2, 1, 3, 4).reshape(cells * side, cells * side, -1)
    figure = enlarged(grid, side=cells * side * 2)
    with gr.Accordion("2-D latent manifold: click a point to decode it", open=True):
        with gr.Row():
            manifold = gr.Image(format=IMAGE_FORMAT, value=figure, label="manifold (z[0] →, z[1] ↑)", interactive=False,
                                elem_classes=["manifold"])
            clicked = gr.Image(format=IMAGE_FORMAT, label="decoded point", interactive=False, elem_classes=["clicked"])
        where = gr.Markdown("")

    @_shown_in_page
    def decode_click(event: gr.SelectData):
        x, y = event.index
        point = point_at(float(x), float(y), figure.shape[1], figure.shape[0], cells)
        return enlarged(model.image(point)), f"z = ({point[0]:+.2f}, {point[1]:+.2f})"

    manifold.select(decode_click, None, [clicked, where])


def _canvas_tab(model: Model) -> None:
    import gradio as gr

    colour = _in_colour(model)
    gr.Markdown(_describe(model) + ("<br>Paint in the model's colours; the whole canvas is what it sees. " if colour else
                                    "<br>Draw a digit (white on black is how the model saw them; any colour works). ")
                + "The noise slider adds the chapter's Gaussian noise before the model sees it.")
    with gr.Row():
        canvas = _sketchpad(colour, "paint" if colour else "draw a digit", ["canvas"])
        with gr.Column():
            noise = gr.Slider(0.0, 1.0, value=0.55 if model.denoises else 0.0, step=0.05,
                              label="noise factor (input + factor · N(0, 1))", elem_classes=["noise"])
            with gr.Row():
                noisy = gr.Image(format=IMAGE_FORMAT, label="model input", interactive=False, elem_classes=["noisy"])
                output = gr.Image(format=IMAGE_FORMAT, label="denoised" if model.denoises else "reconstruction",
                                  interactive=False, elem_classes=["output"])
            code = gr.Image(format=IMAGE_FORMAT, label=f"code ({model.space.size} numbers)", interactive=False,
                            elem_classes=["code"])

    @_shown_in_page
    def run_model(drawing, factor):
        image = painting_to_image(drawing, model.image_shape) if colour else drawing_to_image(drawing, model.image_shape)
        if not image.any():
            return None, None, None
        given, result, values = model.autoencode(image, float(factor))
        return enlarged(given, 168), enlarged(result, 168), code_figure(values)

    canvas.change(run_model, [canvas, noise], [noisy, output, code])
    noise.input(run_model, [canvas, noise], [noisy, output, code], trigger_mode="always_last")


def _in_colour(model: Model) -> bool:
    """An RGB model gets a colour canvas (its paints, the canvas kept as painted), a grey one a digit pad."""
    return int(model.image_shape[-1]) == 3


def _sketchpad(colour: bool, label: str, classes: list[str], side: int = 280, brush: int = 14):
    """A square canvas: a colour model's paints (broader strokes: areas, not lines), or black ink."""
    import gradio as gr

    paints = gr.Brush(colors=list(PAINTS), color_mode="fixed", default_size=round(brush * 1.3)) if colour else \
        gr.Brush(colors=["#000000"], color_mode="fixed", default_size=brush)
    return gr.Sketchpad(label=label, canvas_size=(side, side), fixed_canvas=True, image_mode="RGBA", type="numpy",
                        brush=paints, layers=False, elem_classes=classes)


def _completion_tab(model: Model) -> None:
    """Keep the top rows of a test image (or of a drawing) and let the model draw the rest."""
    import gradio as gr

    height = model.image_shape[0]
    colour = _in_colour(model)
    gr.Markdown(_describe(model) + "<br>The top rows of a test image (or of your drawing) are kept; the model draws the "
                "rest one pixel at a time, several times. Each completion is a different guess of what the image was.")
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            index = (gr.Slider(0, len(model.examples) - 1, value=0, step=1, label="test image", elem_classes=["example"])
                     if model.examples is not None else None)
            canvas = _sketchpad(colour, "or paint (used when not empty)" if colour else "or draw (used when not empty)",
                                ["canvas"], side=196, brush=12)
            keep = gr.Slider(0, height - 1, value=height // 2, step=1, label="rows kept from the top", elem_classes=["keep"])
            option_sliders = [gr.Slider(*option.slider[:2], value=option.default(model.config), step=option.slider[2],
                                        label=option.label or option.name, elem_classes=[option.name])
                              for option in model.options]
            samples = gr.Slider(1, 8, value=4, step=1, label="completions", elem_classes=["samples"])
            label = gr.Dropdown(choices=list(range(model.num_classes)), value=0 if model.num_classes else None, label="class",
                                visible=bool(model.num_classes))
            seed = gr.Number(value=0, precision=0, minimum=0, label="seed")
            go = gr.Button("complete", elem_classes=["complete"])
        with gr.Column(scale=2, min_width=300):
            given = gr.Image(format=IMAGE_FORMAT, label="given (grey: to be drawn)", interactive=False, elem_classes=["given"])
            drawn = gr.Image(format=IMAGE_FORMAT, label="completions", interactive=False, elem_classes=["completions"])

    @_shown_in_page
    def complete(drawing, keep_rows, count, label_value, seed_value, *rest):
        option_values, chosen = rest[:len(option_sliders)], rest[len(option_sliders):]
        image = painting_to_image(drawing, model.image_shape) if colour else drawing_as_placed(drawing, model.image_shape)
        if not image.any():
            if model.examples is None:
                raise GenlabError("draw the top of an image first (no test images were found on this machine)")
            image = model.examples[int(chosen[0]) if chosen else 0].astype(np.float32) / 255.0
        levels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)[None]
        options = {option.name: option.kind(value) for option, value in zip(model.options, option_values)}
        completions = model.complete(levels, keep_rows=int(keep_rows), samples=int(count), seed=_seed_value(seed_value),
                                     label=int(label_value) if model.num_classes else None, **options)[0]
        shown = levels[0].astype(np.float32) / 255.0
        shown[int(keep_rows):] = 0.25
        return enlarged(shown, 168), strip(completions, side=112)

    inputs = [canvas, keep, samples, label, seed, *option_sliders] + ([index] if index is not None else [])
    go.click(complete, inputs, [given, drawn])


def _side_by_side_tab(models: Sequence[Model]) -> None:
    import gradio as gr

    classes = max(model.space.num_classes for model in models)
    gr.Markdown("The same seed through every model (each draws the seed's point from its own prior).")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, label="seed", elem_classes=["side-seed"])
        label = gr.Dropdown(choices=list(range(classes)), value=0 if classes else None, label="class (conditional models)",
                            visible=classes > 0)
        go = gr.Button("draw", elem_classes=["side-draw"])
    gallery = gr.Gallery(format=IMAGE_FORMAT, label="models", columns=min(len(models), 4), height="auto",
                         elem_classes=["side-gallery"])

    @_shown_in_page
    def draw(seed_value, label_value):
        chosen = _seed_value(seed_value)
        return [(enlarged(model.image(model.space.draw(chosen, 1)[0], label_value), 168), model.label) for model in models]

    go.click(draw, [seed, label], gallery)
    seed.change(draw, [seed, label], gallery)


_CSS = """
.sample img, .reverse img, .line img, .walked img, .manifold img, .clicked img, .noisy img, .output img, .given img,
.completions img {
  image-rendering: pixelated;
}
.sample img { display: block; margin: 8px auto; max-width: 100%; height: auto; }
"""

