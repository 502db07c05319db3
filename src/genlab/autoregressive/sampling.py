"""Sampling a gated PixelCNN (and its exact likelihood), computing only what each step needs.

A PixelCNN draws an image one pixel at a time in raster order. The plain way (`naive_sample`)
runs the whole network on the whole image for each of the H x W pixels. Here, because every
convolution reads only the row above and the current row:
- the vertical stack at row i depends on rows above i only: it runs once per row, on one row,
  with each layer's input of the row above kept in a cache;
- the horizontal stack runs once per pixel, on one row (its cache, the row above, is fixed while
  the row is drawn);
so a pixel costs about 1/H of a full pass, and a batch of images is drawn together.
Both samplers draw a level with the Gumbel-max trick from the same noise (numpy, from the seed, one array per row):
argmax(logits / T + g) is a draw from softmax(logits / T), so they return the same images.
"""
from __future__ import annotations

import numpy as np

from genlab.autoregressive.network import Shape, horizontal_stack, shape_of, vertical_stack


class OneRow:
    """Applies a network's named layers to one row (batch, 1, W, filters). `above[name]` is the
    input that layer had at the row above; the inputs it gets now are kept in `current`."""

    def __init__(self, model, above: dict):
        from keras import ops

        self.model, self.above, self.current, self.ops = model, above, {}, ops

    def _convolve(self, name, x, columns):
        self.current[name] = x
        slab = self.ops.concatenate([self.above[name], x], axis=1)                  # (batch, 2, W, filters)
        return self.model.get_layer(name)(self.ops.pad(slab, ((0, 0), (0, 0), columns, (0, 0))))

    def down(self, name, x, filters):
        return self._convolve(name, x, (1, 1))

    def down_right(self, name, x, filters):
        return self._convolve(name, x, (1, 0))

    def pointwise(self, name, x, filters):
        return self.model.get_layer(name)(x)

    def elu(self, x):
        return self.ops.elu(x)

    def add(self, a, b):
        return a + b

    def gated(self, value, gate):
        return value * self.ops.sigmoid(gate)

    def class_bias(self, name, condition, filters):
        return self.model.get_layer(name)(condition)


def cached_layers(shape: Shape) -> dict[str, str]:
    """The convolutions that read the row above, by stack: name -> 'vertical' | 'horizontal'."""
    names = {}
    for index in range(shape.blocks):
        for stack in ("vertical", "horizontal"):
            for part in ("in", "value", "gate"):
                names[f"block{index}_{stack}_{part}"] = stack
    return names


class RowSampler:
    """The two compiled row functions of one network, and the loop that draws images with them:
    per row, one call for the vertical stack and one that draws the row's W pixels in a loop
    inside the compiled graph (keras.ops.fori_loop), so a row costs two dispatches, not W + 1."""

    def __init__(self, model):
        from genlab import backend

        self.model, self.shape = model, shape_of(model)
        self.names = cached_layers(self.shape)
        self.horizontal_names = [name for name, stack in self.names.items() if stack == "horizontal"]
        self.vertical_row = backend.compile_inference(self._vertical_row)
        self.draw_row = backend.compile_inference(self._draw_row)

    def _condition(self, labels):
        if not self.shape.classes:
            return None
        from keras import ops

        code = self.model.get_layer("class_embedding")(labels)
        return ops.reshape(code, (-1, 1, 1, self.shape.filters))

    def _stem(self, name, rows, columns, has_above):
        from keras import ops

        return self.model.get_layer(name)(ops.pad(rows, ((0, 0), (0, 0), columns, (0, 0)))) * has_above

    def _vertical_row(self, two_above, one_above, has_above, above, labels):
        """Row i of every vertical block; `two_above`, `one_above`: rows i-2 and i-1 on the [-1, 1]
        scale (zeros where they do not exist); `has_above`: 0.0 for the first row, whose stem is the
        shift's zero padding, not a convolution of padding."""
        from keras import ops

        context = OneRow(self.model, above)
        u = self._stem("stem_vertical", ops.concatenate([two_above, one_above], axis=1), (1, 1), has_above)
        outputs = vertical_stack(context, self.shape, u, self._condition(labels))
        return outputs, context.current

    def _draw_row(self, one_above, known, keep, has_above, vertical, above, labels, noise, temperature):
        """Row i drawn pixel by pixel: for column j the horizontal stack on the row so far gives
        pixel j's logits (batch, C, levels); argmax(logits / T + noise[:, j]) is its level (Gumbel-
        max), or `known`'s where `keep` is 1. Returns the row ([-1, 1] scale, batch x 1 x W x C)
        and the inputs each horizontal layer had (the next row's cache: pixel W-1, the last one
        drawn, changes none of them)."""
        from keras import ops

        shape = self.shape
        condition = self._condition(labels)
        from_above = self._stem("stem_above", one_above, (1, 1), has_above)
        column_ids = ops.reshape(ops.arange(shape.width, dtype="int32"), (1, 1, shape.width, 1))

        def body(j, carry):
            row, _ = carry
            context = OneRow(self.model, above)
            left = self.model.get_layer("stem_left")(ops.concatenate([one_above, row], axis=1))   # (batch, 1, W, F)
            left = ops.pad(left, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]                  # shifted right
            ul = horizontal_stack(context, shape, from_above + left, vertical, condition)
            at_j = ops.reshape(ops.cast(j, "int32"), (1,))
            # The output layer (filters -> C x levels) only at pixel j.
            logits = self.model.get_layer("output")(ops.elu(ops.take(ul, at_j, axis=2)))
            logits = ops.cast(ops.reshape(logits, (-1, shape.channels, shape.levels)), "float32")
            gumbel = ops.reshape(ops.take(noise, at_j, axis=1), (-1, shape.channels, shape.levels))
            level = ops.argmax(logits / temperature + gumbel, axis=-1)                         # (batch, C)
            value = ops.reshape(ops.cast(level, "float32") * (2.0 / 255.0) - 1.0, (-1, 1, 1, shape.channels))
            value = ops.where(ops.reshape(keep, (-1, 1, 1, 1)) > 0.5, ops.take(known, at_j, axis=2), value)
            row = ops.where(column_ids == ops.cast(j, "int32"), value, row)
            return row, {name: context.current[name] for name in self.horizontal_names}

        start = {name: ops.zeros_like(above[name]) for name in self.horizontal_names}
        return ops.fori_loop(0, shape.width, body, (ops.zeros_like(known), start))

    def sample(self, count: int, *, seed: int, temperature: float = 1.0, labels=None, known=None, known_rows=0,
               progress=None) -> np.ndarray:
        """`count` images as levels (uint8 count x H x W x C). `known` (levels, same shape) with
        `known_rows` (one number, or one per image): its top rows are kept and the rest drawn
        (completion); images with 0 known rows are drawn whole, in the same batch."""
        from genlab.backend import to_numpy

        shape = self.shape
        rng = np.random.default_rng(seed)
        levels = np.zeros((count, shape.height, shape.width, shape.channels), np.uint8)
        kept = np.broadcast_to(np.asarray(known_rows, np.int64), (count,))
        if known is not None:
            for index in np.nonzero(kept)[0]:
                levels[index, :kept[index]] = known[index, :kept[index]]
        labels = np.zeros(count, "int32") if labels is None else np.asarray(labels, "int32").reshape(count)
        zeros = np.zeros((count, 1, shape.width, shape.filters), "float32")
        above = {name: zeros for name in self.names}
        signed = lambda row: (levels[:, row:row + 1].astype("float32") * (2.0 / 255.0) - 1.0) if row >= 0 else np.zeros(  # noqa: E731
            (count, 1, shape.width, shape.channels), "float32")
        temperature = np.asarray(temperature, "float32")
        for i in range(shape.height):
            has_above = np.asarray(float(i > 0), "float32")
            noise = row_noise(rng, count, shape)
            vertical, current = self.vertical_row(signed(i - 2), signed(i - 1), has_above, above, labels)
            row, row_current = self.draw_row(signed(i - 1), signed(i), (i < kept).astype("float32"), has_above,
                                             vertical, above, labels, noise, temperature)
            levels[:, i] = np.round((to_numpy(row)[:, 0] + 1.0) * 127.5).astype(np.uint8)
            above = {**{name: current[name] for name, stack in self.names.items() if stack == "vertical"}, **row_current}
            if progress is not None:
                progress(i + 1)
        return levels


def row_noise(rng: np.random.Generator, count: int, shape: Shape) -> np.ndarray:
    """The Gumbel noise of one row's draws, (count, W, C, levels) float32: both samplers take row i's
    from the i-th call, so the same seed gives them the same images."""
    return rng.gumbel(size=(count, shape.width, shape.channels, shape.levels)).astype("float32")


def naive_sample(model, count: int, *, seed: int, temperature: float = 1.0, labels=None) -> np.ndarray:
    """The plain sampler: the whole network on the whole image for every pixel (H x W full passes).
    Draws the same images as RowSampler.sample for the same seed; kept for the benchmark and tests."""
    from genlab import backend

    shape = shape_of(model)
    forward = backend.compile_inference(lambda *inputs: model(list(inputs) if len(inputs) > 1 else inputs[0], training=False))
    rng = np.random.default_rng(seed)
    levels = np.zeros((count, shape.height, shape.width, shape.channels), np.uint8)
    labels = np.zeros(count, "int32") if labels is None else np.asarray(labels, "int32").reshape(count)
    for i in range(shape.height):
        noise = row_noise(rng, count, shape)
        for j in range(shape.width):
            inputs = (levels.astype("float32") / 255.0,) + ((labels,) if shape.classes else ())
            logits = backend.to_numpy(forward(*inputs))[:, i, j].astype("float32")     # (count, C, levels)
            levels[:, i, j] = np.argmax(logits / np.float32(temperature) + noise[:, j], axis=-1)
    return levels


def image_nats(model, levels: np.ndarray, labels=None, batch_size: int = 256) -> np.ndarray:
    """-log p(x) of each image in nats, exactly: one full pass gives every pixel's distribution
    given the pixels before it; the image's probability is their product."""
    from keras import ops

    from genlab import backend

    shape = shape_of(model)

    def nats(images, targets, labels):
        logits = ops.cast(model([images, labels] if shape.classes else images, training=False), "float32")
        log_normalizer = ops.logsumexp(logits, axis=-1)                                    # (batch, H, W, C)
        picked = ops.take_along_axis(logits, ops.expand_dims(targets, -1), axis=-1)[..., 0]
        return ops.sum(ops.reshape(log_normalizer - picked, (ops.shape(images)[0], -1)), axis=1)

    compiled = backend.compile_inference(nats)
    labels = np.zeros(len(levels), "int32") if labels is None else np.asarray(labels, "int32").reshape(len(levels))
    out = []
    for start in range(0, len(levels), batch_size):
        chunk = levels[start:start + batch_size]
        out.append(backend.to_numpy(compiled(chunk.astype("float32") / 255.0, chunk.astype("int32"), labels[start:start + batch_size])))
    return np.concatenate(out).astype(np.float64)
