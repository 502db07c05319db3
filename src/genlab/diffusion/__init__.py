"""The diffusion family's parts, kept apart the way the diffusers library keeps schedulers, models
and pipelines apart: `schedule` (the noise schedules, alpha-bar arithmetic and the DDPM/DDIM update
rules, pure numpy/keras.ops functions), `unet` (the noise-predicting U-Net, functional API), `trainer`
(the `keras.Model` that `fit` trains and its callback), `sampling` (the reverse process over a trained
network, classifier-free guidance included) and `figures` (progress grids, the reverse-process figure,
FID against sampling steps). `genlab.families.diffusion` assembles them into the family (its config,
presets, train, generate, latent space and `FAMILY` declaration) and re-exports the names its users
import from there; nothing here imports that module, so the dependency runs one way only.
"""
