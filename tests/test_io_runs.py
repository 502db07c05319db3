"""Tests for genlab.io (atomic, crash-safe writes) and genlab.runs (run folders, history, metrics)."""
from __future__ import annotations

import datetime as dt
import errno
import json
import math
import os

import numpy as np
import pytest
from conftest import raises_one_line

from genlab import io, runs
from genlab.errors import RunError
from genlab.console import summary_table
from genlab.runs import Run


def leftovers(folder, name):
    """Temporary files atomic_path may have left beside `name`."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith(f".{name}."))


# ------------------------------------------------------------------------------------ atomic writes


def test_write_text_creates_folders_and_replaces(tmp_path):
    target = tmp_path / "a" / "b" / "notes.txt"
    io.write_text(target, "first")
    io.write_text(target, "second é")
    assert target.read_text(encoding="utf-8") == "second é"
    assert leftovers(target.parent, "notes.txt") == []


def test_target_unchanged_when_the_writer_raises_midway(tmp_path):
    target = tmp_path / "model.keras"
    io.write_bytes(target, b"old model")
    with pytest.raises(RuntimeError, match="writer crashed"):
        with io.atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp != target
            assert tmp.name.endswith(".keras")  # Keras insists on the extension
            tmp.write_bytes(b"half a new mod")
            raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old model"
    assert leftovers(tmp_path, "model.keras") == []


def test_keyboard_interrupt_midway_leaves_the_old_file(tmp_path):
    target = tmp_path / "history.csv"
    io.write_text(target, "epoch\n1\n")
    with pytest.raises(KeyboardInterrupt):
        with io.atomic_path(target) as tmp:
            tmp.write_text("epo")
            raise KeyboardInterrupt
    assert target.read_text() == "epoch\n1\n"
    assert leftovers(tmp_path, "history.csv") == []


def test_disk_full_during_the_write(tmp_path):
    target = tmp_path / "metrics.json"
    io.write_json(target, {"status": "complete", "test_mse": 0.01})
    before = target.read_bytes()
    with raises_one_line(RunError, r"disk full while writing .*metrics\.json; free some space \(the previous metrics\.json is intact\)"):
        with io.atomic_path(target) as tmp:
            tmp.write_text('{"status": "runn')
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_bytes() == before
    assert leftovers(tmp_path, "metrics.json") == []


def test_disk_full_at_rename(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    io.write_json(target, {"status": "complete"})
    before = target.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with raises_one_line(RunError, r"disk full while writing"):
        io.write_json(target, {"status": "failed", "big": list(range(100))})
    monkeypatch.undo()
    assert target.read_bytes() == before
    assert json.loads(before)["status"] == "complete"
    assert leftovers(tmp_path, "metrics.json") == []


def test_other_os_errors_name_permissions(tmp_path, monkeypatch):
    target = tmp_path / "x.txt"

    def denied(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", denied)
    with raises_one_line(RunError, r"cannot write .*x\.txt: Permission denied; check the folder's permissions"):
        io.write_text(target, "x")
    monkeypatch.undo()
    assert not target.exists()
    assert leftovers(tmp_path, "x.txt") == []


def test_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a folder")
    with raises_one_line(RunError, r"cannot write to .*file.*; choose a writable --out folder"):
        io.write_text(blocker / "inside.txt", "x")


def test_write_json_handles_numpy_and_is_sorted(tmp_path):
    target = io.write_json(tmp_path / "m.json", {"b": np.float32(0.5), "a": np.arange(3), "c": np.int64(7)})
    text = target.read_text()
    assert json.loads(text) == {"a": [0, 1, 2], "b": 0.5, "c": 7}
    assert text.index('"a"') < text.index('"b"') < text.index('"c"')
    with pytest.raises(TypeError, match="not JSON serialisable: object"):
        io.write_json(tmp_path / "bad.json", {"x": object()})
    assert not (tmp_path / "bad.json").exists()
    assert leftovers(tmp_path, "bad.json") == []


# ------------------------------------------------------------------------------------ run folders


def test_create_in_the_same_second_gives_unique_folders(tmp_path, monkeypatch):
    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 11, 22, 10, 15, 0)

    monkeypatch.setattr(runs._dt, "datetime", FrozenClock)
    made = [Run.create("gan", root=tmp_path) for _ in range(3)]
    names = [run.path.name for run in made]
    assert names == ["gan-20261122-101500", "gan-20261122-101500-2", "gan-20261122-101500-3"]
    assert all(run.figures.is_dir() for run in made)


def test_create_refuses_a_non_empty_out(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with raises_one_line(RunError, r"--out .*mine already exists and is not empty; choose another path"):
        Run.create("ae", out=out)
    assert (out / "precious.txt").read_text() == "keep me"


def test_create_accepts_an_empty_or_new_out(tmp_path):
    (tmp_path / "empty").mkdir()
    assert Run.create("ae", out=tmp_path / "empty").figures.is_dir()
    assert Run.create("ae", out=tmp_path / "new" / "deeper").figures.is_dir()


def test_create_under_a_file_is_a_run_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with raises_one_line(RunError, r"is below .*file, which is a file, not a folder"):
        Run.create("ae", out=tmp_path / "file" / "run")


def test_file_stays_inside_the_run(tmp_path):
    run = Run.create("ae", out=tmp_path / "run")
    assert run.file("model.keras") == (tmp_path / "run" / "model.keras").resolve()
    assert run.file("figures/a.png").parent == run.figures.resolve()
    for escape in ("../x", "../../etc/passwd", "figures/../../x", "/etc/passwd"):
        with raises_one_line(RunError, r"would leave the run folder .*; use a plain file name"):
            run.file(escape)


def test_open_a_non_run_folder(tmp_path):
    (tmp_path / "plain").mkdir()
    for folder in (tmp_path / "plain", tmp_path / "missing"):
        with raises_one_line(RunError, r"is not a genlab run folder \(no config.toml\); pass the folder a 'genlab train' run wrote"):
            Run.open(folder)


# ------------------------------------------------------------------------------------ history


def test_history_append_read_truncate_round_trip(tmp_path):
    run = Run.create("gan", out=tmp_path / "run")
    assert run.read_history() == []
    run.log({"step": 10, "d_loss": 0.693147180, "g_loss": 0.7})
    run.log({"step": 20, "d_loss": 0.5, "g_loss": 1.25, "d_acc_fake": 1.0})  # a new column appears
    rows = run.read_history()
    assert [row["step"] for row in rows] == [10, 20]
    assert all(type(row["step"]) is int for row in rows)
    assert rows[0]["d_loss"] == pytest.approx(0.693147180, rel=1e-5)
    assert type(rows[1]["g_loss"]) is float
    assert rows[0]["d_acc_fake"] == ""  # missing in the first row
    assert rows[1]["d_acc_fake"] == 1
    header = (run.path / "history.csv").read_text().splitlines()[0]
    assert header == "step,d_loss,g_loss,d_acc_fake"

    run.log({"step": 30, "d_loss": float("nan"), "g_loss": float("inf"), "d_acc_fake": 0.5})
    last = run.read_history()[-1]
    assert math.isnan(last["d_loss"]) and last["g_loss"] == float("inf")

    run.truncate_history(lambda row: row["step"] <= 20)
    assert [row["step"] for row in run.read_history()] == [10, 20]
    assert leftovers(run.path, "history.csv") == []


def test_open_continues_the_history(tmp_path):
    run = Run.create("classifier", out=tmp_path / "run")
    io.write_text(run.path / "config.toml", 'family = "classifier"\npreset = "chapter"\n[config]\nepochs = 2\n')
    run.log({"epoch": 1, "loss": 0.9})
    again = Run.open(run.path)
    assert again.family_name == "classifier"
    assert again.read_header()["preset"] == "chapter"
    again.log({"epoch": 2, "loss": 0.4, "val_loss": 0.5})
    rows = Run.open(run.path).read_history()
    assert [(row["epoch"], row["loss"]) for row in rows] == [(1, 0.9), (2, 0.4)]
    assert rows[1]["val_loss"] == 0.5
    again.truncate_history(lambda row: row["epoch"] < 2)
    assert [row["epoch"] for row in Run.open(run.path).read_history()] == [1]


def test_history_text_values_stay_text(tmp_path):
    run = Run.create("ae", out=tmp_path / "run")
    run.log({"epoch": 1, "note": "warm-up", "code": "007"})
    row = run.read_history()[0]
    assert row["note"] == "warm-up"
    assert row["code"] == 7  # digits parse as numbers


# ------------------------------------------------------------------------------------ metrics


def test_update_metrics_merges(tmp_path):
    run = Run.create("ae", out=tmp_path / "run")
    assert run.read_metrics() == {}
    run.update_metrics({"status": "running", "family": "ae"})
    merged = run.update_metrics({"status": "complete", "test_mse": np.float64(0.02)})
    assert merged == {"status": "complete", "family": "ae", "test_mse": 0.02}
    assert run.read_metrics() == merged


# ------------------------------------------------------------------------------------ summary table


def _check_aligned(table: str):
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1, table
    assert all(line[0] in "+|" and line[-1] in "+|" for line in lines), table
    return lines


def test_summary_table_is_aligned():
    table = summary_table([("test_accuracy", 0.98765), ("parameters", 55050), ("run", "runs/x"), ("big", 12345.678)])
    lines = _check_aligned(table)
    body = [line for line in lines if line.startswith("|")]
    assert len(body) == 4
    # Keys left-aligned, values right-aligned, floats rounded.
    assert body[0].startswith("| test_accuracy |") and body[0].endswith(" 0.9877 |")
    assert body[1].startswith("| parameters    |") and body[1].endswith(" 55050 |")
    assert body[3].endswith(" 12345.7 |")
    value_starts = {line.rindex("|", 0, len(line) - 1) for line in body}
    assert len(value_starts) == 1


@pytest.mark.parametrize("title", ["t", "genlab classifier (chapter)", "evaluate runs/dae-20261122-101500-a-long-folder-name"])
def test_summary_table_with_title_is_aligned(title):
    table = summary_table([("test_mse", 0.0123), ("test_psnr_db", 19.1)], title=title)
    lines = _check_aligned(table)
    assert lines[1].startswith(f"| {title}")
    assert "0.0123" in table and "19.1000" in table


def test_summary_table_empty():
    _check_aligned(summary_table([]))
