"""SIGTERM and Ctrl-C during training (issue 30, item 3): a line, a checkpoint at the step where
the signal landed, `status: interrupted`, and a folder that `--resume` (or a new `--out`) can use
even when no checkpoint had been written yet. Also the messages of the divergence guard and
`--resume` that must say what is true."""
from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
from conftest import raises_one_line, tiny_run
from test_gan import assert_same_weights, generator_weights, step_hook

from genlab import api, cli, interrupts
from genlab.errors import ConfigError, DivergenceError


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run: 6 steps, checkpoints at 3 and 6 (test_gan.py's settings)."""
    return tiny_run("gan", tmp_path_factory.mktemp("signals") / "full", preset="chapter", seed=5)


def signal_at(number: int, signal_number: int):
    def hook(call, real):
        if call == number:
            os.kill(os.getpid(), signal_number)   # handled by genlab.interrupts while the loop runs
        return real
    return hook


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_training_checkpoints_that_step_and_resumes_exactly(signal_number, reference, tmp_path, monkeypatch):
    with step_hook(monkeypatch, signal_at(4, signal_number)):
        with pytest.raises(interrupts.Interrupted) as caught:
            tiny_run("gan", tmp_path / "stopped", preset="chapter", seed=5)
    stopped = tmp_path / "stopped"
    name = signal.Signals(signal_number).name
    message = str(caught.value)
    assert caught.value.signal_name == name and "\n" not in message
    assert f"interrupted ({name})" in message and "checkpoint at step 4" in message and "--resume" in message
    assert json.loads((stopped / "metrics.json").read_text())["status"] == "interrupted"
    # Not the last scheduled checkpoint (3): the step the signal landed on.
    assert json.loads((stopped / "checkpoints" / "latest.json").read_text())["step"] == 4
    resumed = api.train("gan", resume=stopped, verbose=0)
    assert resumed.read_metrics()["status"] == "complete"
    assert_same_weights(generator_weights(resumed), generator_weights(reference), "resumed after a signal")


def test_the_handlers_are_restored_after_training(tmp_path):
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    tiny_run("gan", tmp_path / "run", steps=2, checkpoint_every=2, sample_every=2)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_sigterm_through_the_cli_is_one_line_and_exit_143(tmp_path, monkeypatch, capsys):
    saved = signal.getsignal(signal.SIGTERM)   # cli.main installs a process-wide SIGTERM handler
    try:
        with step_hook(monkeypatch, signal_at(2, signal.SIGTERM)):
            status = cli.main(["train", "gan", "--preset", "chapter", "--set", "dataset=mnist-5k", "--set", "steps=6",
                               "--set", "batch_size=16", "--set", "checkpoint_every=3", "--set", "sample_every=3",
                               "--out", str(tmp_path / "cli"), "--quiet"])
    finally:
        signal.signal(signal.SIGTERM, saved)
    assert status == 143
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("genlab: interrupted")]
    assert len(lines) == 1 and "checkpoint at step 2" in lines[0]


def test_an_interruption_before_the_first_checkpoint_leaves_a_usable_folder(tmp_path, monkeypatch, reference):
    from genlab import data

    # Interrupted while the training loads its data (data.load_configured: every family loads so).
    load = data.load_configured

    def interrupted_load(*args, **kwargs):
        raise interrupts.Interrupted("SIGTERM")

    monkeypatch.setattr(data, "load_configured", interrupted_load)
    with pytest.raises(interrupts.Interrupted, match="no checkpoint had been written yet"):
        tiny_run("gan", tmp_path / "early", preset="chapter", seed=5)
    monkeypatch.setattr(data, "load_configured", load)
    early = tmp_path / "early"
    assert json.loads((early / "metrics.json").read_text())["status"] == "interrupted"
    assert not (early / "checkpoints").exists()
    # --resume starts it again from the beginning, with its own config: the same weights as the reference.
    resumed = api.train("gan", resume=early, verbose=0)
    assert_same_weights(generator_weights(resumed), generator_weights(reference), "restarted by --resume")
    # ...and a new training may also take the stopped folder over.
    monkeypatch.setattr(data, "load_configured", interrupted_load)
    with pytest.raises(interrupts.Interrupted):
        tiny_run("gan", tmp_path / "again", preset="chapter", seed=5)
    monkeypatch.setattr(data, "load_configured", load)
    again = tiny_run("gan", tmp_path / "again", preset="chapter", seed=5)
    assert again.read_metrics()["status"] == "complete"


def test_a_nan_at_the_first_step_does_not_claim_a_checkpoint(tmp_path, monkeypatch):
    def nan_batch(call, real):
        return np.full_like(real, np.nan)

    with step_hook(monkeypatch, nan_batch):
        with raises_one_line(DivergenceError, "no checkpoint had been written yet") as caught:
            tiny_run("gan", tmp_path / "nan", preset="chapter", seed=5)
    assert "(step 0) is kept" not in str(caught.value)


@pytest.mark.parametrize("option", [{"out": "elsewhere"}, {"preset": "chapter"}, {"config_file": "settings.toml"}])
def test_resume_refuses_options_it_would_ignore(option, reference, tmp_path):
    def snapshot(folder):
        return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}

    before = snapshot(reference.path)
    flag = "--" + next(iter(option)).replace("config_file", "config")
    with raises_one_line(ConfigError, f"takes no {flag}"):
        api.train("gan", resume=reference.path, verbose=0, **{key: str(tmp_path / value) if key != "preset" else value
                                                              for key, value in option.items()})
    assert snapshot(reference.path) == before
    assert not (tmp_path / "elsewhere").exists()
