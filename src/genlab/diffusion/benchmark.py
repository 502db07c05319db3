"""`genlab bench diffusion`: the default diffusion recipe's training step and its samplers' speed,
with the FLOPs counted from the layer shapes (the diffusion family's Family.benchmark)."""
from __future__ import annotations

import time

import numpy as np

from genlab.console import table

# What the benchmark samples: images per timing and the sampling-step counts timed.
SAMPLE_COUNT = 64
SAMPLING_STEPS = (10, 50, 250)


def run(config, *, data_dir=None, steps: int | None = None, count: int | None = None,
        sampling_steps: tuple[int, ...] | None = None) -> dict:
    """The default diffusion recipe's training step and its samplers: seconds per training step
    (batch 128) and samples per second of `count` images at each of `sampling_steps`, each with
    its FLOPs (counted from the layer shapes, genlab.diffusion.unet.forward_flops) and
    GFLOP/s. Untrained weights: the speed does not depend on them. `genlab bench diffusion`
    (Family.benchmark) runs it with `steps` training steps timed (default 20)."""
    import keras

    from genlab import data, training
    from genlab.diffusion.sampling import sample_images
    from genlab.diffusion.schedule import alpha_bar_of
    from genlab.diffusion.trainer import DiffusionTrainer
    from genlab.diffusion.unet import build_network, forward_flops

    count = count or SAMPLE_COUNT
    sampling_steps = sampling_steps or SAMPLING_STEPS
    dataset = data.load("mnist", data_dir)
    network = build_network(config, dataset.image_shape, dataset.num_classes)
    trainer = DiffusionTrainer(network, alpha_bar_of(config), config, dataset.num_classes)
    trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate, global_clipnorm=config.clip_norm,
                                                    use_ema=True, ema_momentum=config.ema))
    training.build_optimizer(trainer)    # else the first step creates its slots and TensorFlow traces twice
    images = data.to_float(dataset.x_train)
    rng = np.random.default_rng(0)

    def one_step():
        indices = np.sort(rng.choice(len(images), config.batch_size, replace=False))
        return trainer.train_on_batch({"images": images[indices], "labels": dataset.y_train[indices].astype("int32").reshape(-1, 1)})

    for _ in range(3):
        one_step()
    steps, windows = steps or 20, 4
    timings = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(max(steps // windows, 1)):
            one_step()
        timings.append((time.perf_counter() - start) / max(steps // windows, 1))
    forward = forward_flops(network)
    step_seconds = float(np.median(timings))
    step_flops = 3 * forward * config.batch_size      # forward + a backward pass of about twice its cost
    results = {"forward_gflop_per_image": forward / 1e9, "train_seconds_per_step": step_seconds,
               "train_gflop_per_step": step_flops / 1e9, "train_gflops_per_s": step_flops / step_seconds / 1e9}
    rows = [[f"train step (batch {config.batch_size})", step_seconds, "-", step_flops / 1e9, step_flops / step_seconds / 1e9]]
    sample_images(network, config, count, seed=0, steps=2, progress=False)       # warm-up (tracing)
    for steps_per_sample in sampling_steps:
        start = time.perf_counter()
        sample_images(network, config, count, seed=0, steps=steps_per_sample, progress=False)
        seconds = time.perf_counter() - start
        flops = steps_per_sample * forward * count
        results[f"samples_per_s_{steps_per_sample}_steps"] = count / seconds
        results[f"sample_gflops_per_s_{steps_per_sample}_steps"] = flops / seconds / 1e9
        rows.append([f"sample {count} images, {steps_per_sample} steps", seconds / count, count / seconds,
                     steps_per_sample * forward / 1e9, flops / seconds / 1e9])
    print(table(["diffusion (default preset)", "s/step or s/image", "samples/s", "GFLOP per step or image", "GFLOP/s"], rows,
                title=f"genlab bench diffusion: {forward / 1e9:.3f} GFLOP per image per network call; "
                      f"{steps} timed training steps (median of {windows} windows)"))
    return results
