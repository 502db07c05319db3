"""Metrics as small pure functions on arrays (image quality here; generative metrics later)."""
from genlab.metrics.image import mse, psnr_db, ssim  # noqa: F401
