"""`genlab bench pixelcnn`: seconds per image of the row sampler against the plain full-pass
sampler, on the default network, measured in the same process (medians over repeats)."""
from __future__ import annotations

import time

import numpy as np


def run(config, *, image_shape=(28, 28, 1), images: int = 8, batch: int = 64, repeats: int = 3) -> dict:
    """Times both samplers drawing `images` images together (the same seeds, so the same images:
    checked), and the row sampler on a batch of `batch`. Weights are the untrained ones: the
    arithmetic per pixel does not depend on them."""
    from genlab import backend
    from genlab.autoregressive.network import Shape, build
    from genlab.autoregressive.sampling import RowSampler, naive_sample

    backend.seed_everything(config.seed)
    height, width, channels = image_shape
    network = build(Shape(height, width, channels, config.filters, config.blocks))
    sampler = RowSampler(network)
    sampler.sample(2, seed=0)                  # tracing and compiling, not sampling
    naive_sample(network, 1, seed=0)

    def timed(function) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        result = function()
        return time.perf_counter() - started, result

    row_times, naive_times, same = [], [], True
    for repeat in range(repeats):
        seconds, drawn = timed(lambda: sampler.sample(images, seed=repeat))
        row_times.append(seconds)
        seconds, plain = timed(lambda: naive_sample(network, images, seed=repeat))
        naive_times.append(seconds)
        same = same and bool(np.array_equal(drawn, plain))
    batch_times = [timed(lambda: sampler.sample(batch, seed=repeat))[0] for repeat in range(repeats)]
    row, naive, batched = (float(np.median(values)) for values in (row_times, naive_times, batch_times))
    return {"filters": config.filters, "blocks": config.blocks, "image_shape": list(image_shape), "repeats": repeats,
            "images": images, "row_sampler_s_per_image": row / images, "full_pass_sampler_s_per_image": naive / images,
            "speedup": naive / row, "same_images": same, "batch": batch, "row_sampler_batched_s_per_image": batched / batch}
