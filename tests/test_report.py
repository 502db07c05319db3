"""The HTML report: self-contained (images embedded), and the images really display in a browser."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from genlab import config, plotting, report_html
from genlab.families import get
from genlab.runs import Run


def _fake_run(folder: Path, family: str, metrics: dict) -> Path:
    run = Run.create(family, out=folder)
    config.write_toml(run.path / "config.toml", get(family).config_class(), family, "chapter")
    run.update_metrics({"status": "complete", **metrics})
    run.log({"epoch": 1, "loss": 0.5, "val_loss": 0.6})
    run.log({"epoch": 2, "loss": 0.3, "val_loss": 0.4})
    images = np.random.default_rng(0).random((10, 28, 28, 1)).astype("float32")
    plotting.image_rows([("original", images), ("reconstructed", images[::-1])], run.figures / "reconstructions.png")
    plotting.curves(run.read_history(), [("loss", "train"), ("val_loss", "validation")], run.figures / "curves.png")
    return run.path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    return root, [_fake_run(root / "a", "ae", {"test_mse": 0.0123}), _fake_run(root / "b", "dae", {"test_mse": 0.0201})]


def test_report_is_self_contained_and_compares_runs(two_runs):
    root, runs = two_runs
    page = report_html.build(runs, root / "report.html").read_text()
    assert "side by side" in page and "0.0123" in page and "0.0201" in page
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 4 and all(source.startswith("data:image/png;base64,") for source in sources)
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside


def test_report_images_display_in_headless_chromium(two_runs):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (CI installs it: apt-get install chromium)")
    root, runs = two_runs
    page = report_html.build(runs, root / "browser.html")
    completed = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                "--disable-component-update", "--disable-sync", "--no-first-run",
                                f"--user-data-dir={root / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
                                page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    dom = completed.stdout
    total = re.search(r'data-images-total="(\d+)"', dom)
    shown = re.search(r'data-images-shown="(\d+)"', dom)
    assert total and shown, f"no image check in the DOM: {completed.stderr[-300:]}"
    assert int(total.group(1)) == 4 and int(shown.group(1)) == 4
