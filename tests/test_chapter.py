"""`genlab run chapter --quick`: the chapter, visibly working, as a new user first runs it.

The end-to-end test runs the real command in a fresh process, as a new user would: an empty home
folder, no GENLAB_DATA_DIR and no network (refused inside the process, so nothing is ever
downloaded even where a network exists), so mnist falls back to the embedded mnist-5k.
"""
import json
import os
import subprocess
import sys

import pytest

from genlab import chapter

# Runs genlab's CLI with every connection refused before anything can be fetched.
OFFLINE_CLI = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.getaddrinfo = refuse
socket.socket.connect = refuse
from genlab import cli
sys.exit(cli.main(sys.argv[1:]))
"""

# What "visibly working" means on the embedded data (4000 training / 1000 test digits), with the
# margins measured in docs/chapter.md, "The chapter in three minutes" (a quick run measured 0.92 /
# 0.024 / 0.031 / FID 23 there):
CLASSIFIER_ACCURACY = 0.9          # chance is 0.1; the chapter's 2 epochs on mnist-5k reach ~0.85
RECONSTRUCTION_SHARE = 0.6         # AE/DAE test MSE below 60% of the per-pixel mean image's
GAN_FID = 30.0                     # blobs and strokes (the chapter GAN's first 400 steps) score 36-54
GAN_CLASS_COVERAGE = 0.8           # at least 8 of the 10 classes hold 1% of the samples or more


def test_quick_budgets_follow_the_data_present():
    embedded = chapter.quick_budgets(4000, bf16=True)
    full = chapter.quick_budgets(60000, bf16=False)
    # The same images seen, so far more epochs on the small set...
    assert embedded["classifier"]["epochs"] == 20 and full["classifier"]["epochs"] == 2
    assert embedded["ae"]["epochs"] == embedded["dae"]["epochs"] == 50   # the chapter's 50, no more
    assert full["ae"]["epochs"] == full["dae"]["epochs"] == 10
    # ...and the GAN's budget is updates, whatever the data; bf16 only where it is fast.
    assert embedded["gan"]["steps"] == full["gan"]["steps"] == chapter.GAN_QUICK["steps"]
    assert embedded["gan"]["dtype_policy"] == "mixed_bfloat16" and full["gan"]["dtype_policy"] == "float32"


@pytest.mark.slow
def test_quick_chapter_on_the_embedded_data_visibly_works(tmp_path):
    out = tmp_path / "chapter"
    home = tmp_path / "home"
    home.mkdir()
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("GENLAB_DATA_DIR", "GENLAB_CACHE_DIR", "XDG_CACHE_HOME", "KERAS_HOME")}
    environment["HOME"] = str(home)
    completed = subprocess.run([sys.executable, "-c", OFFLINE_CLI, "run", "chapter", "--quick", "--out", str(out)],
                               env=environment, capture_output=True, text=True, timeout=900)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]

    # Quiet, useful console: the fallback said once, no Python warning with its source line, no
    # TensorFlow retracing notice, and the closing table.
    notices = [line for line in output.splitlines() if "mnist-5k" in line and "fall" in line.lower()]
    assert len(notices) == 1, notices
    assert "Warning:" not in output and "warnings.warn" not in output, output[-3000:]
    assert "retracing" not in output
    assert "the chapter on mnist-5k" in completed.stdout and "report:" in completed.stdout

    metrics = {family: json.loads((out / family / "metrics.json").read_text()) for family in chapter.PROGRAMS}
    assert all(entry["status"] == "complete" and entry["dataset"] == "mnist-5k" for entry in metrics.values())
    assert metrics["classifier"]["test_accuracy"] > CLASSIFIER_ACCURACY
    for family in ("ae", "dae"):
        assert metrics[family]["test_mse"] < RECONSTRUCTION_SHARE * metrics[family]["baseline_mean_mse"], family
    assert metrics["dae"]["test_mse"] < metrics["dae"]["noisy_mse"] / 5   # the noise visibly removed
    gan = metrics["gan"]
    assert gan["sample_fid"] < GAN_FID and gan["sample_class_coverage"] >= GAN_CLASS_COVERAGE

    # The report: headline numbers with their baselines, the chapter figures first, metrics folded.
    evaluation = json.loads((out / "gan" / "evaluation.json").read_text())
    assert set(evaluation["rows"]) == {"gan samples", "real training images", "per-pixel mean image"}
    page = (out / "report.html").read_text()
    assert page.count('<section id="run') == 4 and "at a glance" in page
    assert page.count('<figure class="chapter">') == 4
    assert page.count("<summary>all metrics") == 4
    assert "per-pixel mean image" in page and "chance 0.10" in page
