"""genlab explore: a local web app to move through trained models' latent spaces.

The app is built with Gradio (`pip install "genlab[app]"`), which serves all its own assets:
the page loads nothing from outside the machine, listens on 127.0.0.1 unless told otherwise,
and sends no analytics. What the app shows is computed by the pure functions here and by each
family's `LatentSpace` (genlab.latent), which the tests check without a browser.

Tabs, by family:
- gan / wgan-gp / vae / diffusion: a seed, "random", sliders over latent directions (VAE: its
  most used dimensions; diffusion: fixed random directions of its noise image), an
  interpolation between two seeds, a random walk; cgan / conditional diffusion add a class
  picker, diffusion a guidance and a sampling-steps slider and the reverse process;
- a VAE with a 2-D latent: its manifold, where a click decodes that point;
- ae / dae: a canvas to draw a digit, a noise slider, the noisy input, the output and the code;
- with two or more generative runs, "side by side": the same seed through every model.

Modules: images (the pure image helpers), models (the opened runs, `Model`), batching (a
`Batcher` gathers concurrent requests to one model into one network call), app (the page and
its handlers); launching and `explore` (the API's entry) are here.
"""
# No `from __future__ import annotations` here: the names below are re-exported as they are.
import os
from pathlib import Path
from typing import Sequence

from genlab.errors import GenlabError
from genlab.explorer.app import _CSS, MAX_STRIP, _seed_value, _shown_in_page, build_app  # noqa: F401
from genlab.explorer.batching import Batcher  # noqa: F401
from genlab.explorer.images import (DISPLAY_SIDE, MANIFOLD_CELLS, MAX_INPUT_PIXELS, code_figure,  # noqa: F401
                                    drawing_to_image, enlarged, manifold_points, point_at, strip, with_noise)
from genlab.explorer.models import SLIDERS, Model, open_models  # noqa: F401

CONCURRENT_REQUESTS = 64    # requests of one event handled at once (the rest wait in Gradio's queue)

# ---------------------------------------------------------------------------- launching
def free_port(host: str = "127.0.0.1") -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def launch(models: Sequence[Model], *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = False,
           block: bool = True, quiet: bool = False):
    """Serve the explorer; returns (app, url). block=False returns at once (tests, notebooks)."""
    # No analytics, no version check, no telemetry: set before gradio is imported.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio as gr  # noqa: F401
    except ImportError:
        raise GenlabError('genlab explore needs Gradio: pip install "genlab[app]"') from None
    app = build_app(models)
    port = port if port is not None else free_port(host)
    try:
        # Many requests in flight at once (each waits on its model's Batcher, which makes one network
        # call of them); a thread each, so the thread pool is sized to match.
        app.queue(default_concurrency_limit=CONCURRENT_REQUESTS)
        app.launch(server_name=host, server_port=port, inbrowser=open_browser, prevent_thread_lock=not block, share=False,
                   show_error=True, quiet=quiet, ssr_mode=False, max_file_size="5mb", footer_links=["settings"],
                   css=_CSS, mcp_server=False, max_threads=2 * CONCURRENT_REQUESTS,
                   run_history=False)   # Gradio would keep every answer in each browser, and offer an online store
    except OSError as error:
        raise GenlabError(f"the explorer cannot listen on {host}:{port} ({error}); pick another port with --port") from None
    return app, f"http://{host}:{port}/"


# ---------------------------------------------------------------------------- the API's entry
def explore(runs: Sequence[str | Path] = (), *, host: str = "127.0.0.1", port: int | None = None,
            open_browser: bool = True, block: bool = True):
    """Open the latent-space explorer, a local web app (needs `pip install "genlab[app]"`).

    Parameters:
        runs: run folders or "pretrained:NAME" models to explore side by side (tabs by family:
            latent sliders, seeds, interpolation and random walks for generators; a drawing
            canvas for ae/dae). Empty: every pretrained model shipped with genlab.
        host: the address to listen on; 127.0.0.1 (this machine only) unless you mean to share it.
        port: the port (None: a free one).
        open_browser: open the page in the default browser.
        block: serve until interrupted (False: return at once, the server running in a thread).

    Returns:
        The page's address, e.g. "http://127.0.0.1:7860/".

    Example:
        >>> genlab.explore(["runs/gan-20261122-101500", "runs/vae-20261122-103000"], port=7860)
    """
    import importlib.util

    from genlab import api
    from genlab.checks import count

    if importlib.util.find_spec("gradio") is None:      # said before any model is loaded
        raise GenlabError('genlab explore needs Gradio: pip install "genlab[app]"')
    if not runs:
        # No run given: the pretrained models shipped inside genlab (no data, no network needed).
        runs = [model.name for model in api.pretrained_models()]
        if not runs:
            raise GenlabError("no run given and no pretrained model is installed; genlab explore RUN [RUN ...]")
    if port is not None:
        port = count(port, "the port", minimum=1, maximum=65535)
    models = open_models(list(runs))
    _, url = launch(models, host=host, port=port, open_browser=open_browser, block=block)
    return url

