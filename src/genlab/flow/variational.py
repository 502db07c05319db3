"""Variational dequantization (Ho et al., 2019, Flow++): the noise u in y = (x + u) / 256 is drawn
from a learnt q(u | x) instead of uniformly, so the flow need not spread its density evenly over
each pixel's bin, and the bound

    -log P(x) <= E_q[-log p(y) + log q(u | x)] + D log 256

tightens (uniform q is the case log q = 0). q is itself a flow conditioned on the image: standard
normal noise, squeezed, through `depth` steps of an invertible 1x1 convolution and an affine
coupling whose network also sees features of the image, then a sigmoid into (0, 1)."""
from __future__ import annotations


def build_dequantizer(image_shape, *, depth: int, hidden: int, seed: int):
    """[levels (N x H x W x C, 0..255 as floats), noise (the same shape, standard normal)] ->
    [y = (levels + u) / 256, log q(u | x) (N,)]: a model of plain inputs, so genlab likelihood
    can feed it noise drawn in numpy."""
    import keras
    from keras import layers as keras_layers

    from genlab.flow import layers

    levels = keras.Input(shape=image_shape, name="levels")
    noise = keras.Input(shape=image_shape, name="noise")
    grey = keras_layers.Rescaling(2.0 / 255.0, offset=-1.0, name="dequantizer_grey")(levels)
    squeeze = layers.Squeeze(name="dequantizer_squeeze")
    condition, _ = layers.Squeeze(name="dequantizer_condition_squeeze")(grey)             # (N, H/2, W/2, 4C)
    for index in range(2):
        condition = keras_layers.Conv2D(hidden, 3, padding="same", activation="relu", name=f"dequantizer_features{index}")(condition)
    h, log_dets = squeeze(noise)[0], []
    for step in range(depth):
        h, log_det = layers.InvertibleConvolution(seed=seed * 1000 + 900 + step, name=f"dequantizer_step{step}_mixing")(h)
        log_dets.append(log_det)
        h, log_det = layers.ConditionalAffineCoupling(hidden, name=f"dequantizer_step{step}_coupling")([h, condition])
        log_dets.append(log_det)
    h = layers.inverse_twin(squeeze)(h, inverse=True)
    total = keras_layers.Add(name="dequantizer_log_det")(log_dets)
    y, log_q = layers.SigmoidDequantization(name="dequantizer_sigmoid")([levels, h, noise, total])
    return keras.Model([levels, noise], [y, log_q], name="flow_dequantizer")
