"""A damaged file in a run folder must not lose the run (issue 18).

Each checkpoint carries its own record (meta, size, SHA-256); `--resume` skips a damaged newest
checkpoint (flipped byte, truncated file) with one logged line and continues from the previous
one, rebuilds a damaged latest.json from the records, and only when nothing is intact stops with
one line naming the files. A damaged config.toml, metrics.json or history.csv is one line naming
the file, never a traceback. Tiny runs on the embedded mnist-5k: a GAN of 8 steps with a
checkpoint every 2, a dense autoencoder of 4 epochs.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil

import pytest
from conftest import cli_error, raises_one_line, tiny_run

from genlab import api, checkpoints, cli
from genlab.errors import RunError
from genlab.runs import Run

GAN_STEPS, GAN_EVERY, AE_EPOCHS = 8, 2, 4


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return tiny_run("gan", tmp_path_factory.mktemp("gan") / "run", steps=GAN_STEPS, checkpoint_every=GAN_EVERY, seed=3)


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    return tiny_run("ae", tmp_path_factory.mktemp("ae") / "run", epochs=AE_EPOCHS, architecture="dense")


def copy_of(run, tmp_path):
    """A private copy of a module-wide run, so each test may damage it."""
    target = tmp_path / "run"
    shutil.copytree(run.path, target)
    return target


def flip_byte(path, offset=None):
    content = bytearray(path.read_bytes())
    offset = len(content) // 2 if offset is None else offset
    content[offset] ^= 0xFF
    path.write_bytes(bytes(content))


def truncate(path):
    content = path.read_bytes()
    path.write_bytes(content[:len(content) // 2])


def warnings_from(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "genlab.checkpoints"]


def resume(family, folder, **overrides):
    return api.train(family, resume=folder, overrides=overrides, verbose=0, print_summary=False)


# ------------------------------------------------------------------------------ checkpoints kept


def test_three_checkpoints_are_kept_each_with_its_record(gan_run, ae_run):
    for run, names in ((gan_run, ["step-000004", "step-000006", "step-000008"]),
                       (ae_run, ["epoch-0002", "epoch-0003", "epoch-0004"])):
        folder = run.path / "checkpoints"
        assert sorted(path.stem for path in folder.glob("*.npz")) == names
        assert sorted(path.stem for path in folder.glob("*.json") if path.name != "latest.json") == names
        latest = json.loads((folder / "latest.json").read_text())
        assert latest == json.loads((folder / f"{names[-1]}.json").read_text())
        for name in names:
            record = json.loads((folder / f"{name}.json").read_text())
            content = (folder / f"{name}.npz").read_bytes()
            assert record["file"] == f"{name}.npz" and record["bytes"] == len(content)
            assert record["sha256"] == hashlib.sha256(content).hexdigest()
    assert checkpoints.latest(gan_run)["step"] == GAN_STEPS and checkpoints.latest(ae_run)["epoch"] == AE_EPOCHS


# ------------------------------------------------------------------------------ damaged newest checkpoint


@pytest.mark.parametrize("family", ["gan", "ae"])
def test_a_flipped_byte_in_the_newest_checkpoint_resumes_from_the_previous_one(family, gan_run, ae_run, tmp_path, caplog):
    finished, unit, length = (gan_run, "step", GAN_STEPS) if family == "gan" else (ae_run, "epoch", AE_EPOCHS)
    folder = copy_of(finished, tmp_path)
    newest, previous = (("step-000008", "step-000006") if family == "gan" else ("epoch-0004", "epoch-0003"))
    flip_byte(folder / "checkpoints" / f"{newest}.npz")
    further = length + (GAN_EVERY if family == "gan" else 1)
    with caplog.at_level(logging.WARNING, logger="genlab.checkpoints"):
        resumed = resume(family, folder, **{unit + "s": further})
    assert warnings_from(caplog) == [f"checkpoint {newest}.npz is damaged (sha256 mismatch); resuming from {previous}.npz"]
    assert resumed.read_metrics()["status"] == "complete"
    assert json.loads((folder / "checkpoints" / "latest.json").read_text())[unit] == further
    logged = [row[unit] for row in resumed.read_history()]
    assert logged == sorted(set(logged)) and logged[-1] == further   # rows after the fall-back were re-made, no duplicates
    # The damaged file was trained past and written again, intact.
    assert checkpoints.latest(resumed)[unit] == further


def test_a_truncated_newest_checkpoint_resumes_from_the_previous_one(gan_run, tmp_path, caplog):
    folder = copy_of(gan_run, tmp_path)
    truncate(folder / "checkpoints" / "step-000008.npz")
    with caplog.at_level(logging.WARNING, logger="genlab.checkpoints"):
        resumed = resume("gan", folder, steps=GAN_STEPS + GAN_EVERY)
    [message] = warnings_from(caplog)
    assert message.startswith("checkpoint step-000008.npz is damaged (truncated: ")
    assert message.endswith("; resuming from step-000006.npz")
    assert resumed.read_metrics()["status"] == "complete" and resumed.read_metrics()["steps"] == GAN_STEPS + GAN_EVERY
    assert [row["step"] for row in resumed.read_history()] == list(range(2, GAN_STEPS + GAN_EVERY + 1, 2))


def test_arrays_turns_an_unreadable_npz_into_one_line(gan_run, tmp_path):
    """The zipfile.BadZipFile case without a SHA-256 to catch it first (a checkpoint from before records)."""
    run = Run(copy_of(gan_run, tmp_path))
    truncate(run.checkpoints / "step-000008.npz")
    with raises_one_line(RunError, r"checkpoint .*step-000008\.npz is damaged \(BadZipFile"):
        with checkpoints.arrays(run, {"file": "step-000008.npz", "step": 8}):
            pass
    with raises_one_line(RunError, r"step-000008\.npz is damaged \(sha256 mismatch\)"):
        with checkpoints.arrays(run, {"file": "step-000008.npz", "sha256": "0" * 64}):
            pass


def test_a_damaged_latest_json_is_rebuilt_and_resume_works(gan_run, tmp_path, caplog):
    folder = copy_of(gan_run, tmp_path)
    index = folder / "checkpoints" / "latest.json"
    index.write_text(index.read_text()[:40])   # cut off mid-JSON
    with caplog.at_level(logging.WARNING, logger="genlab.checkpoints"):
        meta = checkpoints.latest(Run(folder))
    assert meta["step"] == GAN_STEPS and meta["file"] == "step-000008.npz"
    assert warnings_from(caplog) == ["checkpoints/latest.json is damaged (not valid JSON); "
                                     "rebuilt it from the checkpoint files present (newest intact: step-000008.npz)"]
    assert json.loads(index.read_text()) == json.loads((folder / "checkpoints" / "step-000008.json").read_text())

    index.write_bytes(b"\x00" * 10)
    resumed = resume("gan", folder, steps=GAN_STEPS + GAN_EVERY)
    assert resumed.read_metrics()["status"] == "complete"
    assert json.loads(index.read_text())["step"] == GAN_STEPS + GAN_EVERY


def test_when_every_checkpoint_is_damaged_one_line_names_them(gan_run, tmp_path, capsys):
    folder = copy_of(gan_run, tmp_path)
    flip_byte(folder / "checkpoints" / "step-000008.npz")
    truncate(folder / "checkpoints" / "step-000006.npz")
    (folder / "checkpoints" / "step-000004.npz").unlink()
    with raises_one_line(RunError, r"no intact checkpoint left \(tried step-000008\.npz: sha256 mismatch, "
                                   r"step-000006\.npz: truncated: \d+ of \d+ bytes, step-000004\.npz: missing\); "
                                   r"restore one from a copy or start a new run"):
        resume("gan", folder, steps=GAN_STEPS + GAN_EVERY)
    assert cli.main(["train", "gan", "--resume", str(folder), "--set", f"steps={GAN_STEPS + GAN_EVERY}", "--quiet"]) == 2
    line = cli_error(capsys)
    assert "step-000008.npz" in line and "step-000006.npz" in line and "step-000004.npz" in line
    assert json.loads((folder / "metrics.json").read_text())["status"] == "failed"


# ------------------------------------------------------------------------------ damaged run files


@pytest.mark.parametrize("command", [["sample", "{run}", "-n", "4", "--out", "{tmp}/grid.png"],
                                     ["evaluate", "{run}"],
                                     ["train", "gan", "--resume", "{run}", "--quiet"]])
def test_a_damaged_config_toml_is_one_line_naming_the_file_and_line(command, gan_run, tmp_path, capsys):
    folder = copy_of(gan_run, tmp_path)
    config_file = folder / "config.toml"
    lines = config_file.read_text().splitlines()
    assert lines[0].startswith("family = ") and "=" in lines[4]
    key = lines[4].split("=")[0]
    lines[4] = key + "= \x7f" + lines[4][len(key) + 2:]     # a garbled byte where line 5's value starts
    config_file.write_text("\n".join(lines) + "\n")
    before = config_file.read_bytes()
    argv = [part.format(run=folder, tmp=tmp_path) for part in command]
    assert cli.main(argv) == 2
    line = cli_error(capsys)
    assert f"{config_file} is damaged (" in line and "at line 5, column" in line
    assert line.endswith("; restore it from a copy or start a new run")
    assert config_file.read_bytes() == before


def test_a_config_toml_without_family_is_one_line(gan_run, tmp_path):
    folder = copy_of(gan_run, tmp_path)
    (folder / "config.toml").write_text("")    # emptied
    with raises_one_line(RunError, r"config\.toml is damaged \(it names no family\)"):
        api.open_run(folder)


def test_a_damaged_history_csv_is_tolerated_by_sample_and_named_by_resume(gan_run, tmp_path):
    folder = copy_of(gan_run, tmp_path)
    history = folder / "history.csv"
    history.write_bytes(history.read_bytes()[:-3] + b"\xff\xfe\n")
    before = history.read_bytes()
    # Sampling needs the generator, not the training log.
    assert api.sample(folder, 4, seed=1).shape == (4, 28, 28, 1)
    with raises_one_line(RunError, r"history\.csv is damaged \(not UTF-8 text\); restore it from a copy, or delete it"):
        resume("gan", folder, steps=GAN_STEPS + GAN_EVERY)
    assert history.read_bytes() == before


def test_a_damaged_metrics_json_is_one_line_and_left_as_it_was(gan_run, tmp_path, capsys):
    folder = copy_of(gan_run, tmp_path)
    metrics = folder / "metrics.json"
    metrics.write_text(metrics.read_text()[:25])
    before = metrics.read_bytes()
    with raises_one_line(RunError, r"metrics\.json is damaged \(.* at line \d+, column \d+\); restore it from a copy"):
        Run.open(folder).read_metrics()
    assert cli.main(["train", "gan", "--resume", str(folder), "--set", f"steps={GAN_STEPS + GAN_EVERY}", "--quiet"]) == 2
    assert "metrics.json is damaged" in cli_error(capsys)
    assert metrics.read_bytes() == before
