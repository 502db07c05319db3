"""The gated PixelCNN's network, written once for two uses: the whole image (training, the exact
likelihood: one pass gives every pixel's distribution) and one row at a time (sampling, where
each step computes only what the next pixel needs).

Two stacks, as in the gated PixelCNN (van den Oord et al., 2016) in the shifted-convolution form
of PixelCNN++ (Salimans et al., 2017), so there is no blind spot and no mask variable:
- the vertical stack `u` at row i sees only rows above i (every column): 2 x 3 convolutions over
  rows (i-1, i), started from the image shifted down one row;
- the horizontal stack `ul` at (i, j) sees rows above i and the pixels left of j in row i: 2 x 2
  convolutions over rows (i-1, i) and columns (j-1, j), started from the image shifted right,
  and fed the vertical stack at each block.
Each block is a gated residual unit: x + a * sigmoid(g), a and g two convolutions of
elu(conv(elu(x)) [+ 1x1(elu(aux))]), each with a class bias when conditional. The output is a
256-way softmax per pixel and channel (channels of a pixel are independent given the pixels
before it: still an exact, normalized density).

Every layer is a plain Keras layer (ZeroPadding2D, Conv2D, Cropping2D, Add, Multiply, Dense,
Embedding...), so model.keras loads with keras.saving.load_model in safe mode. The row-wise
form (genlab.autoregressive.sampling) calls the same named layers on one row and a cache of the
row above.
"""
from __future__ import annotations

from dataclasses import dataclass

LEVELS = 256


@dataclass(frozen=True)
class Shape:
    """What the network is built for: image H x W x C, channels per stack, blocks, classes (0: unconditional)."""
    height: int
    width: int
    channels: int
    filters: int
    blocks: int
    classes: int = 0
    levels: int = LEVELS


# ---------------------------------------------------------------------------- the architecture, once
def vertical_stack(context, shape: Shape, u, condition) -> list:
    """The vertical stack's gated blocks; `context` says how a named convolution is applied (whole
    images or one row). Returns each block's output (the horizontal stack's auxiliary inputs)."""
    outputs = []
    for index in range(shape.blocks):
        u = gated_unit(context, context.down, f"block{index}_vertical", u, None, condition, shape.filters)
        outputs.append(u)
    return outputs


def horizontal_stack(context, shape: Shape, ul, vertical: list, condition):
    """The horizontal stack's gated blocks, block k fed the vertical stack's block k. Returns its
    last features. (The vertical stack apart: a sampler computes it once per row, this per pixel.)"""
    for index in range(shape.blocks):
        ul = gated_unit(context, context.down_right, f"block{index}_horizontal", ul, vertical[index], condition, shape.filters)
    return ul


def gated_unit(context, convolution, name: str, x, aux, condition, filters: int):
    """x + a * sigmoid(g) (the gated activation of the gated PixelCNN, as a residual unit)."""
    hidden = convolution(f"{name}_in", context.elu(x), filters)
    if aux is not None:
        hidden = context.add(hidden, context.pointwise(f"{name}_aux", context.elu(aux), filters))
    hidden = context.elu(hidden)
    value = convolution(f"{name}_value", hidden, filters)
    gate = convolution(f"{name}_gate", hidden, filters)
    if condition is not None:
        value = context.add(value, context.class_bias(f"{name}_value_class", condition, filters))
        gate = context.add(gate, context.class_bias(f"{name}_gate_class", condition, filters))
    return context.add(x, context.gated(value, gate))


# ---------------------------------------------------------------------------- whole images (Keras functional)
class WholeImage:
    """Creates the named layers and applies them to whole feature maps (batch, H, W, filters)."""

    def __init__(self):
        from keras import layers

        self.layers = layers

    def down(self, name, x, filters):
        # output row i reads rows (i-1, i) and columns (j-1, j, j+1): pad one row on top, a column each side
        x = self.layers.ZeroPadding2D(((1, 0), (1, 1)), name=f"{name}_pad")(x)
        return self.layers.Conv2D(filters, (2, 3), name=name)(x)

    def down_right(self, name, x, filters):
        # output (i, j) reads rows (i-1, i) and columns (j-1, j): pad one row on top, one column left
        x = self.layers.ZeroPadding2D(((1, 0), (1, 0)), name=f"{name}_pad")(x)
        return self.layers.Conv2D(filters, (2, 2), name=name)(x)

    def pointwise(self, name, x, filters):
        return self.layers.Conv2D(filters, 1, name=name)(x)

    def elu(self, x):
        return self.layers.Activation("elu")(x)

    def add(self, a, b):
        return self.layers.Add()([a, b])

    def gated(self, value, gate):
        return self.layers.Multiply()([value, self.layers.Activation("sigmoid")(gate)])

    def class_bias(self, name, condition, filters):
        return self.layers.Dense(filters, name=name)(condition)      # (batch, 1, 1, filters): broadcast over H x W

    def shift_down(self, x, name):
        x = self.layers.ZeroPadding2D(((1, 0), (0, 0)), name=f"{name}_pad")(x)
        return self.layers.Cropping2D(((0, 1), (0, 0)), name=f"{name}_crop")(x)

    def shift_right(self, x, name):
        x = self.layers.ZeroPadding2D(((0, 0), (1, 0)), name=f"{name}_pad")(x)
        return self.layers.Cropping2D(((0, 0), (0, 1)), name=f"{name}_crop")(x)


def build(shape: Shape):
    """The gated PixelCNN as a functional model: images (batch, H, W, C) in [0, 1] [, labels (batch,)]
    -> logits (batch, H, W, C, levels) of each pixel's level given the pixels before it (raster order)."""
    import keras
    from keras import layers

    context = WholeImage()
    images = keras.Input((shape.height, shape.width, shape.channels), name="images")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)                     # [-1, 1]
    # Stems. u at row i: a 2 x 3 convolution of rows (i-2, i-1); ul at (i, j): a 1 x 3 convolution of
    # row i-1 plus a 2 x 1 convolution of rows (i-1, i) at column j-1.
    u = context.shift_down(layers.Conv2D(shape.filters, (2, 3), name="stem_vertical")(
        layers.ZeroPadding2D(((1, 0), (1, 1)), name="stem_vertical_pad")(x)), "stem_vertical_shift")
    above = context.shift_down(layers.Conv2D(shape.filters, (1, 3), name="stem_above")(
        layers.ZeroPadding2D(((0, 0), (1, 1)), name="stem_above_pad")(x)), "stem_above_shift")
    left = context.shift_right(layers.Conv2D(shape.filters, (2, 1), name="stem_left")(
        layers.ZeroPadding2D(((1, 0), (0, 0)), name="stem_left_pad")(x)), "stem_left_shift")
    ul = layers.Add(name="stem_horizontal")([above, left])
    inputs, condition = [images], None
    if shape.classes:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs.append(labels)
        condition = layers.Reshape((1, 1, shape.filters), name="class_code")(
            layers.Embedding(shape.classes, shape.filters, name="class_embedding")(labels))
    ul = horizontal_stack(context, shape, ul, vertical_stack(context, shape, u, condition), condition)
    logits = layers.Conv2D(shape.channels * shape.levels, 1, name="output")(layers.Activation("elu")(ul))
    logits = layers.Reshape((shape.height, shape.width, shape.channels, shape.levels), name="logits")(logits)
    return keras.Model(inputs if len(inputs) > 1 else images, logits, name="pixelcnn")


def shape_of(model) -> Shape:
    """The Shape a built (or loaded) network was made with, read from its layers."""
    height, width, channels = (int(side) for side in model.inputs[0].shape[1:])
    filters = int(model.get_layer("stem_vertical").filters)
    count = sum(1 for layer in model.layers if layer.name.endswith("_vertical_in"))
    classes = int(model.get_layer("class_embedding").input_dim) if len(model.inputs) > 1 else 0
    levels = int(model.get_layer("output").filters) // channels
    return Shape(height, width, channels, filters, count, classes, levels)
