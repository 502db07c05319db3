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


def _gan_run(folder: Path) -> Path:
    """A GAN run as `run chapter` leaves it: fixed-noise grids, a samples figure, evaluation.json."""
    from genlab import io

    run = Run.create("gan", out=folder)
    config.write_toml(run.path / "config.toml", get("gan").config_class(), "gan", "chapter")
    run.update_metrics({"status": "complete", "sample_fid": 23.4, "sample_class_coverage": 0.9, "train_wall_s": 100.0})
    images = np.random.default_rng(1).random((16, 28, 28, 1)).astype("float32")
    (run.figures / "samples").mkdir()
    for step in (0, 600, 1200):
        plotting.save_png(plotting.grid_array(images, 4), run.figures / "samples" / f"step-{step:06d}.png")
    rows = {"gan samples": {"fid": 23.4, "class_coverage": 0.9},
            "real training images": {"fid": 0.15, "class_coverage": 1.0},
            "per-pixel mean image": {"fid": 108.0, "class_coverage": 0.1}}
    io.write_json(run.path / report_html.EVALUATION_FILE, {"count": 1000, "num_classes": 10, "rows": rows})
    return run.path


def test_report_reads_like_the_chapter(two_runs, tmp_path):
    root, runs = two_runs
    gan = _gan_run(tmp_path / "gan")
    page = report_html.build([*runs, gan], tmp_path / "chapter.html").read_text()
    # The overview states each program's headline number against its baseline...
    assert "at a glance" in page and "per-pixel mean image 0.0" not in page  # (no baseline in the fake ae)
    sections = page.split('<section id="run')[1:]
    assert len(sections) == 3
    # ...each section puts its headline table before any figure, its chapter figure first...
    for section in sections:
        assert section.index('<table class="headline') < section.index("<figure")
        # ...and keeps the full metric list folded away.
        assert "<details><summary>all metrics" in section
    for section in (sections[0], sections[2]):   # (the fake dae has no denoising.png, its chapter figure)
        assert section.index("<figure") == section.index('<figure class="chapter">')
    assert 'alt="reconstructions.png"' in sections[0].split("more figures")[0]
    # The GAN's chapter figure is its last fixed-noise grid; its table has the two reference rows.
    gan_section = sections[2]
    assert 'alt="step-001200.png"' in gan_section.split("more figures")[0]
    for row in ("gan samples", "real training images", "per-pixel mean image"):
        assert f"<td>{row}</td>" in gan_section
    assert "0.90 (9 of 10 classes)" in page


def test_headline_compares_with_baselines():
    lines = report_html.headline("dae", {"test_mse": 0.03, "noisy_mse": 0.30, "baseline_mean_mse": 0.068})
    assert lines == [("test MSE (denoised)", "0.0300", "noisy input 0.3000, per-pixel mean image 0.0680")]
    assert report_html.headline("classifier", {"test_accuracy": 0.93}) == [("test accuracy", "0.9300", "chance 0.10")]


def test_curves_of_one_epoch_show_its_point(tmp_path):
    from PIL import Image

    path = plotting.curves([{"epoch": 1, "loss": 0.5}], [("loss", "train loss")], tmp_path / "curves.png")
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    plot_area = pixels[: int(pixels.shape[0] * 0.7)]          # above the legend, which sits below the axes
    blue = np.abs(plot_area - np.array([31, 119, 180])).sum(axis=2) < 60   # matplotlib's first colour, C0
    # A marker of size 5 covers dozens of pixels; a one-point line without markers draws none.
    assert blue.sum() > 20
