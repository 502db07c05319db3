"""The normalizing flow's pieces (the `flow` family, genlab.families.flow).

- `layers`: the invertible layers, each a Keras layer that runs forwards (x -> y and the log-
  determinant of its Jacobian, per image) or backwards (`inverse=True`: y -> x), registered with
  Keras as genlab>NAME so the saved models load in safe mode;
- `network`: the multi-scale (RealNVP / Glow) architecture built from them: the encoder
  (dequantized pixels -> z, log-determinant), the decoder (z -> image) and the trainer, and
  activation normalization's data-dependent start;
- `dequantization`: uniform dequantization of 8-bit pixels and the negative log-likelihood in
  bits/dim (genlab.metrics.likelihood's convention).

Importing this package imports no Keras: `layers` does, and genlab imports it only once the
backend is chosen.
"""
