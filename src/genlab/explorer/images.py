"""The explorer's pure image helpers: enlarging for display, strips, a canvas drawing turned into
an MNIST-style digit, the chapter's noise, an autoencoder's code as a chart, and the 2-D
manifold's grid and clicks. No Gradio and no Keras here; the tests check them directly."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from genlab.errors import GenlabError

# A drawn or uploaded image larger than this many pixels is refused before any work (the canvas
# itself is 280 x 280; this is a guard against an oversized upload through the API).
MAX_INPUT_PIXELS = 4096 * 4096
DISPLAY_SIDE = 224          # images are shown enlarged (nearest neighbour, so pixels stay sharp)
MANIFOLD_CELLS = 15


def enlarged(image: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """A float image H x W x C in [0, 1] -> uint8 (side x side·W/H) for display, nearest neighbour."""
    from PIL import Image

    pixels = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    height, width = pixels.shape[:2]
    size = (max(1, round(side * width / height)), side)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.NEAREST))


def image_html(image: np.ndarray, side: int = DISPLAY_SIDE, alt: str = "generated image") -> str:
    """A float image H x W x C in [0, 1] as an HTML <img> carrying its PNG inline (a data URL), at
    the model's own size, shown `side` pixels high with sharp pixels (the page's CSS sets
    image-rendering: pixelated): the generator tab's image travels inside the answer itself.

    (A Gradio Image output is a file: the server encodes it, writes it to its cache, names it in the
    answer, and the browser asks for it in a second request; that was half the server's time per
    new image. A 28 x 28 PNG is under 1 kB and encodes in about 0.05 ms.)"""
    import base64
    import html
    import io

    from PIL import Image

    pixels = np.clip(np.asarray(image, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    height, width = pixels.shape[:2]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" width="{max(1, round(side * width / height))}" height="{side}" '
            f'alt="{html.escape(alt)}">')


def html_image(markup: str) -> np.ndarray:
    """The uint8 pixels of an `image_html` <img> (tests, and the benchmark's check of an answer)."""
    import base64
    import io
    import re

    from PIL import Image

    found = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', markup or "")
    if found is None:
        raise GenlabError("the answer holds no inline PNG image")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(found.group(1)))))


def strip(images: np.ndarray, side: int = 112) -> np.ndarray:
    """N float images -> one uint8 row (plotting.grid_array's tiling, 1-pixel white frames),
    enlarged by a whole factor so that each image is about `side` pixels high."""
    from genlab import plotting

    row = plotting.grid_array(images, columns=len(images), pad=1)
    factor = max(1, round(side / np.asarray(images).shape[1]))
    return np.repeat(np.repeat(row, factor, axis=0), factor, axis=1)


def _canvas_array(drawing: Any, colour: bool) -> np.ndarray | None:
    """Gradio's editor value (or any image array) as floats in [0, 1], None for no drawing; a
    shape the canvas cannot have, or more pixels than the explorer takes, is one line."""
    if isinstance(drawing, dict):
        drawing = drawing.get("composite")
    if drawing is None:
        return None
    array = np.asarray(drawing)
    if colour and (array.ndim != 3 or array.shape[2] not in (3, 4) or array.size == 0):
        raise GenlabError(f"the painting must be a colour image (H x W x 3 or 4), got shape {array.shape}")
    if array.ndim not in (2, 3) or array.size == 0:
        raise GenlabError(f"the drawing must be an image (H x W or H x W x C), got shape {array.shape}")
    if array.shape[0] * array.shape[1] > MAX_INPUT_PIXELS:
        raise GenlabError(f"the image has {array.shape[0]} x {array.shape[1]} pixels, more than the explorer's limit of "
                          f"{MAX_INPUT_PIXELS:,}; {'paint' if colour else 'draw'} on the canvas or upload a smaller image")
    array = array.astype(np.float32)
    return array / 255.0 if array.max() > 1.0 else array


def _ink(drawing: Any) -> np.ndarray | None:
    """A canvas drawing (Gradio's editor value, or any H x W [x C] array) as ink in [0, 1] (H x W),
    None for no drawing. A transparent canvas (alpha varies) reads the strokes from the alpha
    channel; an opaque one from darkness (dark strokes on a light background)."""
    array = _canvas_array(drawing, colour=False)
    if array is None:
        return None
    if array.ndim == 3 and array.shape[2] == 4 and array[..., 3].min() < array[..., 3].max():
        return array[..., 3]                                                 # transparent canvas: alpha is the ink
    gray = array[..., :3].mean(axis=2) if array.ndim == 3 else array
    return 1.0 - gray if gray.mean() > 0.5 else gray                         # dark strokes on light, or light on dark


def drawing_to_image(drawing: Any, image_shape: Sequence[int]) -> np.ndarray:
    """A canvas drawing -> a float image of the model's shape, prepared the way MNIST's digits were:
    white on black, the stroke's bounding box scaled to fit 20 x 20 of 28 x 28 (the same share of
    other sides), centred by its centre of mass. Returns zeros for an empty canvas."""
    from PIL import Image
    from scipy import ndimage

    ink = _ink(drawing)
    height, width, channels = int(image_shape[0]), int(image_shape[1]), int(image_shape[2])
    if ink is None or ink.max() <= 0.05:
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


def drawing_as_placed(drawing: Any, image_shape: Sequence[int]) -> np.ndarray:
    """A canvas drawing scaled as a whole to the model's shape, strokes where they were drawn (a
    completion keeps the drawing's top rows, so it must not be moved); zeros for an empty canvas."""
    from PIL import Image

    ink = _ink(drawing)
    height, width, channels = int(image_shape[0]), int(image_shape[1]), int(image_shape[2])
    if ink is None or ink.max() <= 0.05:
        return np.zeros((height, width, channels), np.float32)
    small = np.asarray(Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8)).resize((width, height), Image.LANCZOS),
                       np.float32) / 255.0
    return np.repeat(np.clip(small, 0.0, 1.0)[..., None], channels, axis=2).astype(np.float32)


PAINTS = ("#000000", "#d52b1e", "#1c4fa0", "#f6d21d", "#f2efe6")   # black, red, blue, yellow, off-white


def painting_to_image(drawing: Any, image_shape: Sequence[int]) -> np.ndarray:
    """A colour canvas (an RGB model's: paintings, photos) -> a float RGB image of the model's shape:
    the strokes over an off-white ground, the whole canvas scaled (colours and places kept: no
    digit-style centring). Returns zeros for an empty canvas."""
    from PIL import Image

    height, width = int(image_shape[0]), int(image_shape[1])
    array = _canvas_array(drawing, colour=True)
    if array is None:
        return np.zeros((height, width, 3), np.float32)
    if array.shape[2] == 4 and array[..., 3].max() <= 0.0:
        return np.zeros((height, width, 3), np.float32)                     # nothing painted yet
    ground = np.asarray(Image.new("RGB", (1, 1), PAINTS[-1]), np.float32)[0, 0] / 255.0
    alpha = array[..., 3:] if array.shape[2] == 4 else np.ones(array.shape[:2] + (1,), np.float32)
    colour = array[..., :3] * alpha + ground * (1.0 - alpha)
    picture = Image.fromarray((np.clip(colour, 0, 1) * 255).round().astype(np.uint8)).resize((width, height), Image.LANCZOS)
    return np.asarray(picture, np.float32) / 255.0


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

