"""Every command's every output option against a run's files, its parent and an unrelated file
(issue 30: outputs never touch inputs). The companion of test_fuzz_commands.py, which fuzzes the
same commands' values and input files.

A project folder holds a tiny GAN run, a tiny DAE run, an input digit and a user's own files.
Each command is driven through the CLI with one output option pointed at one target, with and
without --force. A refused call must be exactly one "genlab: error:" line with status 2; and,
whatever the outcome, no file that existed may change and no file may appear outside the output
path (and the run's generated/ folder, where sample's default picture goes).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from genlab import cli, outputs

USER_TEXT = b"my own work, not genlab's\n"


@pytest.fixture(scope="module", autouse=True)
def quick_scoring():
    """evaluate's scoring against the real test set is stubbed (as in test_fuzz_commands.py): it
    writes no file and is what makes a real evaluate take seconds."""
    from types import SimpleNamespace

    from genlab import evaluation

    reference = SimpleNamespace(dataset=SimpleNamespace(image_shape=(28, 28, 1)), evaluator=SimpleNamespace(sha256="0" * 64))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "real_reference", lambda name, data_dir=None, **image_options: reference)
        patch.setattr(evaluation, "score", lambda images, real, seed=0: {key: float(np.mean(images)) for key in evaluation.TABLE_KEYS})
        patch.setattr(evaluation, "reference_rows", lambda real: {})
        yield


@pytest.fixture(scope="module")
def trained(shared_tiny_run):
    return {"gan": shared_tiny_run("gan").path, "dae": shared_tiny_run("dae", architecture="conv").path}


@pytest.fixture
def project(trained, tmp_path):
    """P/gan (a run), P/dae (a run), P/digit.png (an input), and the user's notes.* and thesis.txt."""
    from PIL import Image

    root = tmp_path / "project"
    root.mkdir()
    for name, source in trained.items():
        shutil.copytree(source, root / name)
        shutil.rmtree(root / name / "generated", ignore_errors=True)
    Image.fromarray((np.random.default_rng(0).random((28, 28)) * 255).astype(np.uint8)).save(root / "digit.png")
    for suffix in (".png", ".npz", ".json", ".html", ".txt"):
        (root / f"notes{suffix}").write_bytes(USER_TEXT)
    (root / "thesis.txt").write_bytes(USER_TEXT)
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# (argv template, the option's suffix, folder output?, accepts --force?). {run}: the GAN or the DAE
# run, {input}: the digit, {target}: the path under test.
COMMANDS = {
    "sample --out": (["sample", "{gan}", "-n", "2", "--out", "{target}"], ".png", False, True),
    "sample --npz": (["sample", "{gan}", "-n", "2", "--npz", "{target}"], ".npz", False, True),
    "interpolate --out": (["interpolate", "{gan}", "--steps", "2", "--out", "{target}"], ".png", False, True),
    "reconstruct --out": (["reconstruct", "{dae}", "{input}", "--out", "{target}"], ".png", False, True),
    "denoise --out": (["denoise", "{dae}", "{input}", "--out", "{target}"], ".png", False, True),
    "evaluate --json": (["evaluate", "{gan}", "-n", "10", "--no-reference", "--json", "{target}"], ".json", False, True),
    "report --out": (["report", "{gan}", "--out", "{target}"], ".html", False, True),
    "export --out": (["export", "{gan}", "--format", "savedmodel", "--out", "{target}"], None, True, True),
    "train --out": (["train", "gan", "--set", "dataset=mnist-5k", "--set", "steps=1", "--out", "{target}"], None, True, False),
    "train --runs-dir": (["train", "gan", "--set", "dataset=mnist-5k", "--set", "steps=1", "--runs-dir", "{target}"], None, True, False),
    "run chapter --out": (["run", "chapter", "--quick", "--dataset", "mnist-5k", "--out", "{target}"], None, True, False),
    "bench --json": (["bench", "evaluate", "--json", "{target}"], ".json", False, True),
}

# Targets that every output option must refuse, with and without --force.
REFUSED_TARGETS = {
    "a run file": "gan/config.toml",
    "a run's model": "gan/generator.keras",
    "a run's checkpoint index": "gan/checkpoints/latest.json",
    "a run's checkpoint": "gan/checkpoints/step-000006.npz",
    "a new file inside a run": "gan/figures/new{suffix}",
    "the run itself": "gan",
    "the run's checkpoints folder": "gan/checkpoints",
    "the run's parent": ".",
    "below an unrelated file": "thesis.txt/below{suffix}",
    "the input image": "digit.png",
}


def call(argv: list[str], capsys) -> tuple[int, str]:
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        return int(exit_.code), capsys.readouterr().err
    err = capsys.readouterr().err
    return status, err


def expand(template: list[str], project: Path, target: str) -> list[str]:
    values = {"gan": str(project / "gan"), "dae": str(project / "dae"), "input": str(project / "digit.png"), "target": target}
    return [part.format(**values) for part in template]


def new_files_outside(before: dict, after: dict, allowed: list[Path], project: Path) -> list[str]:
    stray = []
    for name in set(after) - set(before):
        path = (project / name).resolve()
        if not any(path == place or place in path.parents for place in allowed):
            stray.append(name)
    return stray


@pytest.mark.parametrize("command, force", [(name, force) for name in sorted(COMMANDS) for force in (False, True)
                                            if COMMANDS[name][3] or not force])
def test_every_output_option_refuses_runs_parents_and_inputs(command, force, project, capsys):
    template, suffix, _, _ = COMMANDS[command]
    for what, relative in REFUSED_TARGETS.items():
        if relative == "digit.png" and force and command not in ("reconstruct --out", "denoise --out"):
            continue   # the digit is only those two commands' input; to the others it is any user's file
        if relative == "." and command == "train --runs-dir":
            continue   # a folder of runs is what --runs-dir names
        target = str(project / relative.format(suffix=suffix or ""))
        before = snapshot(project)
        status, err = call(expand(template, project, target) + (["--force"] if force else []), capsys)
        assert status == 2, f"{command} onto {what} was not refused: {err!r}"
        errors = [line for line in err.splitlines() if line.startswith("genlab: error: ")]
        assert len(errors) == 1 and "Traceback" not in err, (command, what, err)
        after = snapshot(project)
        assert {name for name, content in before.items() if after.get(name) != content} == set(), (command, what)
        assert set(after) == set(before), f"{command} onto {what} wrote {sorted(set(after) - set(before))}"


@pytest.mark.parametrize("command", sorted(name for name, (_, suffix, folder, _) in COMMANDS.items() if not folder and name != "bench --json"))
def test_an_unrelated_file_is_replaced_only_with_force(command, project, capsys):
    template, suffix, _, _ = COMMANDS[command]
    target = project / f"notes{suffix}"
    allowed = [target.resolve(), (project / "gan" / "generated").resolve()]
    before = snapshot(project)
    status, err = call(expand(template, project, str(target)), capsys)
    assert status == 2 and "already exists and genlab did not write it" in err and "--force" in err, err
    assert snapshot(project) == before
    status, err = call(expand(template, project, str(target)) + ["--force"], capsys)
    assert status == 0, err
    after = snapshot(project)
    assert after[f"notes{suffix}"] != USER_TEXT
    changed = {name for name, content in before.items() if after.get(name) != content}
    assert changed <= {f"notes{suffix}", "gan/metrics.json"}, changed   # evaluate records its scores in the run, by design
    assert not new_files_outside(before, after, allowed, project)
    if suffix != ".json":
        # What genlab wrote carries its mark: the same command may now replace it without --force.
        assert outputs.written_by_genlab(target)
        status, err = call(expand(template, project, str(target)), capsys)
        assert status == 0, err


@pytest.mark.parametrize("command", sorted(name for name, (_, _, folder, _) in COMMANDS.items() if folder))
def test_folder_outputs_refuse_an_unrelated_file(command, project, capsys):
    template = COMMANDS[command][0]
    before = snapshot(project)
    status, err = call(expand(template, project, str(project / "thesis.txt")) + (["--force"] if command == "export --out" else []),
                       capsys)
    assert status == 2 and "is a file, not a folder" in err, err
    assert snapshot(project) == before


def test_export_force_replaces_only_its_own_earlier_export(project, capsys):
    out = project / "exported"
    assert call(expand(COMMANDS["export --out"][0], project, str(out)), capsys)[0] == 0
    assert (out / outputs.MARKER).is_file()
    status, err = call(expand(COMMANDS["export --out"][0], project, str(out)), capsys)
    assert status == 2 and "--force" in err
    assert call(expand(COMMANDS["export --out"][0], project, str(out)) + ["--force"], capsys)[0] == 0
    (out / "mine.txt").write_bytes(USER_TEXT)
    status, err = call(expand(COMMANDS["export --out"][0], project, str(out)) + ["--force"], capsys)
    assert status == 2 and "mine.txt" in err
    assert (out / "mine.txt").read_bytes() == USER_TEXT
    # A folder the user made, holding only files genlab could have written, is not genlab's either.
    own = project / "mine"
    own.mkdir()
    (own / "saved_model.pb").write_bytes(USER_TEXT)
    status, err = call(expand(COMMANDS["export --out"][0], project, str(own)) + ["--force"], capsys)
    assert status == 2 and "not made by genlab" in err
    assert (own / "saved_model.pb").read_bytes() == USER_TEXT


@pytest.mark.parametrize("path_kind", ["folder", "fifo"])
def test_a_file_output_onto_a_folder_or_fifo_says_what_it_is(path_kind, project, capsys):
    import os

    target = project / "thing.png"
    if path_kind == "folder":
        target.mkdir()
    else:
        os.mkfifo(target)
    status, err = call(["sample", str(project / "gan"), "-n", "2", "--out", str(target), "--force"], capsys)
    assert status == 2
    assert ("is a folder, not a file" if path_kind == "folder" else "is a FIFO (named pipe), not a file") in cli_error_text(err)


def cli_error_text(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("genlab: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def test_sample_into_a_run_folder_that_cannot_be_written_is_one_line(project, capsys, monkeypatch):
    """Tests run as root, so the read-only folder is simulated where genlab creates it."""
    original = Path.mkdir

    def refuse(self, *args, **kwargs):
        if self.name == "generated":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    status, err = call(["sample", str(project / "gan"), "-n", "2"], capsys)
    assert status == 2 and "Permission denied" in cli_error_text(err)


def test_the_api_refuses_too(project):
    """The Python functions go through the same rules as the CLI."""
    import genlab
    from genlab.errors import RunError

    images = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(RunError, match="inside the run folder"):
        genlab.save_images(images, project / "gan" / "figures" / "mine.png")
    with pytest.raises(RunError, match="holds this command's input"):
        genlab.export(project / "dae", "savedmodel", project, force=True)
    shutil.copytree(project / "gan", project / "holder" / "kept-run")
    with pytest.raises(RunError, match="holds the run"):
        genlab.export(project / "dae", "savedmodel", project / "holder", force=True)
    with pytest.raises(RunError, match="already exists and genlab did not write it"):
        genlab.report([project / "gan"], project / "notes.html")
    assert (project / "notes.html").read_bytes() == USER_TEXT


def test_marks_are_recognised_and_foreign_files_are_not(tmp_path):
    from genlab import api, plotting

    picture = plotting.save_png(np.zeros((4, 4), np.uint8), tmp_path / "a.png")
    grid = api.save_images(np.zeros((2, 28, 28, 1)), tmp_path / "g.png", npz=tmp_path / "g.npz")
    assert all(outputs.written_by_genlab(path) for path in [picture, *grid])
    assert np.load(tmp_path / "g.npz")["images"].shape == (2, 28, 28, 1)   # the archive comment leaves the data alone
    from PIL import Image

    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "foreign.png")
    np.savez(tmp_path / "foreign.npz", images=np.zeros(3))
    (tmp_path / "foreign.html").write_text("<html><head><title>mine</title></head></html>")
    assert not any(outputs.written_by_genlab(tmp_path / name) for name in ("foreign.png", "foreign.npz", "foreign.html"))
